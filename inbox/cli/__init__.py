"""The ``inbox`` command: the app with no arguments, and commands for scripts, admins and tests."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from inbox.errors import InboxError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    from inbox.cli import (
        account_commands,
        canned_commands,
        commands,
        operations,
        report_commands,
        sla_commands,
        sync_commands,
        team_commands,
    )
    from inbox.server import cli as serve_cli  # argparse only: the server's libraries load when it runs

    parser = argparse.ArgumentParser(prog="inbox", description="One queue for X, Facebook, email and web forms.")
    parser.add_argument("--db", type=Path, help="the store file (default: $INBOX_DB or the user data folder)")
    parser.add_argument("--demo", action="store_true", help="open the demo workspace")
    sub = parser.add_subparsers(dest="command")
    commands.register(sub)
    operations.register(sub)
    sla_commands.register(sub)
    sync_commands.register(sub)
    report_commands.register(sub)
    canned_commands.register(sub)
    account_commands.register(sub)
    team_commands.register(sub)
    serve_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from inbox.logging_setup import configure_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging()  # secrets and addresses redacted unless INBOX_DEBUG=1
    handler: Handler | None = getattr(args, "handler", None)
    try:
        if handler is None:
            from inbox.app import run_app

            return run_app(args)
        return handler(args)
    except InboxError as exc:
        print(f"inbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
