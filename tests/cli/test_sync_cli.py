"""The ``sync``, ``outbox`` and ``reply`` commands, the provider registry and the keyring store."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from inbox.cli import sync_commands
from inbox.errors import AuthError, InputError
from inbox.models import Account, Channel, OutboxState, Status
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.providers.registry import build_provider, provider_kind
from inbox.providers.webform.provider import WebformProvider
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from tests.cli.only import run_only
from tests.sync.test_service import MAILBOX, FakeProvider, mail, page


def cli(*argv: str) -> int:
    """Like ``inbox.cli.main`` with only these commands registered."""
    return run_only(sync_commands.register, *argv)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "inbox.db"
    store = Store.open(path)
    store.save_account(MAILBOX)
    store.ingest(MAILBOX, [mail(1)])
    store.close()
    yield path


def conversation_id(path: Path) -> int:
    store = Store.open(path)
    try:
        return store.open_conversation_ids()[0]
    finally:
        store.close()


def test_reply_queues_and_prints_the_outbox_id(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = conversation_id(db)
    assert (
        cli("reply", str(cid), "--text", "On its way", "--status", "pending", "--db", str(db)) == 0
    )
    item_id = capsys.readouterr().out.strip()
    assert item_id.startswith("inbox.") and item_id.endswith("@shop.test")
    assert cli("outbox", "--json", "--db", str(db)) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["state"], row["conversation_id"]) == (item_id, "queued", cid)
    store = Store.open(db)
    assert store.conversation(cid).status is Status.PENDING
    store.close()


def test_a_note_is_stored_but_not_queued(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cid = conversation_id(db)
    assert cli("reply", str(cid), "--text", "call her back", "--note", "--db", str(db)) == 0
    assert cli("outbox", "--json", "--db", str(db)) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli("reply", "4242", "--text", "x", "--db", str(db)) == 2  # unknown conversation
    assert "no conversation with id 4242" in capsys.readouterr().out


def test_sync_once_fetches_sends_and_reports_states(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = conversation_id(db)
    cli("reply", str(cid), "--text", "On its way", "--db", str(db))
    item_id = capsys.readouterr().out.strip()
    fake = FakeProvider(MAILBOX, [page(mail(2), cursor="c1", more=True), page(cursor="c2")])
    store = Store.open(db)
    code = asyncio.run(
        sync_commands.run_sync(
            store, once=True, secrets=MemorySecretStore(), factories={"imap": lambda a, s, h: fake}
        )
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "up_to_date" in out and "outbox: 1 sent" in out
    assert fake.cursors == [None, "c1"] and [d.local_id for d in fake.sent] == [item_id]
    assert store.outbox_item(item_id).state is OutboxState.SENT  # type: ignore[union-attr]
    store.close()


def test_sync_once_exits_non_zero_when_an_account_needs_sign_in(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeProvider(MAILBOX, [AuthError("IMAP: sign-in refused (AUTHENTICATIONFAILED)")])
    store = Store.open(db)
    code = asyncio.run(
        sync_commands.run_sync(
            store, once=True, secrets=MemorySecretStore(), factories={"imap": lambda a, s, h: fake}
        )
    )
    assert code == 1
    assert "needs_sign_in" in capsys.readouterr().out
    assert store.account_state(MAILBOX.id)[0] == "needs_sign_in"
    store.close()


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    previous = keyring.get_keyring()
    ring = PlaintextKeyring()
    ring.file_path = str(tmp_path / "keyring.cfg")
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sync_once_with_a_server_down_is_offline_try_again_later(
    tmp_path: Path, file_keyring: PlaintextKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "forms.db"
    store = Store.open(path)
    url = f"http://127.0.0.1:{closed_port()}/submissions"
    store.save_account(Account("webform:c", Channel.WEBFORM, "Contact", settings={"url": url}))
    store.close()
    assert cli("sync", "--once", "--db", str(path)) == sync_commands.EXIT_TRY_LATER == 3
    assert "offline" in capsys.readouterr().out
    store = Store.open(path)
    assert store.account_state("webform:c")[0] == "offline"
    store.close()


def test_uncertain_replies_are_resent_or_dropped(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = conversation_id(db)
    ids = []
    for text in ("first", "second"):
        cli("reply", str(cid), "--text", text, "--db", str(db))
        ids.append(capsys.readouterr().out.strip())
    store = Store.open(db)
    for item_id in ids:
        store.set_outbox_state(item_id, OutboxState.UNCERTAIN, store.outbox_items()[0].created_at)
    store.close()
    assert cli("outbox", "--db", str(db)) == 0
    assert capsys.readouterr().out.count("may have been sent") == 2
    assert cli("outbox", "resend", ids[0].removeprefix("inbox.")[:12], "--db", str(db)) == 0
    assert cli("outbox", "drop", ids[1], "--db", str(db)) == 0
    capsys.readouterr()
    assert cli("outbox", "--json", "--db", str(db)) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["state"]) for r in rows] == [(ids[0], "queued")]


def test_provider_kind_comes_from_settings_or_channel() -> None:
    assert provider_kind(MAILBOX) == "imap"
    x = Account("twitter:1", Channel.TWITTER, "X", settings={"provider": "twitter"})
    assert provider_kind(x) == "x"
    odd = Account("email:a@b", Channel.EMAIL, "A", settings={"provider": "pop3"})
    with pytest.raises(InputError, match="unknown provider 'pop3'"):
        provider_kind(odd)


def test_build_provider_makes_the_connector_of_the_account() -> None:
    form = Account("webform:c", Channel.WEBFORM, "C", settings={"url": "http://127.0.0.1:9/x"})

    async def build() -> object:
        async with httpx.AsyncClient() as http:
            return build_provider(form, MemorySecretStore(), http)

    provider = asyncio.run(build())
    assert isinstance(provider, WebformProvider) and provider.account is form


def test_keyring_store_keeps_secrets_out_of_its_repr(file_keyring: PlaintextKeyring) -> None:
    secrets = KeyringSecretStore()
    secrets.set(MAILBOX.id, "password", "hunter2-secret")
    assert secrets.get(MAILBOX.id, "password") == "hunter2-secret"
    assert keyring.get_password("inbox", f"{MAILBOX.id}:password") == "hunter2-secret"
    assert "hunter2" not in repr(secrets)
    secrets.delete(MAILBOX.id, "password")
    secrets.delete(MAILBOX.id, "password")  # deleting twice is fine
    assert secrets.get(MAILBOX.id, "password") is None
