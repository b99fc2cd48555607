"""Joining and leaving a team: sign in, keep the session token in the keyring (never in the
store or a log), record the team in the replica; sign out and remove what the agent may no
longer see, keeping their unsent text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from inbox.secrets import SecretStore
from inbox.store.replica import Replica, TeamState
from inbox.team.client import ServerUnreachable, SessionEnded, TeamClient, TeamError, normalise_url

TOKEN_NAME = "session_token"
Clock = Callable[[], datetime]


def secret_id(server_url: str, agent: str) -> str:
    """The keyring entry of a session: ``team:<url>:<agent>`` / ``session_token``."""
    return f"team:{normalise_url(server_url)}:{agent}"


@dataclass(frozen=True, slots=True)
class Joined:
    server_url: str
    agent: str
    display_name: str
    role: str
    accounts: tuple[str, ...]
    kept: bool  # same agent and server as before: cursor and queued intents kept


class TeamAccount:
    """The team this replica belongs to, and its session."""

    def __init__(self, replica: Replica, secrets: SecretStore, http: httpx.AsyncClient, clock: Clock | None = None) -> None:
        self.replica = replica
        self.secrets = secrets
        self.http = http
        self.clock = clock or (lambda: datetime.now(UTC))

    def state(self) -> TeamState | None:
        return self.replica.state()

    def token(self) -> str | None:
        state = self.replica.state()
        if state is None:
            return None
        return self.secrets.get(secret_id(state.server_url, state.agent), TOKEN_NAME)

    def client(self) -> TeamClient:
        """A client for the joined server with the stored token (none: signed out)."""
        state = self.replica.state()
        if state is None:
            raise TeamError("this store has not joined a team: inbox team join URL --agent NAME")
        return TeamClient(state.server_url, self.http, self.token())

    async def join(self, url: str, agent: str, password: str) -> Joined:
        """Sign in; the token goes to the keyring, the team to the replica. A different agent or
        server starts an empty replica (the unsent text of the previous one is kept)."""
        client = TeamClient(url, self.http)
        session = await client.sign_in(agent.strip(), password)
        previous = self.replica.state()
        if previous is not None and (previous.server_url, previous.agent) != (client.base_url, session.agent):
            self.secrets.delete(secret_id(previous.server_url, previous.agent), TOKEN_NAME)
        self.secrets.set(secret_id(client.base_url, session.agent), TOKEN_NAME, session.token)
        kept = self.replica.join(
            server_url=client.base_url,
            agent=session.agent,
            display_name=session.display_name,
            role=session.role,
            accounts=session.accounts,
            client_id=f"desktop-{uuid.uuid4().hex}",
            expires_at=session.expires_at,
            now=self.clock(),
        )
        return Joined(client.base_url, session.agent, session.display_name, session.role, session.accounts, kept)

    async def leave(self) -> tuple[int, str]:
        """Sign out on the server when it answers, forget the token, remove the replica's rows.
        Returns the drafts kept and a remark (e.g. the server was unreachable: the session ends
        at its expiry)."""
        state = self.replica.state()
        if state is None:
            return len(self.replica.kept_drafts()), "not in a team"
        remark = ""
        token = self.token()
        if token is not None:
            client = TeamClient(state.server_url, self.http, token)
            try:
                await client.sign_out()
            except SessionEnded:
                pass
            except (ServerUnreachable, TeamError) as exc:
                remark = f"{exc}; the session ends by itself at its expiry"
        self.secrets.delete(secret_id(state.server_url, state.agent), TOKEN_NAME)
        kept = self.replica.leave(self.clock())
        return kept, remark
