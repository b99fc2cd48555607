"""Running some CLI commands alone, as ``inbox.cli.main`` does, for tests of one command module."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inbox.errors import InboxError


def run_only(register: Callable[[Any], None], *argv: str) -> int:
    """Parse ``argv`` with only ``register``'s commands and run the handler (exit code 2 and the
    message on stdout for a user error, as the tests read it)."""
    parser = argparse.ArgumentParser(prog="inbox")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--demo", action="store_true")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except InboxError as exc:
        print(f"inbox: {exc}")
        return 2
