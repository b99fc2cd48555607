"""``inbox serve --dev``: a private PostgreSQL, the demo workspace and two demo agents, then serve.

The cluster lives in the user's data folder (``team-postgres``), listens on 127.0.0.1 only on a
port chosen once, and is stopped when the server stops. PostgreSQL refuses to run as root: as
root it runs as the ``postgres`` user through ``runuser`` (then in a folder that user can reach).
The demo data is the desktop's: ``inbox demo`` builds it into a throwaway SQLite file (in its own
process: the server never imports the local store) and its rows are copied into PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from inbox.server.cluster import PrivateCluster, free_port
from inbox.sla.policy import POLICY_SETTING

DEMO_AGENTS = (("lea", "lead", "Léa (team lead)"), ("marc", "agent", "Marc"))
#: Assignees the demo data already has; they exist as agents without a password.
DEMO_COLLEAGUES = ("camille", "yanis", "sophie")
MARC_ACCOUNTS = ("email:support@brioche.example", "webform:contact")


def _reachable_by_postgres(folder: Path) -> bool:
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(folder)], capture_output=True)
    return probe.returncode == 0


def cluster_folder() -> Path:
    """``team-postgres`` in the user data folder; as root, a folder the postgres user can reach."""
    folder = Path(platformdirs.user_data_dir("inbox", "inbox")) / "team-postgres"
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return folder
    shutil.chown(folder, "postgres")
    if _reachable_by_postgres(folder):
        return folder
    tag = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"inbox-team-postgres-{tag}"
    folder.mkdir(mode=0o700, exist_ok=True)
    shutil.chown(folder, "postgres")
    return folder


class DevCluster:
    """The ``--dev`` cluster: kept in ``folder`` between runs, on the port it first chose."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def port(self) -> int:
        return int((self.folder / "port").read_text().strip())

    def dsn(self, dbname: str = "inbox") -> str:
        return f"host=127.0.0.1 port={self.port} user=inbox dbname={dbname}"

    def _cluster(self) -> PrivateCluster:
        return PrivateCluster(self.folder, self.port)

    def start(self) -> None:
        port_file = self.folder / "port"
        if not port_file.exists():
            port_file.write_text(f"{free_port()}\n")
        cluster = self._cluster()
        cluster.init()
        cluster.start()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'inbox'").fetchone() is None:
                conn.execute("CREATE DATABASE inbox")

    def stop(self) -> None:
        self._cluster().stop()


@contextmanager
def demo_sqlite() -> Iterator[sqlite3.Connection]:
    """The desktop's demo workspace, built by ``inbox demo`` into a temporary SQLite file."""
    with tempfile.TemporaryDirectory(prefix="inbox-demo-") as tmp:
        path = Path(tmp) / "demo.db"
        subprocess.run([sys.executable, "-m", "inbox", "demo", "--db", str(path)], check=True, capture_output=True)
        db = sqlite3.connect(path)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()


def _rows(db: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute(sql)]


