"""The change log: pulled by cursor without skipping a late commit, filtered by membership, and
pushed as "changed up to N" over the WebSocket of every server process."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.server.conftest import (
    Api,
    ServerProcess,
    add_account,
    add_agent,
    add_conversation,
    customer_message,
    sql,
)

ACCOUNT = "email:support@brioche.example"
OTHER = "facebook:5550001"


def _pull_all(api: Api, cursor: str = "0") -> tuple[list[dict[str, Any]], str]:
    """Every change after ``cursor``, page by page; returns the pages' bodies and the last cursor."""
    pages = []
    while True:
        page = api.get("/v1/changes", after=cursor, limit=2)
        assert page.status_code == 200, page.text
        body = page.json()
        pages.append(body)
        cursor = body["cursor"]
        if not body["more"]:
            return pages, cursor


def _seqs(pages: list[dict[str, Any]]) -> list[int]:
    return [c["seq"] for p in pages for c in p["changes"]]


def _raw_change(conn: psycopg.Connection[Any], conversation_id: int) -> int:
    row = conn.execute(
        "INSERT INTO change_log (kind, conversation_id, account_id) VALUES ('test', %s, %s) RETURNING seq",
        [conversation_id, ACCOUNT],
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def team(pg_dsn: str) -> None:
    add_account(pg_dsn, ACCOUNT)
    add_account(pg_dsn, OTHER)
    add_agent(pg_dsn, "lea", accounts=(ACCOUNT, OTHER))
    add_agent(pg_dsn, "marc", accounts=(ACCOUNT,))


def test_a_pull_brings_the_changed_rows_and_the_cursor_moves_on(pg_dsn: str, team: None, server: ServerProcess) -> None:
    thread = add_conversation(pg_dsn, ACCOUNT, subject="Commande 1042", text="Toujours rien reçu")
    lea = Api.sign_in(server, "lea")
    pages, cursor = _pull_all(lea)
    conversations = {c["id"]: c for p in pages for c in p["conversations"]}
    messages = {m["id"]: m for p in pages for m in p["messages"]}
    assert conversations[thread.conversation_id]["subject"] == "Commande 1042"
    assert messages[thread.message_id]["text"] == "Toujours rien reçu"
    assert any(c["id"] == thread.customer_id for p in pages for c in p["customers"])
    lea.intent({"type": "status", "conversation_id": thread.conversation_id, "status": "pending"})
    lea.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": "livraison"})
    pages, cursor = _pull_all(lea, cursor)
    assert [c["kind"] for p in pages for c in p["changes"]] == ["status", "tag_add"]
    latest = pages[0]  # both changes fit in the first page (limit 2)
    assert latest["conversations"][0]["status"] == "pending" and latest["conversations"][0]["tags"] == ["livraison"]
    assert [(e["kind"], e["value"], e["actor"]) for e in latest["events_added"]] == [
        ("status", "pending", "lea"), ("tag_added", "livraison", "lea")]  # fmt: skip
    assert lea.get("/v1/changes", after=cursor).json()["changes"] == []
    newer = customer_message(pg_dsn, ACCOUNT, thread, "Vous êtes là ?")
    page = lea.get("/v1/changes", after=cursor).json()
    assert [m["id"] for m in page["messages"]] == [newer]
    assert page["conversations"][0]["last_message_id"] == newer


def test_a_pull_brings_only_the_events_and_messages_since_the_cursor(
    pg_dsn: str, team: None, server: ServerProcess
) -> None:
    thread = add_conversation(pg_dsn, ACCOUNT, subject="Commande 1043", text="Colis abîmé")
    lea = Api.sign_in(server, "lea")
    _pages, cursor = _pull_all(lea)
    for n in range(3):
        answer = lea.intent(
            {"type": "status", "conversation_id": thread.conversation_id, "status": ("pending", "open")[n % 2]}
        )
        assert answer.status_code == 200 and answer.json()["change_seqs"], (answer.text, server.output())
    answer = lea.intent({"type": "note", "conversation_id": thread.conversation_id, "text": "Photo demandée"})
    assert answer.status_code == 200, (answer.text, server.output())
    _pages, cursor = _pull_all(lea, cursor)
    lea.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": "casse"})
    page = lea.get("/v1/changes", after=cursor).json()
    assert "events" not in page  # a whole log would tell a replica to replace its own
    assert [c["kind"] for c in page["changes"]] == ["tag_add"]
    assert [(e["kind"], e["value"]) for e in page["events_added"]] == [("tag_added", "casse")]
    assert page["messages"] == [] and [c["tags"] for c in page["conversations"]] == [["casse"]]
    # From the start, every event of the conversation comes (each written with a change).
    everything, _ = _pull_all(lea)
    kinds = [e["kind"] for p in everything for e in p["events_added"]]
    assert kinds == ["status", "status", "status", "note", "tag_added"], (everything, server.output())


def test_pages_follow_the_transactions_order_across_a_power_of_ten(
    pg_dsn: str, team: None, server: ServerProcess
) -> None:
    """Pages are ordered by transaction id as a number: ordered as the text of the cursor, "1000"
    came before "996", so a pull whose changes crossed a power of ten skipped the older ones (CI
    saw a status event missing twice, each time in the 21st database of a worker)."""
    thread = add_conversation(pg_dsn, ACCOUNT)
    lea = Api.sign_in(server, "lea")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:

        def next_xid() -> int:
            row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
            assert row is not None
            return int(row[0])

        xid = next_xid()
        boundary = 10 ** len(str(xid))
        while xid < boundary - 4:  # each autocommit statement is a transaction of its own
            xid = next_xid()
    seqs = []
    for n in range(8):  # transaction ids on both sides of the power of ten
        answer = lea.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": f"t{n}"})
        assert answer.status_code == 200, answer.text
        seqs += answer.json()["change_seqs"]
    xids = [int(r["xid"]) for r in sql(pg_dsn, "SELECT xid::text AS xid FROM change_log WHERE seq = ANY(%s)", [seqs])]
    assert min(xids) < boundary <= max(xids)
    pages, _ = _pull_all(lea)
    pulled = _seqs(pages)
    assert pulled[-len(seqs) :] == seqs and len(pulled) == len(seqs) + 1  # and the conversation's first message
    assert [e["value"] for p in pages for e in p["events_added"]] == [f"t{n}" for n in range(8)]


def test_a_transaction_that_commits_late_is_not_skipped(pg_dsn: str, team: None, server: ServerProcess) -> None:
    thread = add_conversation(pg_dsn, ACCOUNT)
    lea = Api.sign_in(server, "lea")
    _, cursor = _pull_all(lea)
    with psycopg.connect(pg_dsn) as slow, psycopg.connect(pg_dsn, autocommit=True) as quick:
        slow_seq = _raw_change(slow, thread.conversation_id)  # takes its seq first, commits last
        quick_seq = _raw_change(quick, thread.conversation_id)
        assert quick_seq > slow_seq
        pages, held = _pull_all(lea, cursor)
        assert _seqs(pages) == []  # the newer row waits behind the older, unfinished transaction
        slow.commit()
    pages, last = _pull_all(lea, held)
    assert sorted(_seqs(pages)) == [slow_seq, quick_seq]
    assert _pull_all(lea, last)[0][0]["changes"] == []


def test_a_lower_seq_of_a_newer_transaction_is_not_skipped(pg_dsn: str, team: None, server: ServerProcess) -> None:
    """A takes its xid first, B second; B takes the lower seq, A commits first with the higher one.
    Ordered by seq alone, a pull would hand out A's seq, move the cursor past B's and skip it."""
    thread = add_conversation(pg_dsn, ACCOUNT)
    lea = Api.sign_in(server, "lea")
    _, cursor = _pull_all(lea)
    with psycopg.connect(pg_dsn) as a, psycopg.connect(pg_dsn) as b:
        a.execute("SELECT pg_current_xact_id()")
        b.execute("SELECT pg_current_xact_id()")
        seq_b = _raw_change(b, thread.conversation_id)
        seq_a = _raw_change(a, thread.conversation_id)
        assert seq_b < seq_a
        a.commit()
        pages, cursor = _pull_all(lea, cursor)
        seen = _seqs(pages)
        assert seq_b not in seen
        b.commit()
    pages, _ = _pull_all(lea, cursor)
    assert sorted(seen + _seqs(pages)) == [seq_b, seq_a]


def test_pulls_show_only_the_accounts_one_is_a_member_of(pg_dsn: str, team: None, server: ServerProcess) -> None:
    mine = add_conversation(pg_dsn, ACCOUNT)
    theirs = add_conversation(pg_dsn, OTHER, author="1234", name="Hugo", text="Message privé Messenger")
    marc = Api.sign_in(server, "marc")
    pages, _ = _pull_all(marc)
    assert {c["conversation_id"] for p in pages for c in p["changes"]} == {mine.conversation_id}
    assert all(c["account_id"] == ACCOUNT for p in pages for c in p["conversations"])
    assert all(m["id"] != theirs.message_id for p in pages for m in p["messages"])
    assert "Message privé Messenger" not in json.dumps(pages)


def test_a_bad_cursor_is_a_422_naming_after(team: None, server: ServerProcess) -> None:
    lea = Api.sign_in(server, "lea")
    answer = lea.get("/v1/changes", after="12; DROP TABLE change_log")
    assert answer.status_code == 422 and answer.json()["field"] == "after"


def test_a_change_on_one_process_is_pushed_by_every_process(pg_dsn: str, team: None, servers: Any) -> None:
    one, two = servers(), servers()
    thread = add_conversation(pg_dsn, ACCOUNT)
    lea, marc = Api.sign_in(one, "lea"), Api.sign_in(two, "marc")
    with connect(two.ws_url, additional_headers={"Authorization": f"Bearer {marc.token}"}) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        answer = lea.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": "livraison"})
        seq = answer.json()["change_seqs"][0]
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "changed" and message["seq"] >= seq:
                break
    page = marc.get("/v1/changes", after="0").json()
    assert any(c["seq"] == seq and c["kind"] == "tag_add" for c in page["changes"])
    assert sql(pg_dsn, "SELECT count(*) AS n FROM change_log WHERE seq = %s", [seq])[0]["n"] == 1


def test_the_websocket_needs_a_session(team: None, server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, additional_headers={"Authorization": "Bearer forged"}).close()
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(server.ws_url).close()


def test_pushes_resume_after_the_listening_connection_is_lost(pg_dsn: str, team: None, server: ServerProcess) -> None:
    thread = add_conversation(pg_dsn, ACCOUNT)
    lea, marc = Api.sign_in(server, "lea"), Api.sign_in(server, "marc")
    with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {marc.token}"}) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        killed = sql(
            pg_dsn,
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'inbox-serve-listen'",
        )
        assert killed == [{"done": True}]
        answer = lea.intent({"type": "status", "conversation_id": thread.conversation_id, "status": "pending"})
        seq = answer.json()["change_seqs"][0]
        while True:  # a live push, or the newest seq the feed announces when it is back
            message = json.loads(ws.recv(timeout=60))
            if message["type"] == "changed" and message["seq"] >= seq:
                break
    assert "reconnecting" in server.output()


