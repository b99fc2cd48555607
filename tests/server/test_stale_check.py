"""The stale-reply check by conversation version (migration 0004) and the reply's surface.

Only what others added since the version an agent saw stops their reply: their own earlier notes
and replies do not; messages moved in by a merge of conversations do, though their ids are older.
A reply may name its surface: a public post answered privately, nothing the channel cannot carry.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from inbox.server.ingest import IngestResult, merge_conversations
from tests.server.conftest import Api, ServerProcess, Thread, add_account, add_agent, add_conversation, sql

ACCOUNT = "email:support@brioche.example"
X_ACCOUNT = "twitter:1500000000000000001"


@pytest.fixture
def desk(pg_dsn: str, server: ServerProcess) -> tuple[Api, Api, Thread]:
    add_account(pg_dsn, ACCOUNT)
    add_account(pg_dsn, X_ACCOUNT)
    add_agent(pg_dsn, "lea", accounts=(ACCOUNT, X_ACCOUNT))
    add_agent(pg_dsn, "marc", accounts=(ACCOUNT, X_ACCOUNT))
    thread = add_conversation(pg_dsn, ACCOUNT, subject="Gâteau abîmé", text="Le fraisier est arrivé écrasé.")
    return Api.sign_in(server, "lea"), Api.sign_in(server, "marc"), thread


def _reply(thread: Thread, text: str, surface: str | None = None, **guard: object) -> dict[str, object]:
    return {"type": "reply", "conversation_id": thread.conversation_id, "text": text,
            **(guard or {"seen_message_id": thread.message_id}), **({"surface": surface} if surface else {})}  # fmt: skip


def _version(pg_dsn: str, conversation_id: int) -> int:
    return int(sql(pg_dsn, "SELECT version FROM conversations WHERE id = %s", [conversation_id])[0]["version"])


def test_the_agents_own_note_and_reply_do_not_stop_their_reply(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, thread = desk
    note = lea.intent({"type": "note", "conversation_id": thread.conversation_id, "text": "Appeler le livreur"})
    assert note.status_code == 200, note.text
    first = lea.intent(_reply(thread, "Nous regardons."))  # guarded by the customer's message, before her note
    assert first.status_code == 200, first.text
    second = lea.intent(_reply(thread, "Un nouveau fraisier part demain."))
    assert second.status_code == 200, second.text
    # Marc saw the same customer message: Léa's note and replies are new to him.
    stopped = marc.intent(_reply(thread, "Marc répond"))
    assert stopped.status_code == 409
    assert [m["author_agent"] for m in stopped.json()["new_messages"]] == ["lea", "lea", "lea"]
    assert stopped.json()["version"] == _version(pg_dsn, thread.conversation_id)
    again = marc.intent(_reply(thread, "Marc répond", seen_version=stopped.json()["version"]))
    assert again.status_code == 200, again.text


def test_a_merge_brings_older_ids_that_still_stop_the_reply(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, marc, older = desk  # ``older``: the customer's first conversation, its message id below the next one
    thread = add_conversation(pg_dsn, ACCOUNT, subject="Re: Gâteau abîmé", text="Toujours rien reçu.")
    assert older.message_id < thread.message_id
    seen = lea.get(f"/v1/conversations/{thread.conversation_id}").json()["conversation"]["version"]
    assert seen == _version(pg_dsn, thread.conversation_id)
    with psycopg.connect(pg_dsn, row_factory=dict_row) as conn, conn.transaction():
        merge_conversations(conn, thread.conversation_id, older.conversation_id, ACCOUNT, "system", IngestResult())
    assert _version(pg_dsn, thread.conversation_id) > seen

    by_version = marc.intent(_reply(thread, "Marc répond", seen_version=seen))
    assert by_version.status_code == 409, by_version.text
    assert [m["text"] for m in by_version.json()["new_messages"]] == ["Le fraisier est arrivé écrasé."]
    assert [m["id"] for m in by_version.json()["new_messages"]] == [older.message_id]
    # An older desktop's guard (the newest message id it saw) catches the merge too.
    by_id = lea.intent(_reply(thread, "Léa répond", seen_message_id=thread.message_id))
    assert by_id.status_code == 409, by_id.text
    assert [m["id"] for m in by_id.json()["new_messages"]] == [older.message_id]
    assert sql(pg_dsn, "SELECT count(*) AS n FROM outbox")[0]["n"] == 0
    sent = marc.intent(_reply(thread, "Marc répond", seen_version=by_version.json()["version"]))
    assert sent.status_code == 200, sent.text


def test_a_version_the_conversation_never_had_is_refused(desk: tuple[Api, Api, Thread]) -> None:
    lea, _, thread = desk
    answer = lea.intent(_reply(thread, "Bonjour", seen_version=99))
    assert answer.status_code == 422 and answer.json()["field"] == "intent.seen_version"
    unguarded = lea.intent({"type": "reply", "conversation_id": thread.conversation_id, "text": "Bonjour"})
    assert unguarded.status_code == 422 and unguarded.json()["field"] == "intent.seen_version"


def test_a_mention_may_be_answered_by_dm_but_an_email_only_by_email(pg_dsn: str, desk: tuple[Api, Api, Thread]) -> None:
    lea, _, mail = desk
    refused = lea.intent(_reply(mail, "Bonjour", surface="dm"))
    assert refused.status_code == 422 and refused.json()["field"] == "intent.surface"
    assert "email" in refused.json()["detail"]
    tweet = add_conversation(pg_dsn, X_ACCOUNT, text="@brioche my cake arrived squashed", author="2244994945",
                             name="Sam")  # fmt: skip
    dm = lea.intent(_reply(tweet, "Sorry! Could you DM us your order number?", surface="dm"))
    assert dm.status_code == 200, dm.text
    [row] = sql(pg_dsn, "SELECT surface, target FROM outbox")
    assert row["surface"] == "dm"
    assert row["target"]["thread_key"] == "x:dm:2244994945-1500000000000000001"
    assert row["target"]["recipient"]["key"] == "2244994945" and row["target"]["reply_to_id"] is None
    assert dm.json()["message"]["surface"] == "dm"
    comment_only = lea.intent(_reply(tweet, "Public", surface="comment"))
    assert comment_only.status_code == 422 and comment_only.json()["field"] == "intent.surface"
