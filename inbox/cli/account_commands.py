"""``inbox account remove ID [--wipe]``: forget an account, and with ``--wipe`` its local data.

Without ``--wipe`` the account stops syncing and disappears from lists, but its conversations
stay readable (history is evidence). With ``--wipe`` its conversations, messages and queued
replies are deleted from this computer; other accounts' data is untouched. Its secrets are
removed from the keyring in both cases, so nothing can sign in with them any more.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inbox.cli.commands import _add, open_store
from inbox.errors import InputError
from inbox.secrets import STORED_SECRET_NAMES, SecretStore


def _account_subparsers(sub: Any) -> Any:
    """The sub-command group under ``account``, created when ``account`` does not exist yet."""
    existing = getattr(sub, "choices", {}).get("account")
    if existing is None:
        existing = _add(sub, "account", _need_subcommand, "accounts")
    for action in existing._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return existing.add_subparsers(dest="account_command")


def register(sub: Any) -> None:
    """Add ``remove`` to the ``account`` command (registered before or after this call)."""
    group = _account_subparsers(sub)
    p = _add(group, "remove", cmd_account_remove, "remove an account (--wipe: and its local data)")
    p.add_argument("id", help="the account id, as 'inbox account list' shows it (CHANNEL:ID)")
    p.add_argument(
        "--wipe",
        action="store_true",
        help="also delete its conversations, messages and queued replies from this computer",
    )


def _need_subcommand(_args: argparse.Namespace) -> int:
    raise InputError("account", "name a sub-command, e.g. 'inbox account remove ID'")


def _keyring() -> SecretStore:
    from inbox.providers.keyring_store import KeyringSecretStore

    return KeyringSecretStore()


def cmd_account_remove(args: argparse.Namespace, secrets: SecretStore | None = None) -> int:
    store = open_store(args)
    try:
        account = store.account(args.id)
        if account is None:
            known = ", ".join(a.id for a in store.accounts(include_removed=True)) or "none"
            raise InputError("account", f"no account '{args.id}' (known: {known})")
        conversations = store._rows(
            "SELECT COUNT(*) AS n FROM conversations WHERE account_id = ?", [account.id]
        )[0]["n"]
        store.remove_account(account.id, wipe=args.wipe)
    finally:
        store.close()
    ring = secrets if secrets is not None else _keyring()
    for name in STORED_SECRET_NAMES:
        try:
            ring.delete(account.id, name)
        except Exception as exc:  # a keyring that cannot delete: say so, the account is gone
            print(
                f"inbox: could not remove the {name} of {account.id} from the keyring ({exc})",
                file=sys.stderr,
            )
            break
    if args.wipe:
        print(
            f"account {account.id} removed; {conversations} conversations wiped from this computer"
        )
    else:
        print(f"account {account.id} removed; its {conversations} conversations are kept")
    return 0
