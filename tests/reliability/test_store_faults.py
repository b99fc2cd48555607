"""The store under a full disk, a read-only file and an older schema: clear words, nothing lost."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from inbox.errors import StoreError
from inbox.models import Account, Channel, QueueFilter
from inbox.store.database import connect, to_db_time
from inbox.store.repository import Store
from inbox.store.schema import MIGRATIONS
from inbox.sync.service import AccountState, SyncService
from tests.factories import MAILBOX, T0, X, mail, tweet
from tests.reliability import figures
from tests.reliability.fakes import FakeClock, PagedProvider


def _ids(store: Store) -> set[str]:
    return {r["provider_id"] for r in store._rows("SELECT provider_id FROM messages")}


def _fill_disk(store: Store) -> None:
    """Let the file grow by no page from now on (as a full disk does)."""
    pages = store._rows("PRAGMA page_count")[0][0]
    store._rows(f"PRAGMA max_page_count = {int(pages)}")


def test_a_full_disk_says_so_and_keeps_what_was_stored(tmp_path: Path) -> None:
    db = tmp_path / "inbox.db"
    store = Store.open(db)
    store.save_account(MAILBOX)
    kept = [mail(f"kept{i}@x", sender=f"c{i}@example.org", minutes=i) for i in range(20)]
    store.ingest(MAILBOX, kept, cursor="20")
    _fill_disk(store)
    big = [
        mail(f"new{i}@x", sender=f"n{i}@example.org", text="long text " * 2000, minutes=30 + i)
        for i in range(50)
    ]
    with pytest.raises(StoreError) as caught:
        store.ingest(MAILBOX, big, cursor="70")
    message = str(caught.value)
    assert "is full" in message and "nothing stored was lost" in message
    assert str(db) in message
    store.close()

    again = Store.open(db)  # space "freed": a new connection has no page limit
    assert again.integrity_check() == "ok"
    assert _ids(again) == {m.provider_id for m in kept}  # all or nothing: no half batch
    assert again.cursor(MAILBOX.id) == "20"  # the cursor did not move past unstored mail
    assert again.count(QueueFilter()) == 20
    again.close()
    figures.add("store_faults_injected", 1)


def test_sync_on_a_full_disk_is_an_error_state_then_fetches_the_page_again(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(MAILBOX)
    pages = [
        [
            mail(f"p{p}m{i}@x", sender=f"s{i}@example.org", text="body " * 3000, minutes=p * 10 + i)
            for i in range(10)
        ]
        for p in range(3)
    ]
    provider = PagedProvider(MAILBOX, pages)
    clock = FakeClock()
    service = SyncService(store, [provider], clock=clock.now, sleep=clock.sleep, random=lambda: 0.5)

    _fill_disk(store)
    status = asyncio.run(service.sync_account(MAILBOX.id))
    assert status.state is AccountState.ERROR and "is full" in status.reason
    assert store.cursor(MAILBOX.id) is None and _ids(store) == set()

    store._rows("PRAGMA max_page_count = 1073741823")  # the user freed some space
    status = asyncio.run(service.sync_account(MAILBOX.id))
    assert status.state is AccountState.UP_TO_DATE
    assert _ids(store) == {m.provider_id for page in pages for m in page}
    assert store.integrity_check() == "ok"
    store.close()
    figures.add("store_faults_injected", 1)


def test_a_read_only_store_says_so_and_keeps_its_data(tmp_path: Path) -> None:
    db = tmp_path / "inbox.db"
    store = Store.open(db)
    store.save_account(X)
    store.ingest(X, [tweet("1"), tweet("2", minutes=1, conv="1", reply_to="1")])
    store.close()

    readonly = Store(connect(db, readonly=True), str(db))
    assert len(readonly.queue(QueueFilter())) == 1  # reading still works
    with pytest.raises(StoreError) as caught:
        readonly.ingest(X, [tweet("3", minutes=2)])
    assert "read-only" in str(caught.value) and "nothing stored was lost" in str(caught.value)
    readonly.close()

    store = Store.open(db)
    assert _ids(store) == {"1", "2"} and store.integrity_check() == "ok"
    store._rows("PRAGMA query_only = ON")  # read-only for this connection, as a locked-down file
    [cid] = store.open_conversation_ids()
    with pytest.raises(StoreError, match="read-only"):
        store.add_tag(cid, "vip", T0, "cli")
    store.close()
    figures.add("store_faults_injected", 2)


def test_a_store_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.open(blocker / "inbox.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged|not a database"):
        Store.open(garbage)
    assert garbage.read_bytes() == b"this is not sqlite" * 100  # never overwritten
    figures.add("store_faults_injected", 2)


def test_a_store_from_the_first_version_migrates_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    MIGRATIONS.apply(old, stop_before="0002_workspace_features")
    assert [m.name for m in MIGRATIONS.applied(old)] == ["0001_initial"]
    when = to_db_time(T0)
    old.execute(
        "INSERT INTO accounts (id, channel, name, own_keys, settings, created_at, cursor) "
        "VALUES (?,?,?,?,?,?,?)",
        [MAILBOX.id, "email", "Support", json.dumps(sorted(MAILBOX.own_keys)), "{}", when, "c-1"],
    )
    old.execute(
        "INSERT INTO customers (id, display_name, created_at) VALUES (1, 'Léa Martin', ?)", [when]
    )
    old.execute(
        "INSERT INTO conversations (id, channel, account_id, subject, customer_id, created_at, "
        "last_message_at, last_inbound_at, message_count, preview) "
        "VALUES (1, 'email', ?, 'Broken parcel', 1, ?, ?, ?, 1, 'My parcel')",
        [MAILBOX.id, when, when, when],
    )
    old.execute(
        "INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, "
        "direction, author_key, author_name, subject, text, sent_at) "
        "VALUES (?, 'old@x', 1, 'email', 'email', 'in', 'lea@example.fr', 'Léa Martin', "
        "'Broken parcel', 'My parcel arrived broken', ?)",
        [MAILBOX.id, when],
    )
    old.execute("INSERT INTO thread_keys (key, conversation_id) VALUES ('mid:old@x', 1)")
    old.execute(
        "INSERT INTO events (conversation_id, kind, at, value) VALUES (1, 'message_in', ?, '')",
        [when],
    )
    old.conn.commit()
    old.conn.close()

    store = Store.open(path)
    newest = [m.name for m in MIGRATIONS.pending(Database(memory=True))][-1]
    assert [m.name for m in MIGRATIONS.applied(store.db)][-1] == newest
    assert store.integrity_check() == "ok"
    [conversation] = store.queue(QueueFilter())
    assert conversation.subject == "Broken parcel"
    [message] = store.messages(conversation.id)
    assert message.text == "My parcel arrived broken" and message.author_name == "Léa Martin"
    assert [hit.conversation_id for hit in store.search("parcel")] == [1]
    assert store.cursor(MAILBOX.id) == "c-1"
    # the migrated store takes new data on the old rows
    store.ingest(MAILBOX, [mail("new@x", refs=("old@x",), reply_to="old@x", minutes=5)])
    assert len(store.messages(conversation.id)) == 2
    store.close()


def test_wiping_an_account_removes_its_data_and_nothing_else(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")
    other = Account(
        "email:sales@shop.example", Channel.EMAIL, "Sales", frozenset({"sales@shop.example"})
    )
    for account in (MAILBOX, X, other):
        store.save_account(account)
    store.ingest(MAILBOX, [mail("a@x", minutes=0), mail("b@x", refs=("a@x",), minutes=1)])
    store.ingest(MAILBOX, [mail("c@x", sender="paul@example.org", subject="Other", minutes=2)])
    store.ingest(X, [tweet("10"), tweet("11", minutes=3)])
    store.ingest(other, [mail("s@x", sender="lea@example.fr", subject="Quote", minutes=4)])
    before_x = {
        r["provider_id"]
        for r in store._rows("SELECT provider_id FROM messages WHERE account_id = ?", [X.id])
    }
    kept_conversations = {
        r["id"]
        for r in store._rows("SELECT id FROM conversations WHERE account_id != ?", [MAILBOX.id])
    }

    store.remove_account(MAILBOX.id, wipe=True)

    assert store.account(MAILBOX.id) is None
    left = store._rows("SELECT account_id, provider_id FROM messages")
    assert {r["account_id"] for r in left} == {X.id, other.id}
    assert {r["provider_id"] for r in left if r["account_id"] == X.id} == before_x
    assert {r["id"] for r in store._rows("SELECT id FROM conversations")} == kept_conversations
    assert {h.conversation_id for h in store.search("Hello")} <= kept_conversations
    assert [h.conversation_id for h in store.search("Quote")] != []
    orphans = store._rows(
        "SELECT COUNT(*) FROM events WHERE conversation_id NOT IN (SELECT id FROM conversations)"
    )
    assert orphans[0][0] == 0
    assert store.integrity_check() == "ok"
    assert store._rows("PRAGMA foreign_key_check") == []
    store.close()


def test_removing_without_wipe_keeps_the_history(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(MAILBOX)
    store.ingest(MAILBOX, [mail("a@x")])
    store.remove_account(MAILBOX.id)
    assert store.accounts() == [] and len(store.queue(QueueFilter())) == 1
    store.close()
