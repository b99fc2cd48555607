"""The store as a team replica: server rows written into the tables the UI already reads, the
team state (server, agent, cursor, client id, next intent number) and the queue of intents.

The team sync core (:mod:`inbox.team`) gives and takes plain dicts shaped as the server's JSON
(``GET /v1/changes``, ``POST /v1/intents``); only this module speaks SQL about them. Server ids
are kept as they are (the replica is its own store file, so they cannot meet solo ids); a reply or
note not yet confirmed is a provisional message row with a negative id (``-seq``), replaced by
the server's row when its intent is applied.

Rebase: a page of changes overwrites a conversation with the server's state; the agent's intents
still pending are then applied again on top, so the agent keeps seeing what they did until the
server has answered (Replicache's model).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.sla.policy import POLICY_SETTING
from inbox.store.database import Database, from_db_time, to_db_time
from inbox.store.replica_rows import (
    _add_events,
    _delete_conversation,
    _derive_events,
    _drop_provisional,
    _ensure_account,
    _keep_as_draft,
    _keep_unsent,
    _overlay,
    _provisional_message,
    _purge,
    _rebase,
    _replace_events,
    _restore_kept_drafts,
    _upsert_conversation,
    _upsert_customer,
    _upsert_messages,
)
from inbox.store.repository import Store

PENDING = "pending"
APPLIED = "applied"
REJECTED = "rejected"
#: Intents whose effect on a conversation is applied to the replica at once.
CONVERSATION_KINDS = frozenset({"reply", "note", "status", "assign", "tag_add", "tag_remove", "priority"})


@dataclass(frozen=True, slots=True)
class TeamState:
    """Which team this store is a replica of. No secret: the session token is in the keyring."""

    server_url: str
    agent: str
    display_name: str
    role: str
    accounts: tuple[str, ...]
    client_id: str
    cursor: str
    next_seq: int
    signed_in: bool
    session_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class QueuedIntent:
    """One of the agent's changes, as queued and as the server answered it."""

    seq: int
    kind: str
    conversation_id: int | None
    body: dict[str, Any]
    state: str
    status: int | None
    reason: str
    answer: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PageApplied:
    """What a page of changes did to the replica."""

    touched: frozenset[int]  # conversations written or removed
    new: frozenset[int]  # conversations the replica did not have
    removed: frozenset[int]  # conversations the agent may no longer see
    cursor: str


