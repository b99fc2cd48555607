"""The replica without a server: pages written as the UI reads them, pending intents kept on top
of what the server sends (rebase), a refused reply back in the draft, and the way forward."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inbox.app.team_mode import TeamMode
from inbox.models import QueueFilter, Status
from inbox.secrets import MemorySecretStore
from inbox.store.replica import Replica
from inbox.store.repository import Store
from inbox.team.commands import TeamCommands

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def conversation(cid: int, **over: Any) -> dict[str, Any]:
    row = {
        "id": cid, "channel": "email", "account_id": "email:support@example.com", "surface": "email",
        "subject": f"Order {cid}", "status": "new", "priority": "normal", "priority_source": "auto", "assignee": None,
        "customer_id": 10 + cid, "customer_name": f"Client {cid}", "created_at": "2026-12-04T08:00:00Z",
        "last_message_at": "2026-12-04T08:00:00Z", "last_inbound_at": "2026-12-04T08:00:00Z",
        "last_message_id": 100 + cid, "message_count": 1, "preview": "Where is it?", "noise": False, "score": None,
        "sla_due_at": "2026-12-04T12:00:00Z", "sla_state": "ok", "tags": [], "updated_at": "2026-12-04T08:00:00Z",
    }  # fmt: skip
    return {**row, **over}


def message(mid: int, cid: int, text: str, **over: Any) -> dict[str, Any]:
    row = {
        "id": mid, "conversation_id": cid, "account_id": "email:support@example.com", "provider_id": f"<{mid}@x>",
        "channel": "email", "surface": "email", "direction": "in", "identity_id": None, "author_key": "c",
        "author_name": "Client", "author_handle": "", "author_agent": None, "subject": None, "text": text,
        "html": None, "sent_at": "2026-12-04T08:00:00Z", "reply_to_id": None, "refs": [], "recipients": [],
        "attachments": [], "automated": False, "private": False, "meta": {}, "thread_key": None, "outbox_id": None,
        "outbox_state": None, "lang": None, "sentiment": None,
    }  # fmt: skip
    return {**row, **over}


def page(conversations: list[dict[str, Any]], messages: list[dict[str, Any]], cursor: str, kind: str = "message") -> dict[str, Any]:
    changes = [{"seq": n, "kind": kind, "conversation_id": c["id"], "account_id": c["account_id"], "actor": "x",
                "at": "2026-12-04T08:00:00Z", "payload": {}} for n, c in enumerate(conversations, 1)]  # fmt: skip
    return {"changes": changes, "conversations": conversations, "messages": messages, "customers": [],
            "cursor": cursor, "more": False}  # fmt: skip


@pytest.fixture
def replica(tmp_path: Path) -> Replica:
    store = Store.open(tmp_path / "team.db")
    r = Replica(store)
    r.join(server_url="http://127.0.0.1:1", agent="marc", display_name="Marc", role="agent",
           accounts=["email:support@example.com"], client_id="desktop-test", expires_at=None, now=NOW)  # fmt: skip
    r.apply_page(page([conversation(1), conversation(2)], [message(101, 1, "Where is it?"), message(102, 2, "Hello")], "5.2"), NOW)
    return r


def test_a_page_is_read_as_the_solo_store_is(replica: Replica) -> None:
    store = replica.store
    assert [c.id for c in store.queue(QueueFilter(statuses=frozenset(Status)))] == [1, 2]
    assert store.conversation(1).customer_name == "Client 1"
    assert [m.text for m in store.messages(1)] == ["Where is it?"]
    assert store.search_conversation_ids("hello") == (2,)
    state = replica.state()
    assert state is not None and state.cursor == "5.2"


def test_pending_intents_stay_on_top_of_what_the_server_sends(replica: Replica) -> None:
    commands = TeamCommands(replica, clock=lambda: NOW)
    commands.set_status(1, Status.SOLVED)
    commands.tag_add(1, "refund")
    seq = commands.reply(1, "On its way")
    store = replica.store
    assert store.conversation(1).status is Status.SOLVED
    provisional = [m for m in store.messages(1) if m.id < 0]
    assert [(m.id, m.text, m.outbox_state.value if m.outbox_state else None) for m in provisional] == [(-seq, "On its way", "queued")]
    # The server's older view of conversation 1 arrives before the intents are answered.
    replica.apply_page(page([conversation(1, status="open", tags=["late"])], [], "6.1"), NOW)
    assert store.conversation(1).status is Status.SOLVED  # rebased: the agent's change still shows
    assert set(store.conversation(1).tags) == {"late", "refund"}
    assert any(m.id == -seq for m in store.messages(1))


def test_a_refused_reply_goes_back_to_the_draft_with_its_way_forward(replica: Replica) -> None:
    commands = TeamCommands(replica, clock=lambda: NOW)
    seq = commands.reply(1, "On its way")
    arrived = message(103, 1, "Lea answered", direction="out", author_agent="lea")
    replica.settle(seq, 409, {"status": 409, "detail": "1 message(s) or note(s) arrived since message 101; nothing was sent",
                              "new_messages": [arrived]}, NOW)  # fmt: skip
    store = replica.store
    assert all(m.id != -seq for m in store.messages(1))
    assert store.draft(1) == "On its way"
    assert [r.seq for r in replica.rejections()] == [seq]
    team = TeamMode(store, MemorySecretStore(), clock=lambda: NOW)
    assert team.edit(seq) == (1, "On its way")
    assert replica.rejections() == []
    assert store.draft(1) == "On its way"  # Edit keeps the text for the agent to change


def test_send_anyway_and_discard(replica: Replica) -> None:
    store = replica.store
    team = TeamMode(store, MemorySecretStore(), clock=lambda: NOW)
    first = team.commands.reply(1, "On its way")
    replica.settle(first, 409, {"detail": "stale", "new_messages": [message(103, 1, "Lea answered", author_agent="lea")]}, NOW)
    team.send_anyway(first)
    team.writer.submit(lambda _store: None).result()  # queued on the writer thread, in order
    again = replica.pending()
    assert [(q.kind, q.body["text"], q.body["seen_message_id"]) for q in again] == [("reply", "On its way", 103)]
    assert store.draft(1) == ""
    second = team.commands.reply(2, "Hello to you")
    replica.settle(second, 409, {"detail": "stale", "new_messages": []}, NOW)
    assert store.draft(2) == "Hello to you"
    team.dismiss(second)  # "Discard"
    assert store.draft(2) == ""
    assert [r.seq for r in replica.rejections()] == []
    team.writer.close()


def test_a_conversation_the_agent_may_no_longer_see_is_removed_with_its_draft_kept(replica: Replica) -> None:
    store = replica.store
    store.save_draft(2, "half written", NOW)
    changes = page([conversation(1)], [], "7.1")
    changes["changes"].append({"seq": 9, "kind": "conversation", "conversation_id": 2, "account_id": None, "actor": "",
                               "at": "2026-12-04T08:00:00Z", "payload": {}})  # fmt: skip
    applied = replica.apply_page(changes, NOW)
    assert applied.removed == frozenset({2})
    assert replica.conversation_ids() == [1]
    assert replica.kept_drafts() == {2: "half written"}


def test_the_servers_event_log_replaces_the_replicas(replica: Replica) -> None:
    events = [
        {"id": 7, "conversation_id": 1, "kind": "message_in", "at": "2026-12-04T08:00:00Z", "actor": "", "value": ""},
        {"id": 9, "conversation_id": 1, "kind": "status", "at": "2026-12-04T08:30:00Z", "actor": "lea", "value": "pending"},
    ]
    replica.apply_page({**page([conversation(1, status="pending")], [], "8.1", kind="status"), "events": events}, NOW)
    history = replica.store.events(1)
    assert [(e.kind.value, e.actor, e.value) for e in history] == [("message_in", "", ""), ("status", "lea", "pending")]
    assert replica.store.conversation(1).status is Status.PENDING
