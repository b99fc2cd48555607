"""Commands on the queue, conversations, customers, search, accounts and imports.

Customers' text is printed through :mod:`inbox.safe_text`, as the window shows it: a direction
override or a control character is a visible marker, never a live one on the terminal (``--json``
keeps the data as it is)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbox.cli.output import emit_json, iso, table
from inbox.cli.paths import default_db_path, demo_db_path
from inbox.errors import InputError
from inbox.models import Channel, IdentityKind, QueueFilter, QueueSort, Status
from inbox.safe_text import one_line, reveal
from inbox.store.repository import Store


def open_store(args: argparse.Namespace) -> Store:
    if getattr(args, "demo", False) and args.db is None:
        from inbox.app.demo import ensure_demo

        path = demo_db_path()
        ensure_demo(path)
        return Store.open(path)
    return Store.open(args.db or default_db_path())


def _add(sub: Any, name: str, handler: Any, help_text: str, *, json_flag: bool = False) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="the store file")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=handler)
    return p


def register(sub: Any) -> None:
    p = _add(sub, "import", cmd_import, "import mail, mbox, maildir, X / Graph JSON and web-form payloads", json_flag=True)
    p.add_argument("--account", help="CHANNEL:ID of the account the data belongs to")
    p.add_argument("paths", nargs="+", type=Path)
    p = _add(sub, "queue", cmd_queue, "conversations, most urgent first", json_flag=True)
    p.add_argument("--status", choices=[s.value for s in Status], action="append")
    p.add_argument("--channel", choices=[c.value for c in Channel])
    p.add_argument("--tag")
    p.add_argument("--sort", choices=[s.value for s in QueueSort], default="urgency")
    p.add_argument("--limit", type=int, default=100)
    p = _add(sub, "show", cmd_show, "a conversation's thread", json_flag=True)
    p.add_argument("conversation_id", type=int)
    p = _add(sub, "customer", cmd_customer, "a customer, identities and every conversation", json_flag=True)
    p.add_argument("ref", help="customer id, or CHANNEL:HANDLE such as twitter:@lea or email:lea@example.fr")
    p = _add(sub, "link", cmd_link, "link an identity to a customer")
    p.add_argument("identity", help="CHANNEL:KEY (twitter:@handle, email:address, facebook:id, phone:+33...)")
    p.add_argument("customer_id", type=int)
    p = _add(sub, "unlink", cmd_unlink, "detach an identity into a customer of its own")
    p.add_argument("identity")
    p = _add(sub, "merge", cmd_merge, "merge customer B into customer A (everything is kept)")
    p.add_argument("a", type=int)
    p.add_argument("b", type=int)
    p = _add(sub, "search", cmd_search, "full-text search over every message", json_flag=True)
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p = _add(sub, "account", cmd_account_list, "accounts: add or list")
    acc = p.add_subparsers(dest="account_command")
    a = _add(
        acc,
        "add",
        cmd_account_add,
        "add an account; on a terminal it asks for each secret (password, token, API key) without "
        "showing it, and stores it in the system keyring (service 'inbox', key 'ACCOUNT_ID:NAME')",
    )
    a.epilog = (
        "example: inbox account add email support@example.com --set imap_host=imap.example.com "
        "--set smtp_host=smtp.example.com --set username=support@example.com "
        "(then asked: Password). Settings of a mailbox: imap_host, imap_port (993), "
        "imap_security (ssl|starttls|none), smtp_host, smtp_port (587), smtp_security "
        "(starttls|ssl|none), username, auth (password|oauth2), sent_folder, initial_days. "
        "See the README for web forms."
    )
    a.add_argument("channel", choices=[c.value for c in Channel])
    a.add_argument("id", help="the account's own id: X user id, Page id, mailbox address, form id")
    a.add_argument("--name")
    a.add_argument("--own", action="append", default=[], help="an identity key that is us (repeatable)")
    a.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a non-secret setting")
    a.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the account's one secret (a mailbox's password, a form's API key) from stdin "
        "instead of asking; an error when its provider needs several",
    )
    _add(acc, "list", cmd_account_list, "list accounts", json_flag=True)
    p = _add(sub, "customers", cmd_customers_import, "customers: import a CRM export")
    cust = p.add_subparsers(dest="customers_command")
    c = _add(cust, "import", cmd_customers_import, "import a CRM CSV (customer_number, name, emails, phones, twitter, facebook)")
    c.add_argument("file", type=Path)
    p = _add(sub, "demo", cmd_demo, "build the demo workspace")
    p.add_argument("--force", action="store_true", help="rebuild even if it exists")


def _open(args: argparse.Namespace) -> Store:
    return open_store(args)


def _identity_ref(ref: str) -> tuple[IdentityKind, str]:
    kind, sep, key = ref.partition(":")
    if not sep or not key:
        raise InputError(ref, "expected CHANNEL:KEY, e.g. twitter:@lea or email:lea@example.fr")
    try:
        return IdentityKind(kind.lower()), key
    except ValueError:
        raise InputError(ref, f"unknown identity kind '{kind}' (twitter, facebook, email, phone)") from None


def cmd_import(args: argparse.Namespace) -> int:
    from inbox.cli.importing import import_paths

    store = _open(args)
    forced = None
    if args.account:
        channel, _, ident = args.account.partition(":")
        try:
            forced = store.ensure_account(args.account, Channel(channel))
        except ValueError:
            raise InputError("--account", f"'{args.account}' is not CHANNEL:ID with a known channel") from None
        del ident
    summary = import_paths(store, list(args.paths), forced)
    if summary.result.conversations:
        from inbox.app.workspace import refresh_sla

        refresh_sla(store, datetime.now(UTC), sorted(summary.result.conversations))
    if args.json:
        emit_json(summary.as_dict())
    else:
        r = summary.result
        print(
            f"{r.added} messages added, {r.duplicates} duplicates skipped, {r.ignored} ignored, "
            f"{len(r.conversations)} conversations touched, {len(summary.rejections)} rejected"
        )
        for rej in summary.rejections:
            print(f"rejected {rej.source}: {rej.reason}", file=sys.stderr)
    return 1 if summary.rejections else 0


def cmd_queue(args: argparse.Namespace) -> int:
    store = _open(args)
    statuses = frozenset(Status(s) for s in args.status) if args.status else frozenset(
        {Status.NEW, Status.OPEN, Status.PENDING, Status.SOLVED}
    )
    flt = QueueFilter(
        statuses=statuses,
        channel=Channel(args.channel) if args.channel else None,
        tag=args.tag,
        sort=QueueSort(args.sort),
    )
    rows = store.queue(flt, limit=args.limit)
    data = [
        {
            "id": c.id,
            "channel": c.channel.value,
            "subject": c.subject,
            "status": c.status.value,
            "customer_id": c.customer_id,
            "customer_name": c.customer_name,
            "message_count": c.message_count,
            "first_message_at": iso(c.created_at),
            "last_message_at": iso(c.last_message_at),
            "priority": c.priority.value,
            "tags": list(c.tags),
        }
        for c in rows
    ]
    if args.json:
        emit_json(data)
    else:
        print(
            table(
                [[d["id"], d["channel"], d["status"], one_line(str(d["customer_name"]), 60), d["message_count"],
                  d["last_message_at"], one_line(str(d["subject"]))] for d in data],
                ["id", "channel", "status", "customer", "msgs", "last", "subject"],
            )
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _open(args)
    conv = store.conversation(args.conversation_id)
    messages = store.messages(conv.id)
    data = {
        "id": conv.id,
        "channel": conv.channel.value,
        "subject": conv.subject,
        "status": conv.status.value,
        "priority": conv.priority.value,
        "customer_id": conv.customer_id,
        "customer_name": conv.customer_name,
        "tags": list(conv.tags),
        "messages": [
            {
                "id": m.id,
                "direction": m.direction.value,
                "channel": m.channel.value,
                "surface": m.surface.value,
                "author": m.author_handle or m.author_name or m.author_key,
                "sent_at": iso(m.sent_at),
                "text": m.text,
                "provider_id": m.provider_id,
                "private": m.private,
                "automated": m.automated,
                "outbox_state": m.outbox_state.value if m.outbox_state else None,
            }
            for m in messages
        ],
    }
    if args.json:
        emit_json(data)
        return 0
    print(f"#{conv.id} [{conv.channel.value}] {one_line(conv.subject)}  ({conv.status.value}, {one_line(conv.customer_name, 80)})")
    for m in messages:
        arrow = "→" if m.direction.value == "out" else "←"
        print(f"\n{arrow} {iso(m.sent_at)}  {m.surface.value}  {one_line(m.author_name, 80)} {one_line(m.author_handle, 60)}")
        print(reveal(m.text.strip()))
    return 0


def _customer_id(store: Store, ref: str) -> int:
    if ref.isdigit():
        return store.customer(int(ref)).id
    kind, key = _identity_ref(ref)
    found = store.identity(kind, key)
    if found is None or found.customer_id is None:
        raise InputError(ref, "no customer has this identity")
    return found.customer_id


def cmd_customer(args: argparse.Namespace) -> int:
    store = _open(args)
    cid = _customer_id(store, args.ref)
    customer = store.customer(cid)
    identities = store.identities(cid)
    conversations = store.customer_conversations(cid)
    data = {
        "id": customer.id,
        "display_name": customer.display_name,
        "crm_number": customer.crm_number,
        "vip": customer.vip,
        "notes": customer.notes,
        "identities": [{"kind": i.kind.value, "key": i.key, "handle": i.handle, "name": i.display_name} for i in identities],
        "conversations": [
            {"id": c.id, "channel": c.channel.value, "subject": c.subject, "status": c.status.value,
             "message_count": c.message_count, "last_message_at": iso(c.last_message_at)}
            for c in conversations
        ],
        "suggestions": [
            {"id": s.id, "identity": f"{s.identity.kind.value}:{s.identity.handle or s.identity.key}",
             "customer_id": s.customer_id, "customer_name": s.customer_name, "reason": s.reason}
            for s in store.suggestions(cid)
        ],
    }
    if args.json:
        emit_json(data)
        return 0
    print(f"Customer {customer.id}: {one_line(customer.display_name, 80)}  CRM {customer.crm_number or '-'}")
    for i in identities:
        print(f"  {i.kind.value:9} {one_line(i.handle or i.key, 80)}")
    print(table([[c.id, c.channel.value, c.status.value, iso(c.last_message_at), one_line(c.subject)] for c in conversations],
                ["id", "channel", "status", "last", "subject"]))
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    store = _open(args)
    kind, key = _identity_ref(args.identity)
    ident = store.link(kind, key, args.customer_id)
    print(f"linked {kind.value}:{ident.handle or ident.key} to customer {args.customer_id}")
    return 0


def cmd_unlink(args: argparse.Namespace) -> int:
    store = _open(args)
    kind, key = _identity_ref(args.identity)
    new_id = store.unlink(kind, key)
    print(f"{args.identity} is now customer {new_id}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    store = _open(args)
    store.merge_customers(args.a, args.b)
    print(f"customer {args.b} merged into {args.a}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    store = _open(args)
    hits = store.search(args.query, limit=args.limit)
    if args.json:
        emit_json(hits)
    else:
        print(table([[h.conversation_id, h.channel.value, iso(h.sent_at), one_line(h.author_name, 60), one_line(h.snippet)] for h in hits],
                    ["conv", "channel", "sent", "author", "text"]))
    return 0


def cmd_account_add(args: argparse.Namespace) -> int:
    store = _open(args)
    channel = Channel(args.channel)
    from inbox.sync.account_setup import new_account, settings_from

    settings = settings_from(args.set)
    account = new_account(channel, args.id, args.name, args.own, settings)
    from inbox.cli.account_commands import _keyring, ask_secrets, secret_names

    given = sorted(set(settings) & set(secret_names(account)))
    if given:
        raise InputError("--set", f"{', '.join(given)} is a secret: it is asked for (or read with "
                                  "--password-stdin), never given on the command line")
    secrets = ask_secrets(account, password_stdin=args.password_stdin)
    if secrets:  # the keyring first: an account is never saved with half its secrets
        ring = _keyring()
        for name, value in secrets.items():
            ring.set(account.id, name, value)
    store.save_account(account)
    print(f"account {account.id} saved")
    for name in secrets:
        print(f"{name} stored in the keyring (service inbox, key {account.id}:{name})")
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    store = _open(args)
    rows = []
    for a in store.accounts():
        state, reason = store.account_state(a.id)
        rejected, last = store.account_rejections(a.id)
        rows.append({"id": a.id, "channel": a.channel.value, "name": a.name, "state": state, "reason": reason,
                     "rejected": rejected, "last_rejection": last})
    if getattr(args, "json", False):
        emit_json(rows)
    else:
        print(table([[r["id"], r["channel"], r["name"], r["state"], r["rejected"],
                      "; ".join(str(x) for x in (r["reason"], r["last_rejection"]) if x)] for r in rows],
                    ["id", "channel", "name", "state", "rejected", "reason"]))
    return 0


def cmd_customers_import(args: argparse.Namespace) -> int:
    from inbox.conversations.crm import read_crm_csv
    from inbox.errors import InputError as Bad

    if not hasattr(args, "file"):
        print("usage: inbox customers import FILE.csv", file=sys.stderr)
        return 2
    store = _open(args)
    try:
        text = args.file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(args.file), f"cannot read: {exc}") from exc
    created = updated = linked = 0
    errors = 0
    for record in read_crm_csv(text, str(args.file)):
        if isinstance(record, Bad):
            print(f"rejected {record}", file=sys.stderr)
            errors += 1
            continue
        existing = store.customer_by_crm(record.crm_number)
        if existing is None:
            # An identity already known (same email) makes that customer the CRM one.
            known = next((store.identity(k, v) for k, v in record.identities if store.identity(k, v)), None)
            if known is not None and known.customer_id is not None:
                cid = known.customer_id
                store.update_customer(cid, crm_number=record.crm_number)
                updated += 1
            else:
                cid = store.create_customer(record.name or record.crm_number, record.crm_number)
                created += 1
        else:
            cid = existing.id
            updated += 1
        store.update_customer(cid, display_name=record.name or None, vip=record.vip, notes=record.notes or None)
        for kind, key in record.identities:
            store.link(kind, key, cid, handle=key)
            linked += 1
    print(f"{created} customers created, {updated} updated, {linked} identities linked, {errors} rows rejected")
    return 1 if errors else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from inbox.app.demo import build_demo

    path = args.db or demo_db_path()
    if path.exists() and not args.force and str(path) != ":memory:":
        print(f"demo workspace already at {path} (use --force to rebuild)")
        return 0
    stats = build_demo(Path(path), now=datetime.now(UTC))
    print(f"demo workspace at {path}: {stats}")
    return 0
