"""Real parts for team-mode tests: a PostgreSQL 15 cluster (as the ``postgres`` user when root),
one migrated database per test with two agents and a few conversations, and real ``inbox serve``
processes on loopback ports that a test can stop and start again (the desktop goes offline).

The cluster is the server tests' own (``pg_cluster`` in tests/server/conftest.py: skips with a
reason when PostgreSQL 15 is absent, fails instead when ``CI`` is set).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Cluster, free_port

ACCOUNT = "email:support@example.com"
OTHER_ACCOUNT = "twitter:brioche"
PASSWORDS = {"lea": "lea-password-1", "marc": "marc-password-1", "yanis": "yanis-password-1"}


def seed(dsn: str, conversations: int = 5) -> list[int]:
    """Two channel accounts, agents lea (lead, both), marc and yanis (email only), and
    ``conversations`` email conversations with one customer message each, in the change log."""
    import psycopg
    from psycopg.types.json import Jsonb

    from inbox.server.people import hash_password

    now = datetime.now(UTC)
    ids: list[int] = []
    with psycopg.connect(dsn, autocommit=False) as conn:
        for account_id, channel in ((ACCOUNT, "email"), (OTHER_ACCOUNT, "twitter")):
            conn.execute(
                "INSERT INTO accounts (id, channel, name, own_keys) VALUES (%s, %s, %s, %s)",
                [account_id, channel, account_id.split(":", 1)[1], Jsonb([account_id.split(":", 1)[1]])],
            )
        for name, role, accounts in (("lea", "lead", [ACCOUNT, OTHER_ACCOUNT]), ("marc", "agent", [ACCOUNT]),
                                     ("yanis", "agent", [ACCOUNT])):  # fmt: skip
            row = conn.execute(
                "INSERT INTO agents (name, display_name, role, password_hash) VALUES (%s, %s, %s, %s) RETURNING id",
                [name, name.capitalize(), role, hash_password(PASSWORDS[name])],
            ).fetchone()
            assert row is not None
            for account_id in accounts:
                conn.execute("INSERT INTO memberships (agent_id, account_id) VALUES (%s, %s)", [row[0], account_id])
        for n in range(conversations):
            add_conversation(conn, ACCOUNT, f"Order {n + 1} is late", f"client{n + 1}@example.org",
                             now - timedelta(minutes=30 - n))  # fmt: skip
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM conversations ORDER BY id").fetchall()]
        add_conversation(conn, OTHER_ACCOUNT, "", "@someone", now - timedelta(minutes=5), channel="twitter")
        conn.commit()
    return ids


def add_conversation(conn: Any, account_id: str, subject: str, author: str, at: datetime, *, channel: str = "email",
                     text: str = "Where is my parcel?") -> int:  # fmt: skip
    """One conversation with one customer message, as the server's ingest would write it."""
    from psycopg.types.json import Jsonb

    kind = "twitter" if channel == "twitter" else "email"
    customer = conn.execute("INSERT INTO customers (display_name) VALUES (%s) RETURNING id", [author]).fetchone()[0]
    identity = conn.execute(
        "INSERT INTO identities (kind, key, handle, display_name, customer_id) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        [kind, author.lower(), author, author, customer],
    ).fetchone()[0]
    surface = "mention" if channel == "twitter" else "email"
    cid = conn.execute(
        """INSERT INTO conversations (channel, account_id, surface, subject, status, customer_id, created_at,
               last_message_at, last_inbound_at, message_count, preview, sla_due_at, sla_state)
           VALUES (%s, %s, %s, %s, 'new', %s, %s, %s, %s, 1, %s, %s, 'ok') RETURNING id""",
        [channel, account_id, surface, subject, customer, at, at, at, text, at + timedelta(hours=4)],
    ).fetchone()[0]
    mid = conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction, identity_id,
               author_key, author_name, author_handle, subject, text, sent_at, refs, thread_key)
           VALUES (%s, %s, %s, %s, %s, 'in', %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        [account_id, f"<m{cid}@example.org>", cid, channel, surface, identity, author.lower(), author, author,
         subject or None, text, at, Jsonb([]), f"t{cid}"],
    ).fetchone()[0]  # fmt: skip
    conn.execute("UPDATE conversations SET last_message_id = %s WHERE id = %s", [mid, cid])
    conn.execute("INSERT INTO events (conversation_id, kind, at) VALUES (%s, 'message_in', %s)", [cid, at])
    conn.execute(
        """INSERT INTO change_log (kind, conversation_id, account_id, payload, actor)
           VALUES ('message', %s, %s, %s, 'ingest')""",
        [cid, account_id, Jsonb({"message_ids": [mid], "customer_ids": [customer]})],
    )
    conn.execute("SELECT pg_notify('inbox_changes', (SELECT max(seq)::text FROM change_log))")
    return int(cid)


