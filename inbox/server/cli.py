"""``inbox serve``: run the team server, migrate its database, manage its people.

Imported by the desktop's CLI to build the parser only: nothing heavy (Litestar, psycopg, argon2)
is imported until a ``serve`` command runs, so ``inbox`` stays quick to start.

Channel account commands (``inbox serve account ...``) are registered by their own module
(:mod:`inbox.server.accounts_cli`, argparse-level imports only) through :data:`EXTRA_COMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from inbox.server import accounts_cli

DEFAULT_PORT = 8765

#: Registrars of further ``inbox serve`` subcommands: ``register(serve_subparsers)``.
EXTRA_COMMANDS: list[Callable[[Any], None]] = [accounts_cli.register]


def _dsn_arg(p: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
    p.add_argument("--dsn", default=default, help="PostgreSQL connection string (default: $INBOX_DSN)")


def register(sub: Any) -> None:
    serve: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run the team server (team mode) or manage it",
        description="Run the team server over PostgreSQL: `inbox serve --dsn ...`, or `inbox serve --dev` for a "
        "private PostgreSQL with the demo workspace.",
    )
    _dsn_arg(serve, default=None)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument("--dev", action="store_true", help="start a private PostgreSQL with the demo workspace")
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate the database at start")
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a TLS proxy)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="addresses of the reverse proxies whose forwarded headers are trusted",
    )
    serve.set_defaults(handler=cmd_serve)
    serve_sub = serve.add_subparsers(dest="serve_command")

    p = serve_sub.add_parser("migrate", help="apply the database migrations and exit")
    _dsn_arg(p)
    p.set_defaults(handler=cmd_migrate)

    user = serve_sub.add_parser("user", help="agents, team leads and admins")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    p = user_sub.add_parser("add", help="add a person who can sign in")
    _dsn_arg(p)
    p.add_argument("name")
    p.add_argument("--role", choices=["agent", "lead", "admin"], default="agent")
    p.add_argument("--display-name", default="")
    p.add_argument("--accounts", default="", help="channel accounts, comma-separated (e.g. email:support@example.com)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.set_defaults(handler=cmd_user_add)
    p = user_sub.add_parser("list", help="everyone, with role and memberships")
    _dsn_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_user_list)
    p = user_sub.add_parser("disable", help="stop someone from signing in (their sessions end)")
    _dsn_arg(p)
    p.add_argument("name")
    p.set_defaults(handler=cmd_user_disable)
    for extra in EXTRA_COMMANDS:
        extra(serve_sub)


def _dsn(args: argparse.Namespace) -> str:
    from inbox.server.db import dsn_from_env

    return str(getattr(args, "dsn", None) or dsn_from_env())


def cmd_serve(args: argparse.Namespace) -> int:
    if args.dev:
        from inbox.server.dev import run_dev

        return run_dev(args)
    dsn = _dsn(args)
    return run_server(dsn, args)


def run_server(dsn: str, args: argparse.Namespace) -> int:
    """Migrate once, then hand the app to uvicorn (its workers each open their own pool)."""
    import uvicorn

    from inbox.server.db import migrate

    if not args.no_migrate:
        asyncio.run(migrate(dsn))
    os.environ["INBOX_DSN"] = dsn
    os.environ["INBOX_MIGRATE"] = "0" if args.no_migrate else "1"
    uvicorn.run(
        "inbox.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=os.environ.get("INBOX_LOG_LEVEL", "info"),
        ws="websockets-sansio",
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from inbox.server.db import migrate

    applied = asyncio.run(migrate(_dsn(args)))
    print("\n".join(f"applied {name}" for name in applied) if applied else "the database is up to date")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    from inbox.errors import InboxError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise InboxError("the two passwords differ")
    else:
        raise InboxError("give the password on stdin with --password-stdin")
    return password


async def _with_connection(dsn: str, work: Callable[[Any], Any]) -> Any:
    import psycopg
    from psycopg.rows import dict_row

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        return await work(conn)


def cmd_user_add(args: argparse.Namespace) -> int:
    from inbox.server import people

    password = _read_password(args)
    accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]

    async def work(conn: Any) -> int:
        return await people.add_agent(
            conn,
            args.name,
            people.Role(args.role),
            password=password,
            accounts=accounts,
            display_name=args.display_name,
        )

    asyncio.run(_with_connection(_dsn(args), work))
    print(f"added {args.role} {args.name}" + (f" (member of {', '.join(accounts)})" if accounts else ""))
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from inbox.server import people

    found: list[people.Agent] = asyncio.run(_with_connection(_dsn(args), people.agents))
    if args.json:
        rows = [
            {
                "name": a.name,
                "display_name": a.display_name,
                "role": a.role.value,
                "disabled": a.disabled,
                "accounts": sorted(a.accounts),
            }
            for a in found
        ]
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    for a in found:
        flag = " (disabled)" if a.disabled else ""
        print(f"{a.name:<20} {a.role.value:<6} {', '.join(sorted(a.accounts)) or '-'}{flag}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    from inbox.server import people

    async def work(conn: Any) -> None:
        await people.disable_agent(conn, args.name)

    asyncio.run(_with_connection(_dsn(args), work))
    print(f"disabled {args.name}")
    return 0
