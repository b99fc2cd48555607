"""Real PostgreSQL 15 and real ``inbox serve`` processes for the team-server tests.

- ``pg_cluster`` (session): one throwaway cluster per test session (initdb as the ``postgres``
  user when running as root, a random free port on 127.0.0.1, ``fsync=off``) with a migrated
  template database; skips with the reason when PostgreSQL 15 is not installed, fails under CI.
- ``pg_dsn`` (test): a fresh database cloned from the template.
- ``start_server(dsn)`` / the ``server`` and ``servers`` fixtures: ``python -m inbox serve`` on a
  free port of 127.0.0.1, ready when ``/v1/health`` answers; stopped (or killed) afterwards.
- Helpers to reuse: :func:`sql`, :func:`add_account`, :func:`add_agent`, :func:`add_conversation`,
  :func:`customer_message` (an inbound message the way a poller writes one), :class:`Api`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from inbox.server.cluster import PG_BIN, PrivateCluster, free_port

__all__ = ["PG_BIN", "free_port"]  # used by the team tests and the benches

TEMPLATE = "inbox_template"
_databases = count(1)


def require_postgres() -> None:
    """Skip (or fail when CI is set) without PostgreSQL 15."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        message = f"PostgreSQL 15 is not installed ({PG_BIN} absent): apt-get install postgresql-15"
        if os.environ.get("CI"):
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)