def test_pushes_go_to_the_members_of_the_changed_account_only(pg_dsn: str, team: None, server: ServerProcess) -> None:
    mine = add_conversation(pg_dsn, ACCOUNT)
    theirs = add_conversation(pg_dsn, OTHER, author="1234", name="Hugo", text="Message privé Messenger")
    lea, marc = Api.sign_in(server, "lea"), Api.sign_in(server, "marc")  # marc is not a member of OTHER
    with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {marc.token}"}) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        other = lea.intent({"type": "tag_add", "conversation_id": theirs.conversation_id, "tag": "vip"})
        assert other.status_code == 200, other.text
        time.sleep(1.0)  # time for a push of that change, were it sent to marc
        answer = lea.intent({"type": "tag_add", "conversation_id": mine.conversation_id, "tag": "livraison"})
        seq = answer.json()["change_seqs"][0]
        pushed = []
        while not pushed or pushed[-1] < seq:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "changed":
                pushed.append(message["seq"])
    assert other.json()["change_seqs"][0] not in pushed
    assert pushed == sorted(pushed)


def test_a_burst_of_changes_is_pushed_coalesced_up_to_the_newest(pg_dsn: str, team: None, server: ServerProcess) -> None:
    thread = add_conversation(pg_dsn, ACCOUNT)
    lea, marc = Api.sign_in(server, "lea"), Api.sign_in(server, "marc")
    with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {marc.token}"}) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        seqs = []
        for n in range(20):
            answer = lea.intent({"type": "tag_add", "conversation_id": thread.conversation_id, "tag": f"t{n}"})
            seqs.extend(answer.json()["change_seqs"])
        pushed = []
        while not pushed or pushed[-1] < max(seqs):
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "changed":
                pushed.append(message["seq"])
    assert pushed == sorted(set(pushed)) and len(pushed) <= len(seqs)
