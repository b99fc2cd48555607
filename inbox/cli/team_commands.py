"""``inbox team``: join a team server, leave it, see where this desktop stands, sync headless.

The replica is its own store file (``--db``, else ``INBOX_TEAM_DB``, else ``team.db`` in the
user data folder); the solo store is never touched. The password is read from stdin
(``--password-stdin``) or typed at a prompt, and never echoed, logged or stored; the session token
goes to the keyring.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from inbox.cli.paths import team_db_path
from inbox.errors import InboxError


def register(sub: Any) -> None:
    team: argparse.ArgumentParser = sub.add_parser(
        "team", help="team mode: join a team server, leave it", description="Team mode: this desktop as a replica "
        "of what a team server lets its agent see."
    )  # fmt: skip
    team_sub = team.add_subparsers(dest="team_command", required=True)
    p = team_sub.add_parser("join", help="sign in to a team server")
    p.add_argument("url", help="the server's address, e.g. https://inbox.example.com")
    p.add_argument("--agent", required=True, help="your agent name on that server")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--no-sync", action="store_true", help="do not pull the team's conversations now")
    p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="the replica file")
    p.set_defaults(handler=cmd_join)
    p = team_sub.add_parser("leave", help="sign out; the replica's data goes, unsent drafts stay")
    p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="the replica file")
    p.set_defaults(handler=cmd_leave)
    p = team_sub.add_parser("status", help="server, agent, cursor, queued and refused changes")
    p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="the replica file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)
    p = team_sub.add_parser("sync", help="catch up and push queued changes (headless)")
    p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="the replica file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sync)


def replica_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "db", None) or team_db_path())


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    raise InboxError("give the password on stdin with --password-stdin")


def _secrets() -> Any:
    from inbox.providers.keyring_store import KeyringSecretStore

    return KeyringSecretStore()


async def _with_account(path: Path, work: Any) -> Any:
    from inbox.app.http import client_for
    from inbox.store.replica import Replica
    from inbox.store.repository import Store
    from inbox.team.account import TeamAccount

    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(path)
    try:
        async with client_for() as http:
            return await work(TeamAccount(Replica(store), _secrets(), http))
    finally:
        store.close()


def cmd_join(args: argparse.Namespace) -> int:
    password = _read_password(args)
    path = replica_path(args)

    async def work(account: Any) -> int:
        joined = await account.join(args.url, args.agent, password)
        print(f"signed in to {joined.server_url} as {joined.agent} ({joined.role}); replica: {path}")
        if joined.accounts:
            print(f"channel accounts: {', '.join(joined.accounts)}")
        if args.no_sync:
            return 0
        from inbox.team.sync import TeamSync

        sync = TeamSync(account.replica, account.client())
        count = await sync.catch_up()
        print(f"pulled {count} changes; {len(account.replica.conversation_ids())} conversations")
        return 0

    return int(asyncio.run(_with_account(path, work)))


def cmd_leave(args: argparse.Namespace) -> int:
    async def work(account: Any) -> int:
        kept, remark = await account.leave()
        print(f"signed out; the team's conversations were removed from this desktop, {kept} unsent drafts kept")
        if remark:
            print(remark)
        return 0

    return int(asyncio.run(_with_account(replica_path(args), work)))


def cmd_status(args: argparse.Namespace) -> int:
    from inbox.store.replica import Replica
    from inbox.store.repository import Store

    path = replica_path(args)
    if not path.exists():
        raise InboxError(f"no team replica at {path}: inbox team join URL --agent NAME")
    store = Store.open(path)
    try:
        replica = Replica(store)
        state = replica.state()
        rejected = replica.rejections()
        info: dict[str, Any] = {
            "joined": state is not None,
            "server_url": state.server_url if state else None,
            "agent": state.agent if state else None,
            "signed_in": bool(state and state.signed_in),
            "cursor": state.cursor if state else None,
            "conversations": len(replica.conversation_ids()),
            "pending_intents": replica.pending_count(),
            "rejected": [{"seq": r.seq, "kind": r.kind, "conversation_id": r.conversation_id, "reason": r.reason}
                         for r in rejected],
            "kept_drafts": len(replica.kept_drafts()),
        }  # fmt: skip
    finally:
        store.close()
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not info["joined"]:
        print(f"not in a team ({info['kept_drafts']} drafts kept from before)")
        return 0
    print(f"{info['agent']} on {info['server_url']} ({'signed in' if info['signed_in'] else 'signed out'})")
    print(f"{info['conversations']} conversations, cursor {info['cursor']}, {info['pending_intents']} changes waiting")
    for r in info["rejected"]:
        print(f"refused: #{r['seq']} {r['kind']} on {r['conversation_id']}: {r['reason']}")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    async def work(account: Any) -> int:
        from inbox.team.sync import TeamSync

        sync = TeamSync(account.replica, account.client())
        pulled = await sync.catch_up()
        pushed = await sync.push_pending()
        pulled += await sync.catch_up()
        result = {"pulled": pulled, "pushed": pushed, "pending": account.replica.pending_count()}
        print(json.dumps(result) if args.json else f"pulled {pulled} changes, pushed {pushed} changes, "
              f"{result['pending']} waiting")  # fmt: skip
        return 0

    return int(asyncio.run(_with_account(replica_path(args), work)))
