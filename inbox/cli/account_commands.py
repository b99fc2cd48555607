"""Accounts' secrets and removal: what ``inbox account add`` asks for, ``inbox account remove``.

``inbox account add`` asks for each secret field of the account's provider on a terminal
(hidden input), or reads the one secret from stdin with ``--password-stdin``, and puts it in
the keyring (service ``inbox``, key ``<account id>:<field>``); secrets never go through the
command line, the database or the output.

``inbox account remove ID [--wipe]``: forget an account, and with ``--wipe`` its local data.

Without ``--wipe`` the account stops syncing and disappears from lists, but its conversations
stay readable (history is evidence). With ``--wipe`` its conversations, messages and queued
replies are deleted from this computer; other accounts' data is untouched. Its secrets are
removed from the keyring in both cases, so nothing can sign in with them any more.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any, TextIO

from inbox.cli.commands import _add, open_store
from inbox.errors import InputError
from inbox.models import Account
from inbox.providers.registry import provider_info, provider_kind
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


def secret_names(account: Account) -> list[str]:
    """Every secret field name of the account's provider (to refuse them in ``--set``)."""
    return [f.name for f in provider_info(provider_kind(account)).fields if f.secret]


def ask_secrets(
    account: Account,
    *,
    password_stdin: bool,
    stdin: TextIO | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> dict[str, str]:
    """The secrets of a new account, by field name: each secret field its provider uses with
    these settings, asked for on a terminal (``ask``: hidden input), or the single one read
    from ``stdin`` with ``password_stdin``. Optional fields may be left empty (skipped)."""
    stdin = stdin if stdin is not None else sys.stdin
    info = provider_info(provider_kind(account))
    fields = info.secret_fields(account.settings)
    if password_stdin:
        if len(fields) != 1:
            names = ", ".join(f.name for f in fields)
            what = f"{len(fields)} secrets ({names})" if fields else "no secret"
            raise InputError(
                "--password-stdin",
                f"a {info.display_name} account with these settings has {what}; --password-stdin "
                "reads exactly one. Run 'inbox account add' on a terminal to be asked for each",
            )
        value = stdin.read()
        value = value.removesuffix("\n").removesuffix("\r")
        if not value:
            raise InputError("--password-stdin", f"stdin held no {fields[0].label.lower()}")
        return {fields[0].name: value}
    if not fields:
        return {}
    if not stdin.isatty():
        names = ", ".join(f.name for f in fields)
        print(
            f"inbox: no terminal to ask for the secrets of {account.id} ({names}); give the "
            f"{fields[0].name} with --password-stdin, or store them with "
            f"'keyring set inbox {account.id}:NAME'",
            file=sys.stderr,
        )
        return {}
    answers: dict[str, str] = {}
    for f in fields:
        skip = "" if f.required else " (Enter to skip)"
        value = ask(f"{f.label} for {account.id}{skip}: ")
        if value:
            answers[f.name] = value
        elif f.required:
            raise InputError(f.name, "is needed; the account was not saved")
    return answers


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
        conversations = store.account_conversation_count(account.id)
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
