"""`inbox sla`, `inbox policy load|show` and `inbox screenshot`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from inbox.cli.commands import _add, open_store
from inbox.cli.operations import parse_instant
from inbox.cli.output import emit_json, iso, table
from inbox.errors import InputError


def register(sub: Any) -> None:
    p = _add(sub, "sla", cmd_sla, "SLA targets of every conversation not closed, most urgent first", json_flag=True)
    p.add_argument("--at", help="the instant to evaluate (ISO 8601; default now); later events are ignored")
    p = _add(sub, "policy", cmd_policy_show, "SLA policies: load a TOML file or show the policies in force")
    pol = p.add_subparsers(dest="policy_command")
    s = _add(pol, "load", cmd_policy_load, "load a policy file (validated; replaces the policies in force)")
    s.add_argument("file", type=Path)
    _add(pol, "show", cmd_policy_show, "show the policies in force")
    p = _add(sub, "screenshot", cmd_screenshot, "render the main window offscreen to a PNG")
    p.add_argument("out", type=Path)
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--lang", choices=["en", "fr"])
    p.add_argument("--theme", choices=["light", "dark"], default="light")
    p.add_argument("--size", default="1440x860")
    p.add_argument("--select", type=int, default=None, help="move the selection down N rows")


def cmd_sla(args: argparse.Namespace) -> int:
    from inbox.app.workspace import statuses_at

    store = open_store(args)
    at = parse_instant(args.at)
    rows = [
        {
            "conversation_id": s.conversation_id,
            "policy": s.policy,
            "target": s.target.value,
            "round": s.round,
            "state": s.state.value,
            "due_at": iso(s.due_at),
            "remaining_s": round(s.remaining_s, 3),
            "elapsed_s": round(s.elapsed_s, 3),
            "met_at": iso(s.met_at),
        }
        for s in statuses_at(store, at)
    ]
    if args.json:
        emit_json(rows)
    else:
        print(table([[r["conversation_id"], r["policy"], r["target"], r["state"], r["due_at"], r["remaining_s"]] for r in rows],
                    ["conv", "policy", "target", "state", "due", "remaining_s"]))
    return 0


def cmd_policy_load(args: argparse.Namespace) -> int:
    from inbox.app.workspace import refresh_sla
    from inbox.sla.holidays import country_holidays
    from inbox.sla.policy import POLICY_SETTING, describe, load_policies

    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(args.file), f"cannot read: {exc}") from exc
    rules = load_policies(text, str(args.file), country_holidays)
    store = open_store(args)
    store.set_setting(POLICY_SETTING, text)
    refresh_sla(store, parse_instant(None), force=True)
    print(describe(rules))
    return 0


def cmd_policy_show(args: argparse.Namespace) -> int:
    from inbox.app.workspace import policies
    from inbox.sla.policy import describe

    print(describe(policies(open_store(args))))
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from inbox.app.run import screenshot

    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError("--size", f"'{args.size}' is not WIDTHxHEIGHT") from None
    args.demo = getattr(args, "demo", False)
    screenshot(args.out, args, language=args.lang, theme=args.theme, size=(w, h), select=args.select)
    print(args.out)
    return 0