class Cluster(PrivateCluster):
    """The test session's cluster, with a database per test made from a migrated template."""

    def psql(self, query: Any, dbname: str = "postgres") -> str:
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            cur = conn.execute(query.encode() if isinstance(query, str) else query)
            return "" if cur.description is None else repr(cur.fetchall())

    def new_database(self, template: str = TEMPLATE) -> str:
        from psycopg import sql as pgsql

        name = f"t{os.getpid()}_{next(_databases)}"
        self.psql(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(pgsql.Identifier(name), pgsql.Identifier(template))
        )
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        from psycopg import sql as pgsql

        name = dsn.rsplit("dbname=", 1)[1]
        self.psql(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


def start_cluster() -> Cluster:
    # fsync off: tests only (a crash test that kills PostgreSQL itself would need it on)
    return Cluster.temporary("inbox-pg-", "-c fsync=off -c max_connections=200", no_sync=True)


def stop_cluster(cluster: Cluster) -> None:
    cluster.remove()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    require_postgres()
    from inbox.server.db import migrate

    cluster = start_cluster()
    try:
        cluster.psql("CREATE DATABASE " + TEMPLATE)  # a constant of this file
        asyncio.run(migrate(cluster.dsn(TEMPLATE)))
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, migrated database for this test."""
    dsn = pg_cluster.new_database()
    yield dsn
    pg_cluster.drop_database(dsn)


# Server processes ------------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """One ``inbox serve`` process; ``log`` holds everything it wrote."""

    dsn: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_server(
    dsn: str, log_dir: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> ServerProcess:
    """Start ``inbox serve`` on a free loopback port and wait until it answers (or fail with its log)."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    # The API only unless asked (env={"INBOX_CHANNELS": "1", ...}): the pollers and the server jobs
    # would change the conversations these tests look at.
    defaults = {"INBOX_LOG_LEVEL": "info", "INBOX_PRESENCE_TTL": "60", "INBOX_CHANNELS": "0"}
    environment = {**os.environ, **defaults, **(env or {})}
    environment.pop("INBOX_DSN", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "inbox", "serve", "--dsn", dsn, "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    server = ServerProcess(dsn, port, process, log)
    deadline = time.monotonic() + 90  # a readiness wait, not an assertion on speed
    while True:
        if process.poll() is not None:
            pytest.fail(f"inbox serve exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(server.url + "/v1/health", timeout=2).json().get("listening"):
                return server
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"inbox serve did not answer on {server.url}:\n{server.output()}")
        time.sleep(0.1)


@pytest.fixture
def servers(pg_dsn: str, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A factory of server processes on this test's database (all stopped at the end)."""
    started: list[ServerProcess] = []

    def factory(**kw: Any) -> ServerProcess:
        server = start_server(pg_dsn, tmp_path, **kw)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(servers: Callable[..., ServerProcess]) -> ServerProcess:
    return servers()


# Data helpers -------------------------------------------------------------------------------------------


def sql(dsn: str, query: str, params: Any = None) -> list[dict[str, Any]]:
    """Run one statement (autocommit) and return its rows as dicts."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query.encode(), params)
        return list(cur.fetchall()) if cur.description is not None else []


def add_account(dsn: str, account_id: str, name: str = "") -> str:
    channel = account_id.split(":", 1)[0]
    own = [account_id.split(":", 1)[1]]
    sql(dsn, "INSERT INTO accounts (id, channel, name, own_keys) VALUES (%s, %s, %s, %s::jsonb)",
        [account_id, channel, name or account_id, json.dumps(own)])  # fmt: skip
    return account_id


def add_agent(dsn: str, name: str, *, role: str = "agent", accounts: tuple[str, ...] = (),
              password: str | None = None) -> str:  # fmt: skip
    """Create an agent through the server's own code; returns the password."""
    import psycopg
    from psycopg.rows import dict_row

    from inbox.server import people

    password = password or f"password-of-{name}"

    async def work() -> None:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
            await people.add_agent(conn, name, people.Role(role), password=password, accounts=accounts)

    asyncio.run(work())
    return password


@dataclass
class Thread:
    conversation_id: int
    message_id: int
    customer_id: int
    identity_id: int


def add_conversation(dsn: str, account_id: str, *, subject: str = "Commande 1042", text: str = "Bonjour",
                     author: str = "lea.martin@example.fr", name: str = "Léa Martin") -> Thread:  # fmt: skip
    """A conversation with one customer message, its customer and identity, and its change row."""
    import psycopg
    from psycopg.rows import dict_row

    channel = account_id.split(":", 1)[0]
    surface = {"email": "email", "twitter": "mention", "facebook": "messenger", "webform": "form"}[channel]
    kind = {"email": "email", "twitter": "twitter", "facebook": "facebook", "webform": "email"}[channel]
    with psycopg.connect(dsn, row_factory=dict_row) as conn, conn.transaction():
        customer = conn.execute("INSERT INTO customers (display_name) VALUES (%s) RETURNING id", [name]).fetchone()
        assert customer is not None
        identity = conn.execute(
            """INSERT INTO identities (kind, key, handle, display_name, customer_id) VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (kind, key) DO UPDATE SET handle = EXCLUDED.handle RETURNING id""",
            [kind, author, author, name, customer["id"]],
        ).fetchone()
        assert identity is not None
        conv = conn.execute(
            """INSERT INTO conversations (channel, account_id, surface, subject, status, customer_id)
               VALUES (%s, %s, %s, %s, 'new', %s) RETURNING id""",
            [channel, account_id, surface, subject, customer["id"]],
        ).fetchone()
        assert conv is not None
        thread = Thread(int(conv["id"]), 0, int(customer["id"]), int(identity["id"]))
        thread.message_id = _insert_customer_message(conn, account_id, thread, text, author, name, subject)
    return thread


def customer_message(dsn: str, account_id: str, thread: Thread, text: str, *, author: str = "lea.martin@example.fr",
                     name: str = "Léa Martin") -> int:  # fmt: skip
    """A new customer message in a conversation, written the way a poller writes one (conversation
    row locked first, change_log row and NOTIFY in the same transaction); returns its id."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", [thread.conversation_id])
        return _insert_customer_message(conn, account_id, thread, text, author, name, None)


def _insert_customer_message(conn: Any, account_id: str, thread: Thread, text: str, author: str, name: str,
                             subject: str | None) -> int:  # fmt: skip
    import uuid

    channel = account_id.split(":", 1)[0]
    row = conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction, identity_id,
                                 author_key, author_name, author_handle, subject, text, sent_at)
           SELECT %s, %s, c.id, c.channel, c.surface, 'in', %s, %s, %s, %s, %s, %s, now()
           FROM conversations c WHERE c.id = %s RETURNING id""",
        [account_id, f"<{uuid.uuid4()}@{channel}.example>", thread.identity_id, author, name, author, subject, text,
         thread.conversation_id],
    ).fetchone()  # fmt: skip
    conn.execute(
        """UPDATE conversations SET last_message_id = %s, last_message_at = now(), last_inbound_at = now(),
               message_count = message_count + 1, preview = left(%s, 200), updated_at = now() WHERE id = %s""",
        [row["id"], text, thread.conversation_id],
    )
    seq = conn.execute(
        """INSERT INTO change_log (kind, conversation_id, account_id, payload)
           VALUES ('message', %s, %s, jsonb_build_object('message_ids', jsonb_build_array(%s::bigint))) RETURNING seq""",
        [thread.conversation_id, account_id, row["id"]],
    ).fetchone()
    conn.execute("SELECT pg_notify('inbox_changes', %s)", [str(seq["seq"])])
    return int(row["id"])


@dataclass
class Api:
    """An httpx client of one server, signed in as one agent."""

    base_url: str
    token: str = ""
    client: httpx.Client = field(init=False)
    _seq: Iterator[int] = field(default_factory=lambda: count(1))
    client_id: str = ""

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    @classmethod
    def sign_in(cls, server: ServerProcess, name: str, password: str | None = None) -> Api:
        answer = httpx.post(
            server.url + "/v1/session", json={"name": name, "password": password or f"password-of-{name}"}
        )
        assert answer.status_code == 201, answer.text
        api = cls(server.url, answer.json()["token"])
        api.client_id = f"desktop-{name}-{os.getpid()}-{next(_databases)}"
        return api

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)

    def intent(self, intent: dict[str, Any], *, seq: int | None = None, client_id: str | None = None) -> httpx.Response:
        """POST one intent, numbered by this client unless ``seq`` says otherwise."""
        body = {"client_id": client_id or self.client_id, "seq": seq if seq is not None else next(self._seq),
                "intent": intent}  # fmt: skip
        return self.client.post("/v1/intents", json=body)

    def close(self) -> None:
        self.client.close()