def load_demo(conn: psycopg.Connection[Any], db: sqlite3.Connection) -> int:
    """Copy the demo workspace into an empty server database; returns the conversations copied."""
    with conn.transaction():
        for r in _rows(db, "SELECT * FROM accounts"):
            conn.execute(
                "INSERT INTO accounts (id, channel, name, own_keys, settings) VALUES (%s, %s, %s, %s, %s)",
                [r["id"], r["channel"], r["name"], Jsonb(json.loads(r["own_keys"])), Jsonb(json.loads(r["settings"]))],
            )
        for r in _rows(db, "SELECT * FROM customers"):
            conn.execute(
                """INSERT INTO customers (id, display_name, crm_number, notes, vip, name_key, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                [
                    r["id"],
                    r["display_name"],
                    r["crm_number"],
                    r["notes"],
                    bool(r["vip"]),
                    r["name_key"],
                    r["created_at"],
                ],
            )
        for r in _rows(db, "SELECT * FROM identities"):
            conn.execute(
                """INSERT INTO identities (id, kind, key, handle, display_name, customer_id, followers, avatar_url)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                [r["id"], r["kind"], r["key"], r["handle"], r["display_name"], r["customer_id"], r["followers"],
                 r["avatar_url"]],
            )  # fmt: skip
        conversations = _rows(db, "SELECT * FROM conversations")
        for r in conversations:
            conn.execute(
                """INSERT INTO conversations (id, channel, account_id, surface, subject, status, priority,
                       priority_source, assignee, customer_id, created_at, last_message_at, last_inbound_at,
                       message_count, preview, score, noise, sla_due_at, sla_state)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [r["id"], r["channel"], r["account_id"], r["surface"], r["subject"], r["status"], r["priority"],
                 r["priority_source"], r["assignee"], r["customer_id"], r["created_at"], r["last_message_at"],
                 r["last_inbound_at"], r["message_count"], r["preview"], r["score"], bool(r["noise"]), r["sla_due_at"],
                 r["sla_state"]],
            )  # fmt: skip
        for r in db.execute("SELECT key, value FROM settings WHERE key = ?", [POLICY_SETTING]).fetchall():
            # The demo's policies (every day, all hours), which its cached deadlines come from.
            conn.execute(
                """INSERT INTO server_settings (key, value) VALUES (%s, %s)
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()""",
                [r[0], r[1]],
            )
        for r in _rows(db, "SELECT * FROM conversation_tags"):
            conn.execute("INSERT INTO conversation_tags (conversation_id, tag) VALUES (%s, %s)",
                         [r["conversation_id"], r["tag"]])  # fmt: skip
        for r in _rows(db, "SELECT * FROM thread_keys"):
            conn.execute(
                "INSERT INTO thread_keys (key, conversation_id) VALUES (%s, %s)", [r["key"], r["conversation_id"]]
            )
        for r in _rows(db, "SELECT * FROM messages ORDER BY id"):
            conn.execute(
                """INSERT INTO messages (id, account_id, provider_id, conversation_id, channel, surface, direction,
                       identity_id, author_key, author_name, author_handle, subject, text, html, sent_at, reply_to_id,
                       refs, recipients, attachments, automated, private, meta, content_hash, thread_key, lang,
                       sentiment)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                           %s, %s, %s)""",
                [r["id"], r["account_id"], r["provider_id"], r["conversation_id"], r["channel"], r["surface"],
                 r["direction"], r["identity_id"], r["author_key"], r["author_name"], r["author_handle"], r["subject"],
                 r["text"], r["html"], r["sent_at"], r["reply_to_id"], Jsonb(json.loads(r["refs"])),
                 Jsonb(json.loads(r["recipients"])), Jsonb(json.loads(r["attachments"])), bool(r["automated"]),
                 bool(r["private"]), Jsonb(json.loads(r["meta"])), r["content_hash"], r["thread_key"], r["lang"],
                 r["sentiment"]],
            )  # fmt: skip
        for r in _rows(db, "SELECT * FROM events ORDER BY id"):
            conn.execute(
                "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (%s, %s, %s, %s, %s)",
                [r["conversation_id"], r["kind"], r["at"], r["actor"], r["value"]],
            )
        conn.execute(
            """UPDATE conversations c SET last_message_id = m.id
               FROM (SELECT conversation_id, max(id) AS id FROM messages GROUP BY conversation_id) m
               WHERE m.conversation_id = c.id"""
        )
        for table in ("customers", "identities", "conversations", "messages"):
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT coalesce(max(id), 1) FROM {}))"
                ).format(sql.Identifier(table)),
                [table],
            )
        # One change per conversation, so a desktop that pulls from cursor 0 gets the whole workspace.
        conn.execute(
            """INSERT INTO change_log (kind, conversation_id, account_id, payload, actor)
               SELECT 'import', c.id, c.account_id,
                      jsonb_build_object('message_ids',
                        (SELECT coalesce(jsonb_agg(m.id ORDER BY m.id), '[]') FROM messages m
                         WHERE m.conversation_id = c.id)),
                      'demo'
               FROM conversations c ORDER BY c.id"""
        )
        conn.execute("SELECT pg_notify('inbox_changes', (SELECT max(seq)::text FROM change_log))")
    return len(conversations)


def demo_people(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Create (or reset) the demo agents; returns their new passwords by name."""
    from inbox.server.people import hash_password

    accounts = [r[0] for r in conn.execute("SELECT id FROM accounts ORDER BY id").fetchall()]
    passwords: dict[str, str] = {}
    with conn.transaction():
        for name, role, display in DEMO_AGENTS:
            password = secrets.token_urlsafe(9)
            passwords[name] = password
            conn.execute(
                """INSERT INTO agents (name, display_name, role, password_hash) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash, disabled = false""",
                [name, display, role, hash_password(password)],
            )
        for name in DEMO_COLLEAGUES:
            conn.execute(
                "INSERT INTO agents (name, display_name, role) VALUES (%s, %s, 'agent') ON CONFLICT (name) DO NOTHING",
                [name, name.capitalize()],
            )
        for name in ("lea", *DEMO_COLLEAGUES):
            for account_id in accounts:
                conn.execute(
                    """INSERT INTO memberships (agent_id, account_id)
                       SELECT id, %s FROM agents WHERE name = %s ON CONFLICT DO NOTHING""",
                    [account_id, name],
                )
        for account_id in MARC_ACCOUNTS:
            conn.execute(
                """INSERT INTO memberships (agent_id, account_id)
                   SELECT a.id, %s FROM agents a WHERE a.name = 'marc'
                     AND EXISTS (SELECT 1 FROM accounts WHERE id = %s) ON CONFLICT DO NOTHING""",
                [account_id, account_id],
            )
    return passwords


def prepare(dsn: str) -> dict[str, str]:
    """Migrate, load the demo workspace into an empty database, (re)create the demo agents."""
    import asyncio

    from inbox.server.db import migrate

    asyncio.run(migrate(dsn))
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM accounts").fetchone()
        if row is not None and row[0] == 0:
            with demo_sqlite() as db:
                count = load_demo(conn, db)
            print(f"loaded the demo workspace: {count} conversations")
        return demo_people(conn)


def run_dev(args: argparse.Namespace) -> int:
    from inbox.server.cli import run_server

    cluster: DevCluster | None = None
    # uvicorn raises SIGTERM again once it has shut down; exit through Python then, so that the
    # private cluster below is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    dsn = args.dsn or os.environ.get("INBOX_DSN", "")
    if not dsn:
        cluster = DevCluster(cluster_folder())
        cluster.start()
        dsn = cluster.dsn()
        print(f"PostgreSQL (private, 127.0.0.1:{cluster.port}) in {cluster.folder}")
    try:
        passwords = prepare(dsn)
        url = f"http://{args.host}:{args.port}"
        print(f"Inbox team server: {url}/v1/  (OpenAPI: {url}/v1/schema/openapi.json)")
        for name, role, _ in DEMO_AGENTS:
            print(f"  sign in as {name} ({role}) with password {passwords[name]}")
        if os.environ.setdefault("INBOX_CHANNELS", "0") == "0":
            print("  polling and sending are off (the demo accounts are not real): INBOX_CHANNELS=1 turns them on")
        sys.stdout.flush()
        args.no_migrate = True
        return run_server(dsn, args)
    finally:
        if cluster is not None:
            cluster.stop()
