"""Commands that change conversations (each change recorded with its instant)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from inbox.cli.commands import _add, open_store
from inbox.errors import InputError
from inbox.models import Priority, Status

AGENT = "cli"


def parse_instant(text: str | None, field: str = "--at") -> datetime:
    """An ISO 8601 instant (``Z`` or an offset); a naive time is refused, not guessed."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(field, f"'{text}' is not an ISO 8601 instant (e.g. 2026-11-23T09:30:00Z)") from None
    if value.tzinfo is None:
        raise InputError(field, f"'{text}' has no timezone; add Z or an offset such as +01:00")
    return value.astimezone(UTC)


def register(sub: Any) -> None:
    p = _add(sub, "set-status", cmd_set_status, "set a conversation's status")
    p.add_argument("conversation_id", type=int)
    p.add_argument("status", choices=[s.value for s in Status])
    p.add_argument("--at", help="the instant of the change (ISO 8601; default now)")
    p = _add(sub, "tag", cmd_tag, "tag a conversation (--remove to untag)")
    p.add_argument("conversation_id", type=int)
    p.add_argument("tag")
    p.add_argument("--remove", action="store_true")
    p.add_argument("--at")
    p = _add(sub, "set-priority", cmd_set_priority, "set a conversation's priority")
    p.add_argument("conversation_id", type=int)
    p.add_argument("priority", choices=[s.value for s in Priority])
    p.add_argument("--at")
    p = _add(sub, "assign", cmd_assign, "assign a conversation to an agent ('' to unassign)")
    p.add_argument("conversation_id", type=int)
    p.add_argument("agent")
    p.add_argument("--at")


def cmd_set_status(args: argparse.Namespace) -> int:
    store = open_store(args)
    store.set_status(args.conversation_id, Status(args.status), parse_instant(args.at), AGENT)
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    store = open_store(args)
    at = parse_instant(args.at)
    if args.remove:
        store.remove_tag(args.conversation_id, args.tag, at, AGENT)
    else:
        store.add_tag(args.conversation_id, args.tag, at, AGENT)
    return 0


def cmd_set_priority(args: argparse.Namespace) -> int:
    store = open_store(args)
    store.set_priority(args.conversation_id, Priority(args.priority), parse_instant(args.at), AGENT)
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    store = open_store(args)
    store.assign(args.conversation_id, args.agent or None, parse_instant(args.at), AGENT)
    return 0