class Replica:
    """The team side of a :class:`Store` (same file, same lock, one transaction per change)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- team state ---------------------------------------------------------------------------

    def keep_sla_policies(self, text: str) -> bool:
        """The server's SLA policies, kept where the desktop reads its own (a conversation's targets
        are shown with the rules the server's deadlines come from); True when they changed."""
        if self.store.setting(POLICY_SETTING) == text:
            return False
        self.store.set_setting(POLICY_SETTING, text)
        return True

    def state(self) -> TeamState | None:
        rows = self.store._rows("SELECT * FROM team_state WHERE id = 1")
        if not rows:
            return None
        r = rows[0]
        return TeamState(
            server_url=r["server_url"],
            agent=r["agent"],
            display_name=r["display_name"],
            role=r["role"],
            accounts=tuple(json.loads(r["accounts"])),
            client_id=r["client_id"],
            cursor=r["cursor"],
            next_seq=int(r["next_seq"]),
            signed_in=bool(r["signed_in"]),
            session_expires_at=from_db_time(r["session_expires_at"]) if r["session_expires_at"] else None,
        )

    def join(
        self,
        *,
        server_url: str,
        agent: str,
        display_name: str,
        role: str,
        accounts: Sequence[str],
        client_id: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Record a sign-in. The same agent on the same server keeps its cursor, client id and
        queued intents; anyone else starts from an empty replica. Returns True when kept."""
        current = self.state()
        kept = current is not None and current.server_url == server_url and current.agent == agent

        def write(db: Database) -> None:
            if not kept:
                _purge(db, now)
                db.execute("DELETE FROM team_state")
                db.execute(
                    """INSERT INTO team_state (id, server_url, agent, client_id, cursor, next_seq, joined_at)
                       VALUES (1, ?, ?, ?, '0', 1, ?)""",
                    [server_url, agent, client_id, to_db_time(now)],
                )
            db.execute(
                """UPDATE team_state SET display_name = ?, role = ?, accounts = ?, signed_in = 1,
                          session_expires_at = ? WHERE id = 1""",
                [display_name, role, json.dumps(sorted(accounts)), to_db_time(expires_at) if expires_at else None],
            )
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('agent', ?)", [agent])
            for account_id in accounts:
                _ensure_account(db, account_id, now)

        self.store._write(write)
        return kept

    def set_signed_in(self, signed_in: bool) -> None:
        self.store._write(lambda db: db.execute("UPDATE team_state SET signed_in = ? WHERE id = 1", [int(signed_in)]))

    def leave(self, now: datetime) -> int:
        """Forget the team: every replica row goes; the agent's unsent text is kept (drafts, and
        replies and notes the server never confirmed). Returns the drafts kept."""

        def write(db: Database) -> int:
            _keep_unsent(db, now)
            _purge(db, now)
            db.execute("DELETE FROM team_intents")
            db.execute("DELETE FROM team_state")
            row = db.execute("SELECT count(*) FROM team_kept_drafts").fetchone()
            return int(row[0]) if row else 0

        return self.store._write(write)

    def remember_agents(self, agents: Sequence[tuple[str, str]]) -> None:
        """The team's agents (name, display name) for the assignee picker."""

        def write(db: Database) -> None:
            for name, display in agents:
                db.execute(
                    """INSERT INTO agents (name, display_name, active) VALUES (?, ?, 1)
                       ON CONFLICT(name) DO UPDATE SET display_name = excluded.display_name, active = 1""",
                    [name, display],
                )

        self.store._write(write)

    def kept_drafts(self) -> dict[int, str]:
        rows = self.store._rows("SELECT conversation_id, text FROM team_kept_drafts ORDER BY conversation_id")
        return {int(r["conversation_id"]): r["text"] for r in rows}

    # -- pulled changes -----------------------------------------------------------------------

    def apply_page(self, page: Mapping[str, Any], now: datetime) -> PageApplied:
        """Write one ``GET /v1/changes`` answer and its cursor in one transaction."""

        def write(db: Database) -> PageApplied:
            present = {int(r[0]) for r in db.execute("SELECT id FROM conversations")}
            conversations = {int(c["id"]): c for c in page.get("conversations", [])}
            for customer in page.get("customers", []):
                _upsert_customer(db, customer)
            for conv in conversations.values():
                _ensure_account(db, conv["account_id"], now, conv["channel"])
                _upsert_conversation(db, conv)
            messages = list(page.get("messages", []))
            new_messages = _upsert_messages(db, messages, present | set(conversations))
            changed = [c for c in page.get("changes", []) if c.get("conversation_id") is not None]
            removed = {int(c["conversation_id"]) for c in changed} - set(conversations)
            removed &= present
            for conversation_id in sorted(removed):
                _delete_conversation(db, conversation_id, now)
            if "events" in page:
                _replace_events(db, conversations, page["events"])
            elif "events_added" in page:  # the server sends only the events since the cursor
                _add_events(db, conversations, page["events_added"])
            else:
                _derive_events(db, page.get("changes", []), conversations, new_messages)
            _rebase(db, set(conversations))
            _restore_kept_drafts(db, set(conversations) - present, now)
            cursor = str(page.get("cursor") or "0")
            db.execute("UPDATE team_state SET cursor = ? WHERE id = 1", [cursor])
            return PageApplied(
                touched=frozenset(set(conversations) | removed),
                new=frozenset(set(conversations) - present),
                removed=frozenset(removed),
                cursor=cursor,
            )

        return self.store._write(write)

    def apply_conversation(self, detail: Mapping[str, Any], now: datetime) -> None:
        """Overwrite one conversation with ``GET /v1/conversations/{id}`` (after a rejection)."""
        conv = detail["conversation"]

        def write(db: Database) -> None:
            if detail.get("customer"):
                _upsert_customer(db, detail["customer"])
            _ensure_account(db, conv["account_id"], now, conv["channel"])
            _upsert_conversation(db, conv)
            _upsert_messages(db, [*detail.get("messages", []), *detail.get("notes", [])], {int(conv["id"])})
            if "events" in detail:
                _replace_events(db, [int(conv["id"])], detail["events"])
            _rebase(db, {int(conv["id"])})

        self.store._write(write)

    def forget_conversation(self, conversation_id: int, now: datetime) -> None:
        """The server says it does not exist or is not ours any more."""
        self.store._write(lambda db: _delete_conversation(db, conversation_id, now))

    # -- intents ------------------------------------------------------------------------------

    def enqueue(self, intent: Mapping[str, Any], now: datetime) -> int:
        """Number the intent, apply its effect to the replica and queue it, in one transaction."""

        def write(db: Database) -> int:
            row = db.execute("SELECT next_seq, client_id FROM team_state WHERE id = 1").fetchone()
            if row is None:
                from inbox.errors import InputError

                raise InputError("team", "this store has no team: sign in first")
            seq, client_id = int(row[0]), str(row[1])
            kind = str(intent["type"])
            conversation_id = intent.get("conversation_id")
            stamp = to_db_time(now)
            db.execute(
                """INSERT INTO team_intents (seq, kind, conversation_id, body, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [seq, kind, conversation_id, json.dumps(dict(intent)), stamp, stamp],
            )
            db.execute("UPDATE team_state SET next_seq = ? WHERE id = 1", [seq + 1])
            if kind in ("reply", "note"):
                _provisional_message(db, seq, client_id, intent, stamp)
            _overlay(db, seq, intent)
            return seq

        return self.store._write(write)

    def pending(self) -> list[QueuedIntent]:
        return self._intents("state = 'pending'")

    def pending_count(self) -> int:
        rows = self.store._rows("SELECT count(*) AS n FROM team_intents WHERE state = 'pending'")
        return int(rows[0]["n"])

    def rejections(self) -> list[QueuedIntent]:
        """Refused intents the agent has not dismissed yet, oldest first."""
        return self._intents("state = 'rejected' AND acknowledged = 0")

    def intent(self, seq: int) -> QueuedIntent | None:
        found = self._intents("seq = ?", [seq])
        return found[0] if found else None

    def _intents(self, where: str, params: Sequence[Any] = ()) -> list[QueuedIntent]:
        rows = self.store._rows(f"SELECT * FROM team_intents WHERE {where} ORDER BY seq", params)
        return [
            QueuedIntent(
                seq=int(r["seq"]),
                kind=r["kind"],
                conversation_id=r["conversation_id"],
                body=json.loads(r["body"]),
                state=r["state"],
                status=r["status"],
                reason=r["reason"],
                answer=json.loads(r["answer"]),
                created_at=from_db_time(r["created_at"]),
            )
            for r in rows
        ]

    def acknowledge(self, seq: int) -> None:
        self.store._write(lambda db: db.execute("UPDATE team_intents SET acknowledged = 1 WHERE seq = ?", [seq]))

    def settle(self, seq: int, status: int, answer: Mapping[str, Any], now: datetime) -> None:
        """Record the server's answer: applied (its rows written) or rejected (the reason kept,
        the provisional message removed, a refused reply's text back in the drafts)."""

        def write(db: Database) -> None:
            row = db.execute("SELECT kind, conversation_id, body FROM team_intents WHERE seq = ?", [seq]).fetchone()
            if row is None:
                return
            kind, conversation_id, body = str(row[0]), row[1], json.loads(row[2])
            _drop_provisional(db, seq)
            stamp = to_db_time(now)
            if status < 400:
                conv = answer.get("conversation")
                if conv:
                    _ensure_account(db, conv["account_id"], now, conv["channel"])
                    _upsert_conversation(db, conv)
                message = answer.get("message")
                if message:
                    present = {int(message["conversation_id"])}
                    _upsert_messages(db, [message], present)  # its history comes with the next pull
                db.execute(
                    """UPDATE team_intents SET state = 'applied', status = ?, answer = ?, updated_at = ?
                       WHERE seq = ?""",
                    [status, json.dumps(dict(answer)), stamp, seq],
                )
                if conversation_id is not None:
                    _rebase(db, {int(conversation_id)})
                return
            reason = str(answer.get("detail") or answer.get("title") or f"refused ({status})")
            db.execute(
                """UPDATE team_intents SET state = 'rejected', status = ?, reason = ?, answer = ?, updated_at = ?
                   WHERE seq = ?""",
                [status, reason, json.dumps(dict(answer)), stamp, seq],
            )
            if kind == "reply" and conversation_id is not None:
                _keep_as_draft(db, int(conversation_id), str(body.get("text", "")), stamp)

        self.store._write(write)

    def last_message_id(self, conversation_id: int) -> int:
        """The newest server message or note of a conversation the agent has (0: none)."""
        rows = self.store._rows(
            "SELECT max(id) AS id FROM messages WHERE conversation_id = ? AND id > 0", [conversation_id]
        )
        return int(rows[0]["id"] or 0)

    def conversation_ids(self) -> list[int]:
        return [int(r["id"]) for r in self.store._rows("SELECT id FROM conversations ORDER BY id")]
