"""``inbox serve account add|list``: the team server's channel accounts.

``add`` takes the same provider settings as the desktop's ``inbox account add`` (``--set
KEY=VALUE``, the fields each provider declares). Fields the provider marks secret, and the tokens
a provider keeps (:data:`inbox.secrets.STORED_SECRET_NAMES`), are never accepted on the command
line (a process list shows it): ``--password-stdin`` reads the provider's secret field from the
first line of stdin, ``--secrets-stdin`` reads ``NAME=VALUE`` lines. They go to the server's
secrets file (0600), never to PostgreSQL. ``list`` shows each account, its state, the process
holding its lease, and the names (never the values) of its stored secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from inbox.errors import InputError
from inbox.models import Account, Channel
from inbox.secrets import STORED_SECRET_NAMES
from inbox.sync.account_setup import new_account, settings_from


def register(sub: Any) -> None:
    """Add ``account`` to the ``inbox serve`` subcommands."""
    account = sub.add_parser("account", help="channel accounts polled and answered by the server")
    account_sub = account.add_subparsers(dest="account_command", required=True)
    p = account_sub.add_parser("add", help="add or update a channel account (secrets to the server's secrets file)")
    p.add_argument("--dsn", default=argparse.SUPPRESS, help="PostgreSQL connection string (default: $INBOX_DSN)")
    p.add_argument("channel", choices=[c.value for c in Channel])
    p.add_argument("id", help="the account's own id: X user id, Page id, mailbox address, form id")
    p.add_argument("--name")
    p.add_argument("--own", action="append", default=[], help="an identity key that is us (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a non-secret setting")
    p.add_argument("--password-stdin", action="store_true", help="read the provider's secret field from stdin")
    p.add_argument("--secrets-stdin", action="store_true", help="read NAME=VALUE secret lines from stdin")
    p.add_argument("--secrets", type=Path, help="the secrets file (default: $INBOX_SECRETS or the data folder)")
    p.set_defaults(handler=cmd_account_add)
    p = account_sub.add_parser("list", help="channel accounts, their state and lease holder")
    p.add_argument("--dsn", default=argparse.SUPPRESS, help="PostgreSQL connection string (default: $INBOX_DSN)")
    p.add_argument("--secrets", type=Path, help="the secrets file (default: $INBOX_SECRETS or the data folder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_account_list)


def _dsn(args: argparse.Namespace) -> str:
    from inbox.server.db import dsn_from_env

    return str(getattr(args, "dsn", None) or dsn_from_env())


def _secret_names(kind: str) -> tuple[str, set[str]]:
    """The provider's first secret form field (for --password-stdin) and every secret name."""
    from inbox.providers.registry import provider_info

    fields = provider_info(kind).fields
    secret_fields = [f.name for f in fields if f.secret]
    return (secret_fields[0] if secret_fields else "password"), {*secret_fields, *STORED_SECRET_NAMES}


def parse_account(args: argparse.Namespace) -> tuple[Account, dict[str, str]]:
    """The account (non-secret settings only) and the secrets, from the arguments and stdin."""
    from inbox.providers.registry import provider_kind

    channel = Channel(args.channel)
    settings = settings_from(args.set)
    account = new_account(channel, args.id, args.name, args.own, settings)
    first_secret, secret_names = _secret_names(provider_kind(account))
    for key in settings:
        if key in secret_names:
            raise InputError(
                f"--set {key}", "a secret is never given on the command line: use --password-stdin or --secrets-stdin"
            )
    secrets: dict[str, str] = {}
    if args.password_stdin and args.secrets_stdin:
        raise InputError("--password-stdin", "use one of --password-stdin and --secrets-stdin")
    if args.password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InputError("--password-stdin", "stdin held no password")
        secrets[first_secret] = value
    elif args.secrets_stdin:
        for number, line in enumerate(sys.stdin.read().splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or name.strip() not in secret_names:
                raise InputError(f"stdin line {number}", f"not NAME=VALUE with a known secret name ({name.strip()!r})")
            secrets[name.strip()] = value
    return account, secrets


def _store(args: argparse.Namespace) -> Any:
    from inbox.server.secrets_file import FileSecretStore, default_secrets_path

    return FileSecretStore(args.secrets or default_secrets_path())


def cmd_account_add(args: argparse.Namespace) -> int:
    import psycopg
    from psycopg.types.json import Jsonb

    account, secrets = parse_account(args)
    store = _store(args)  # refuses a secrets file others can read, before anything is written

    async def work() -> None:
        async with await psycopg.AsyncConnection.connect(_dsn(args)) as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO accounts (id, channel, name, own_keys, settings) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, own_keys = EXCLUDED.own_keys,
                       settings = EXCLUDED.settings, state = 'idle', state_reason = ''""",
                [account.id, account.channel.value, account.name, Jsonb(sorted(account.own_keys)),
                 Jsonb(dict(account.settings))],
            )  # fmt: skip
            await conn.execute(
                """INSERT INTO change_log (kind, account_id, payload, actor) VALUES ('account', %s, %s, 'admin')""",
                [account.id, Jsonb({"state": "idle"})],
            )

    for name, value in secrets.items():
        store.set(account.id, name, value)
    asyncio.run(work())
    stored = f"; secrets stored: {', '.join(sorted(secrets))}" if secrets else ""
    print(f"account {account.id} saved{stored}")
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    import psycopg
    from psycopg.rows import dict_row

    async def work() -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(_dsn(args), row_factory=dict_row) as conn:
            cur = await conn.execute(
                """SELECT a.id, a.channel, a.name, a.state, a.state_reason,
                          CASE WHEN l.expires_at > now() THEN l.holder END AS holder, l.epoch
                   FROM accounts a LEFT JOIN account_leases l ON l.account_id = a.id ORDER BY a.id"""
            )
            return list(await cur.fetchall())

    rows = asyncio.run(work())
    store = _store(args)
    out = [
        {"id": r["id"], "channel": r["channel"], "name": r["name"], "state": r["state"], "reason": r["state_reason"],
         "holder": r["holder"], "epoch": r["epoch"], "secrets": store.names(r["id"])}
        for r in rows
    ]  # fmt: skip
    if args.json:
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    for r in out:
        holder = r["holder"] or "-"
        names = ",".join(r["secrets"]) or "-"
        print(f"{r['id']:<40} {r['state']:<14} {holder:<36} secrets: {names}  {r['reason']}")
    return 0
