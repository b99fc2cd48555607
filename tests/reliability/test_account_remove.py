"""``inbox account remove ID [--wipe]``: the account's data goes (with --wipe), others' stays,
and its secrets leave the keyring."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from inbox.cli import account_commands, commands
from inbox.errors import InputError
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from tests.factories import MAILBOX, X, mail, tweet


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inbox")
    p.add_argument("--db", type=Path)
    sub = p.add_subparsers(dest="command")
    commands.register(sub)  # the existing 'account add|list'
    account_commands.register(sub)
    return p


def workspace(path: Path) -> MemorySecretStore:
    store = Store.open(path)
    store.save_account(MAILBOX)
    store.save_account(X)
    store.ingest(MAILBOX, [mail("a@x"), mail("b@x", sender="paul@example.org", subject="Other")])
    store.ingest(X, [tweet("1")])
    store.close()
    secrets = MemorySecretStore()
    secrets.set(MAILBOX.id, "password", "s3cret")
    secrets.set(X.id, "access_token", "AT-x")
    return secrets


def test_remove_with_wipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "inbox.db"
    secrets = workspace(db)
    args = parser().parse_args(["account", "remove", MAILBOX.id, "--wipe", "--db", str(db)])
    assert account_commands.cmd_account_remove(args, secrets) == 0
    assert "2 conversations wiped" in capsys.readouterr().out
    store = Store.open(db)
    assert [a.id for a in store.accounts(include_removed=True)] == [X.id]
    assert {r[0] for r in store._rows("SELECT account_id FROM messages")} == {X.id}
    store.close()
    assert secrets.get(MAILBOX.id, "password") is None and secrets.get(X.id, "access_token")


def test_remove_keeps_history_without_wipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "inbox.db"
    secrets = workspace(db)
    args = parser().parse_args(["account", "remove", MAILBOX.id, "--db", str(db)])
    assert args.handler is account_commands.cmd_account_remove
    assert account_commands.cmd_account_remove(args, secrets) == 0
    assert "kept" in capsys.readouterr().out
    store = Store.open(db)
    assert [a.id for a in store.accounts()] == [X.id]
    assert len(store._rows("SELECT id FROM messages WHERE account_id = ?", [MAILBOX.id])) == 2
    store.close()


def test_unknown_account_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "inbox.db"
    workspace(db)
    args = parser().parse_args(["account", "remove", "email:nobody@x", "--db", str(db)])
    with pytest.raises(InputError, match="no account 'email:nobody@x'"):
        account_commands.cmd_account_remove(args, MemorySecretStore())


def test_existing_account_commands_still_parse(tmp_path: Path) -> None:
    args = parser().parse_args(["account", "list", "--db", str(tmp_path / "x.db")])
    assert args.handler is commands.cmd_account_list
    alone = argparse.ArgumentParser().add_subparsers()
    account_commands.register(alone)  # without 'account add|list' registered first
