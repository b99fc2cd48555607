"""The ``inbox`` command: the app with no arguments, and commands for scripts, admins and tests."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inbox.errors import InboxError

Handler = Callable[[argparse.Namespace], int]


#: What agents and scripts run all day, all registered by ``inbox.cli.commands``: running one
#: imports no other command module.
READ_COMMANDS = frozenset({"queue", "search", "show", "customer"})


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, the parser of that command alone is built (the
    others are registered as names): building all ~50 sub-parsers cost ~25 ms of every command."""
    from inbox.cli import commands

    parser = argparse.ArgumentParser(prog="inbox", description="One queue for X, Facebook, email and web forms.")
    parser.add_argument("--db", type=Path, help="the store file (default: $INBOX_DB or the user data folder)")
    parser.add_argument("--demo", action="store_true", help="open the demo workspace")
    sub: Any = parser.add_subparsers(dest="command")
    if only is not None:
        sub = _OnlyCommand(sub, only)
    commands.register(sub)
    if only in READ_COMMANDS:
        return parser
    from inbox.cli import (
        account_commands,
        canned_commands,
        operations,
        report_commands,
        sla_commands,
        sync_commands,
        team_commands,
    )
    from inbox.server import cli as serve_cli  # argparse only: the server's libraries load when it runs

    operations.register(sub)
    sla_commands.register(sub)
    sync_commands.register(sub)
    report_commands.register(sub)
    canned_commands.register(sub)
    account_commands.register(sub)
    team_commands.register(sub)
    serve_cli.register(sub)
    return parser


class _OnlyCommand:
    """The top-level sub-commands action, building the parser of one command only."""

    def __init__(self, action: Any, wanted: str) -> None:
        self.action = action
        self.wanted = wanted

    @property
    def choices(self) -> Any:
        return self.action.choices

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name == self.wanted:
            return self.action.add_parser(name, **kwargs)
        return _Skipped()


class _Skipped:
    """A command not being run: what registering it asks of its parser, done as nothing."""

    _actions: list[argparse.Action] = []

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_defaults(self, **kwargs: Any) -> None:
        return None

    def add_subparsers(self, **kwargs: Any) -> _Skipped:
        return self

    def add_parser(self, name: str, **kwargs: Any) -> _Skipped:
        return self


def _command_named(argv: Sequence[str]) -> str | None:
    """The command an argument list runs, when it is plainly one (options before it: --db
    PATH, --db=PATH, --demo); None for help, no command or anything else."""
    tokens = list(argv)
    while tokens:
        token = tokens.pop(0)
        if token == "--db" and tokens:
            tokens.pop(0)
        elif token.startswith("--db=") or token == "--demo":
            continue
        elif token.startswith("-"):
            return None
        else:
            return token
    return None


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    return {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def main(argv: Sequence[str] | None = None) -> int:
    from inbox.logging_setup import configure_logging

    arguments = list(sys.argv[1:] if argv is None else argv)
    command = _command_named(arguments)
    parser = build_parser(command)
    if command is not None and command not in _commands(parser):
        parser = build_parser()  # a mistyped command: argparse names the real ones
    args = parser.parse_args(arguments)
    configure_logging()  # secrets and addresses redacted unless INBOX_DEBUG=1
    handler: Handler | None = getattr(args, "handler", None)
    try:
        if handler is None:
            from inbox.app.run import run_app

            return run_app(args)
        return handler(args)
    except InboxError as exc:
        print(f"inbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
