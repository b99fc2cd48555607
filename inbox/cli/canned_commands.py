"""``inbox canned list|add|remove``: the company's prepared answers, for admins and scripts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inbox.cli.commands import _add, open_store
from inbox.cli.output import emit_json, table
from inbox.errors import InputError
from inbox.replies.canned import LANGUAGES, search, unknown_placeholders
from inbox.store import canned_store


def register(sub: Any) -> None:
    p = _add(
        sub, "canned", cmd_canned_list, "canned responses: list, add or remove", json_flag=True
    )
    p.add_argument("--lang", choices=LANGUAGES)
    cmds = p.add_subparsers(dest="canned_command")
    ls = _add(cmds, "list", cmd_canned_list, "list canned responses", json_flag=True)
    ls.add_argument("--lang", choices=LANGUAGES, help="only this language")
    ls.add_argument("--search", default="", help="only those matching these words, best first")
    a = _add(cmds, "add", cmd_canned_add, "add a canned response; prints its id")
    a.add_argument("--title", required=True)
    a.add_argument("--lang", required=True, choices=LANGUAGES)
    a.add_argument(
        "--body", required=True, help="the text, placeholders like {first_name}; - reads stdin"
    )
    a.add_argument("--tags", default="", help="comma-separated tags")
    r = _add(cmds, "remove", cmd_canned_remove, "remove a canned response")
    r.add_argument("id", type=int)


def cmd_canned_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        canned_store.ensure_defaults(store)
        lang = getattr(args, "lang", None)
        query = getattr(args, "search", "")
        rows = search(canned_store.list_responses(store), query, lang)
    finally:
        store.close()
    if getattr(args, "json", False):
        emit_json(rows)
        return 0
    if not rows:
        print("no canned responses")
        return 0
    print(
        table(
            [
                [r.id, r.lang, r.title, ",".join(r.tags), r.body.splitlines()[0] if r.body else ""]
                for r in rows
            ],
            ["id", "lang", "title", "tags", "text"],
        )
    )
    return 0


def cmd_canned_add(args: argparse.Namespace) -> int:
    body = sys.stdin.read() if args.body == "-" else args.body
    store = open_store(args)
    try:
        canned_store.ensure_defaults(store)
        added = canned_store.add(store, args.title, body, args.lang, args.tags)
    finally:
        store.close()
    unknown = unknown_placeholders(added.body)
    if unknown:
        names = ", ".join("{" + n + "}" for n in unknown)
        print(f"inbox: warning: the app never fills {names}; it stays as typed", file=sys.stderr)
    print(added.id)
    return 0


def cmd_canned_remove(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        if not canned_store.delete(store, args.id):
            raise InputError(f"canned response {args.id}", "no such response")
    finally:
        store.close()
    return 0
