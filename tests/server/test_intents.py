"""Intents from desktops: applied once per (client_id, seq), with the conflict rules of TEAM_MODE.md."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from inbox.replies.subject import reply_subject
from tests.server.conftest import (
    Api,
    ServerProcess,
    Thread,
    add_account,
    add_agent,
    add_conversation,
    customer_message,
    sql,
)

ACCOUNT = "email:support@brioche.example"
OTHER = "twitter:1500000000000000001"


@pytest.fixture
def desk(pg_dsn: str, server: ServerProcess) -> tuple[Api, Api, Thread]:
    """Léa and Marc, both members of the support mailbox, and one conversation in it."""
    add_account(pg_dsn, ACCOUNT)
    add_account(pg_dsn, OTHER)
    add_agent(pg_dsn, "lea", role="lead", accounts=(ACCOUNT, OTHER))
    add_agent(pg_dsn, "marc", accounts=(ACCOUNT,))
    thread = add_conversation(pg_dsn, ACCOUNT, subject="Gâteau abîmé", text="Le fraisier est arrivé écrasé.")
    return Api.sign_in(server, "lea"), Api.sign_in(server, "marc"), thread


def _reply(
    thread: Thread, text: str = "Bonjour Léa, nous sommes désolés.", seen: int | None = None
) -> dict[str, object]:
    return {"type": "reply", "conversation_id": thread.conversation_id, "text": text,
            "seen_message_id": thread.message_id if seen is None else seen}  # fmt: skip


def test_a_reply_is_queued_once_with_a_stable_message_id(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, thread = desk
    with psycopg.connect(pg_dsn, autocommit=True) as listener:
        listener.execute("LISTEN inbox_outbox")
        first = lea.intent(_reply(thread), seq=1)
        assert first.status_code == 200, first.text
        woken = [n.payload for n in listener.notifies(timeout=30, stop_after=1)]
    assert woken == [ACCOUNT]  # the sender holding the account's lease is woken at once
    body = first.json()
    assert body["outbox"]["state"] == "queued" and body["message"]["author_agent"] == "lea"
    assert body["message"]["reply_to_id"].endswith("@email.example>")  # answers the customer's message
    again = lea.intent(_reply(thread), seq=1)  # the desktop did not see the answer and retries
    assert again.status_code == 200 and again.headers["inbox-replayed"] == "true"
    assert again.json() == body
    outbox = sql(pg_dsn, "SELECT idempotency_key, message_id, created_by, state FROM outbox")
    assert len(outbox) == 1 and outbox[0]["created_by"] == "lea"
    assert outbox[0]["message_id"] == body["outbox"]["message_id"]
    assert outbox[0]["message_id"].startswith("<") and outbox[0]["message_id"].endswith("@brioche.example>")
    assert sql(pg_dsn, "SELECT count(*) AS n FROM messages WHERE direction = 'out'")[0]["n"] == 1
    changes = sql(pg_dsn, "SELECT kind, actor, payload FROM change_log WHERE kind = 'reply'")
    assert changes == [{"kind": "reply", "actor": "lea", "payload": {"message_ids": [body["message"]["id"]]}}]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Gâteau abîmé", "Re: Gâteau abîmé"), ("Re: Gâteau abîmé", "Re: Gâteau abîmé"),
     ("AW: Kuchen kaputt", "AW: Kuchen kaputt"), ("", reply_subject(""))],
)  # fmt: skip
def test_a_reply_subject_follows_the_one_rule(
    pg_dsn: str, server: ServerProcess, subject: str, expected: str
) -> None:
    add_account(pg_dsn, ACCOUNT)
    add_agent(pg_dsn, "lea", accounts=(ACCOUNT,))
    thread = add_conversation(pg_dsn, ACCOUNT, subject=subject)
    answer = Api.sign_in(server, "lea").intent(_reply(thread))
    assert answer.status_code == 200, answer.text
    [outbox] = sql(pg_dsn, "SELECT target FROM outbox")
    [message] = sql(pg_dsn, "SELECT subject FROM messages WHERE direction = 'out'")
    assert outbox["target"]["subject"] == message["subject"] == expected


def test_the_same_intent_sent_twice_at_once_applies_once(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, thread = desk
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: lea.intent(_reply(thread), seq=7), range(4)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["outbox"]["id"] for a in answers}) == 1
    assert sql(pg_dsn, "SELECT count(*) AS n FROM outbox")[0]["n"] == 1


def test_a_customer_message_since_the_draft_stops_the_reply(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, thread = desk
    newer = customer_message(pg_dsn, ACCOUNT, thread, "Et en plus il manque les bougies !")
    answer = lea.intent(_reply(thread))
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"].endswith("/stale") and problem["status"] == 409
    assert [m["id"] for m in problem["new_messages"]] == [newer]
    assert problem["new_messages"][0]["text"] == "Et en plus il manque les bougies !"
    assert sql(pg_dsn, "SELECT count(*) AS n FROM outbox")[0]["n"] == 0
    sent = lea.intent(_reply(thread, seen=newer))  # "Send anyway" after reading it
    assert sent.status_code == 200, sent.text


def test_two_agents_replying_to_the_same_message_the_second_is_stopped(
    pg_dsn: str, desk: tuple[Api, Api, Thread]
) -> None:
    lea, marc, thread = desk
    assert lea.intent(_reply(thread, "Léa répond")).status_code == 200
    second = marc.intent(_reply(thread, "Marc répond aussi"))
    assert second.status_code == 409
    assert [m["text"] for m in second.json()["new_messages"]] == ["Léa répond"]
    assert [r["created_by"] for r in sql(pg_dsn, "SELECT created_by FROM outbox")] == ["lea"]


def test_a_note_since_the_draft_stops_the_reply_too(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, thread = desk
    note = marc.intent({"type": "note", "conversation_id": thread.conversation_id, "text": "Client déjà remboursé"})
    assert note.status_code == 200 and note.json()["message"]["private"] is True
    stopped = lea.intent(_reply(thread))
    assert stopped.status_code == 409
    assert [m["text"] for m in stopped.json()["new_messages"]] == ["Client déjà remboursé"]


def test_assign_is_compare_and_set(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, thread = desk
    cid = thread.conversation_id
    took = lea.intent({"type": "assign", "conversation_id": cid, "expected_assignee": None, "assignee": "lea"})
    assert took.status_code == 200 and took.json()["conversation"]["assignee"] == "lea"
    late = marc.intent({"type": "assign", "conversation_id": cid, "expected_assignee": None, "assignee": "marc"})
    assert late.status_code == 409 and late.json()["current_assignee"] == "lea"
    handed = marc.intent({"type": "assign", "conversation_id": cid, "expected_assignee": "lea", "assignee": "marc"})
    assert handed.status_code == 200 and handed.json()["conversation"]["assignee"] == "marc"
    events = sql(pg_dsn, "SELECT actor, value FROM events WHERE kind = 'assigned' ORDER BY id")
    assert events == [{"actor": "lea", "value": "lea"}, {"actor": "marc", "value": "marc"}]


def test_assign_to_someone_outside_the_account_names_the_field(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, _ = desk
    add_agent(pg_dsn, "yanis", accounts=(OTHER,))
    thread = add_conversation(pg_dsn, ACCOUNT, author="hugo@example.fr", name="Hugo")
    answer = lea.intent({"type": "assign", "conversation_id": thread.conversation_id, "expected_assignee": None,
                         "assignee": "yanis"})  # fmt: skip
    assert answer.status_code == 422 and answer.json()["field"] == "intent.assignee"


def test_status_last_writer_wins_and_the_server_stamps_the_actor(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, thread = desk
    cid = thread.conversation_id
    assert lea.intent({"type": "status", "conversation_id": cid, "status": "pending"}).status_code == 200
    # An "actor" in the body is not trusted: the session says who acts.
    last = marc.client.post("/v1/intents", json={"client_id": "marc-desk", "seq": 1, "actor": "lea",
                                                 "intent": {"type": "status", "conversation_id": cid, "status": "solved"}})  # fmt: skip
    assert last.status_code == 200 and last.json()["conversation"]["status"] == "solved"
    assert sql(pg_dsn, "SELECT status FROM conversations WHERE id = %s", [cid])[0]["status"] == "solved"
    events = sql(pg_dsn, "SELECT actor, value FROM events WHERE kind = 'status' ORDER BY id")
    assert events == [{"actor": "lea", "value": "pending"}, {"actor": "marc", "value": "solved"}]


def test_tags_are_operations_never_a_whole_list(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, thread = desk
    cid = thread.conversation_id
    assert lea.intent({"type": "tag_add", "conversation_id": cid, "tag": "livraison"}).status_code == 200
    assert marc.intent({"type": "tag_add", "conversation_id": cid, "tag": "remboursement"}).status_code == 200
    assert lea.intent({"type": "tag_add", "conversation_id": cid, "tag": "livraison"}).status_code == 200  # no-op
    removed = marc.intent({"type": "tag_remove", "conversation_id": cid, "tag": "remboursement"})
    assert removed.json()["conversation"]["tags"] == ["livraison"]
    assert lea.intent({"type": "tag_add", "conversation_id": cid, "tag": "allergènes"}).json()["conversation"][
        "tags"] == ["allergènes", "livraison"]  # fmt: skip
    kinds = sql(pg_dsn, "SELECT kind, value FROM events WHERE kind LIKE 'tag%%' ORDER BY id")
    assert [k["kind"] for k in kinds] == ["tag_added", "tag_added", "tag_removed", "tag_added"]


def test_priority_is_set_by_a_person(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, thread = desk
    answer = lea.intent({"type": "priority", "conversation_id": thread.conversation_id, "priority": "urgent"})
    assert answer.json()["conversation"]["priority"] == "urgent"
    assert answer.json()["conversation"]["priority_source"] == "manual"
    bad = lea.intent({"type": "priority", "conversation_id": thread.conversation_id, "priority": "très"})
    assert bad.status_code == 422 and bad.json()["field"] == "intent.priority"


def test_a_refused_intent_is_answered_the_same_on_retry_and_blocks_nothing(
    pg_dsn: str, desk: tuple[Api, Api, Thread]
) -> None:
    lea, marc, thread = desk
    cid = thread.conversation_id
    assert lea.intent({"type": "assign", "conversation_id": cid, "expected_assignee": None, "assignee": "lea"},
                      seq=1).status_code == 200  # fmt: skip
    refused = marc.intent({"type": "assign", "conversation_id": cid, "expected_assignee": None, "assignee": "marc"},
                          seq=1)  # fmt: skip
    assert refused.status_code == 409
    lea.intent({"type": "assign", "conversation_id": cid, "expected_assignee": "lea", "assignee": None}, seq=2)
    retried = marc.intent({"type": "assign", "conversation_id": cid, "expected_assignee": None, "assignee": "marc"},
                          seq=1)  # fmt: skip
    assert retried.status_code == 409 and retried.json() == refused.json()  # the recorded answer, not a re-run
    after = marc.intent({"type": "tag_add", "conversation_id": cid, "tag": "vu"}, seq=2)
    assert after.status_code == 200


def test_an_offline_desktop_pushes_its_queue_twice_and_each_intent_applies_once(
    pg_dsn: str, desk: tuple[Api, Api, Thread]
) -> None:
    lea, _, thread = desk
    cid = thread.conversation_id
    queued = [
        {"type": "tag_add", "conversation_id": cid, "tag": "livraison"},
        {"type": "note", "conversation_id": cid, "text": "Appelé la cliente"},
        {"type": "status", "conversation_id": cid, "status": "pending"},
        {"type": "priority", "conversation_id": cid, "priority": "high"},
    ]
    first = [lea.intent(intent, seq=n) for n, intent in enumerate(queued, start=1)]
    second = [lea.intent(intent, seq=n) for n, intent in enumerate(queued, start=1)]  # reconnect: pushed again
    assert [a.json() for a in first] == [a.json() for a in second]
    assert sql(pg_dsn, "SELECT count(*) AS n FROM messages WHERE private")[0]["n"] == 1
    assert sql(pg_dsn, "SELECT count(*) AS n FROM events WHERE actor = 'lea'")[0]["n"] == 4
    assert sql(pg_dsn, "SELECT last_seq FROM client_intents WHERE client_id = %s", [lea.client_id])[0]["last_seq"] == 4


def test_a_client_id_belongs_to_one_agent(desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, thread = desk
    lea.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": "a"}, seq=1)
    stolen = marc.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": "b"}, seq=2,
                         client_id=lea.client_id)  # fmt: skip
    assert stolen.status_code == 403 and stolen.json()["field"] == "client_id"


def test_link_unlink_and_merge_move_conversations_with_the_customer(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, thread = desk
    tweet = add_conversation(pg_dsn, OTHER, author="4242", name="Léa M.", text="@BriocheCo toujours rien reçu")
    linked = lea.intent({"type": "identity_link", "identity_id": tweet.identity_id, "customer_id": thread.customer_id})
    assert linked.status_code == 200, linked.text
    owners = sql(pg_dsn, "SELECT customer_id FROM conversations WHERE id = %s", [tweet.conversation_id])
    assert owners == [{"customer_id": thread.customer_id}]
    assert sql(pg_dsn, "SELECT count(*) AS n FROM customers WHERE id = %s", [tweet.customer_id])[0]["n"] == 0
    unlinked = lea.intent({"type": "identity_unlink", "identity_id": tweet.identity_id})
    new_customer = unlinked.json()["customer_id"]
    assert new_customer != thread.customer_id
    owners = sql(pg_dsn, "SELECT customer_id FROM conversations WHERE id = %s", [tweet.conversation_id])
    assert owners == [{"customer_id": new_customer}]
    merged = lea.intent(
        {"type": "identity_merge", "customer_id": thread.customer_id, "other_customer_id": new_customer}
    )
    assert merged.status_code == 200
    rows = sql(pg_dsn, "SELECT DISTINCT customer_id FROM conversations")
    assert rows == [{"customer_id": thread.customer_id}]
    kinds = sql(pg_dsn, "SELECT DISTINCT kind FROM change_log WHERE kind LIKE 'identity%%' ORDER BY kind")
    assert [k["kind"] for k in kinds] == ["identity_link", "identity_merge", "identity_unlink"]


def test_identity_changes_that_touch_an_account_of_someone_else_are_403(
    pg_dsn: str, desk: tuple[Api, Api, Thread]
) -> None:
    _, marc, thread = desk  # marc is a member of the mailbox only
    tweet = add_conversation(pg_dsn, OTHER, author="4242", name="Léa M.")
    answer = marc.intent({"type": "identity_link", "identity_id": tweet.identity_id, "customer_id": thread.customer_id})
    assert answer.status_code == 403 and answer.json()["account_id"] == OTHER
    assert sql(pg_dsn, "SELECT customer_id FROM identities WHERE id = %s", [tweet.identity_id]) == [
        {"customer_id": tweet.customer_id}
    ]