def customer_message(dsn: str, conversation_id: int, text: str) -> int:
    """A new customer message in a conversation, as the server's ingest writes it (row lock,
    message, conversation, change log, NOTIFY at commit)."""
    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(dsn) as conn:
        conv = conn.execute("SELECT account_id, channel, surface, customer_id FROM conversations WHERE id = %s FOR UPDATE",
                            [conversation_id]).fetchone()  # fmt: skip
        assert conv is not None
        mid = conn.execute(
            """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction, author_key,
                   author_name, text, sent_at, refs)
               VALUES (%s, %s, %s, %s, %s, 'in', 'customer', 'Customer', %s, now(), '[]') RETURNING id""",
            [conv[0], f"<x{time.monotonic_ns()}@example.org>", conversation_id, conv[1], conv[2] or "email", text],
        ).fetchone()[0]
        conn.execute(
            """UPDATE conversations SET last_message_id = %s, last_message_at = now(), last_inbound_at = now(),
                   message_count = message_count + 1, preview = left(%s, 200), updated_at = now() WHERE id = %s""",
            [mid, text, conversation_id],
        )
        conn.execute("INSERT INTO events (conversation_id, kind) VALUES (%s, 'message_in')", [conversation_id])
        conn.execute(
            "INSERT INTO change_log (kind, conversation_id, account_id, payload, actor) VALUES ('message', %s, %s, %s, 'ingest')",
            [conversation_id, conv[0], Jsonb({"message_ids": [mid]})],
        )
        conn.execute("SELECT pg_notify('inbox_changes', (SELECT max(seq)::text FROM change_log))")
        conn.commit()
    return int(mid)


@dataclass
class TeamServer:
    """One ``inbox serve`` process; :meth:`stop` and :meth:`start` take it away and back on the
    same port (what a desktop sees as the network going and coming back)."""

    dsn: str
    port: int = field(default_factory=free_port)
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="inbox-serve-", suffix=".log")[1]))
    presence_ttl: float = 30.0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # The API only: pollers would reach for the seeded accounts' (made-up) hosts.
        env = {**os.environ, "INBOX_LOG_LEVEL": "warning", "INBOX_PRESENCE_TTL": str(self.presence_ttl),
               "INBOX_CHANNELS": "0"}  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "inbox", "serve", "--dsn", self.dsn, "--port", str(self.port), "--no-migrate"],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        self.wait_ready()

    def wait_ready(self, limit: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"inbox serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=2).json().get("listening"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"inbox serve did not answer: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None


@pytest.fixture
def team_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh migrated database on the server tests' cluster (tests/server/conftest.py)."""
    dsn = pg_cluster.new_database()
    yield dsn
    pg_cluster.drop_database(dsn)


@pytest.fixture
def team_server(team_dsn: str) -> Iterator[TeamServer]:
    seed(team_dsn)
    server = TeamServer(team_dsn, presence_ttl=30.0)
    server.start()
    try:
        yield server
    finally:
        server.stop()
