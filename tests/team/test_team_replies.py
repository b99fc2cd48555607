"""Replies in team mode, end to end: a desktop's sync core on a real ``inbox serve`` over a real
PostgreSQL, and for the private reply the server's outbox sender posting to the fake Graph API.

- A Facebook comment answered privately leaves through Messenger addressed by the comment
  (Graph's ``recipient.comment_id``), not under the comment.
- The agent's own earlier note does not stop their reply (only others' messages do).
- A conversation merged into the one an agent is answering stops the reply, with the merged
  messages shown, though their ids are older than what the agent saw.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from inbox.server.ingest import IngestResult, merge_conversations, notify_changes
from inbox.team.commands import TeamPortCommands, TeamRepository
from tests.providers.facebook.fake_graph import PAGE_ID, PAGE_TOKEN, FakeGraph, fake_graph
from tests.server.channel_helpers import fast_settings, run_channels, save_account
from tests.server.conftest import sql
from tests.team.desktop import Desktop, until
from tests.team.servers import ACCOUNT, TeamServer
from tests.team.test_sync import run

__all__ = ["fake_graph"]

pytestmark = [pytest.mark.servers, pytest.mark.timeout(240)]


def _page(pg_dsn: str, tmp_path: Path, graph: FakeGraph) -> Path:
    """The Facebook Page as a channel account of the server, lea a member of it."""
    from inbox.models import Account, Channel

    page = Account(f"facebook:{PAGE_ID}", Channel.FACEBOOK, "Facebook for Developers", frozenset({PAGE_ID}),
                   {"page_id": PAGE_ID, "history_days": "0", "base_url": graph.url})  # fmt: skip
    secrets = tmp_path / "secrets.json"
    save_account(pg_dsn, page, secrets, {"page_token": PAGE_TOKEN})
    sql(pg_dsn, "INSERT INTO memberships (agent_id, account_id) SELECT id, %s FROM agents WHERE name = 'lea'",
        [page.id])  # fmt: skip
    return secrets


def test_a_comment_answered_privately_goes_to_messenger_by_comment_id(
    tmp_path: Path, team_server: TeamServer, fake_graph: FakeGraph
) -> None:
    dsn = team_server.dsn
    secrets = _page(dsn, tmp_path, fake_graph)
    settings = fast_settings(secrets, poll_interval=60.0)
    run_channels(dsn, settings, lambda: bool(sql(dsn, "SELECT 1 FROM messages WHERE surface = 'comment'")))
    # The newest comment of a post's thread: what a reply to that conversation answers.
    [row] = sql(dsn, """SELECT DISTINCT ON (conversation_id) conversation_id, provider_id FROM messages
                        WHERE surface = 'comment' AND direction = 'in' ORDER BY conversation_id, id DESC LIMIT 1""")
    conversation, comment = int(row["conversation_id"]), str(row["provider_id"])

    async def scenario(lea: Desktop) -> None:
        await until(lambda: conversation in lea.replica.conversation_ids(), "the comment's thread on lea's desktop")
        port = TeamPortCommands(TeamRepository(lea.store, lea.commands))
        await asyncio.wrap_future(port.reply(conversation, "We have sent you a message.", privately=True))
        await until(lambda: lea.replica.pending_count() == 0, "lea's private reply applied")
        assert lea.replica.rejections() == []

    run(tmp_path, team_server, scenario, "lea")
    [queued] = sql(dsn, "SELECT id, surface, target, state FROM outbox WHERE conversation_id = %s", [conversation])
    assert (queued["surface"], queued["target"]["reply_to_id"], queued["target"]["thread_key"]) == (
        "messenger", comment, None)  # fmt: skip
    before = len(fake_graph.posted())
    run_channels(dsn, settings, lambda: sql(dsn, "SELECT state FROM outbox WHERE id = %s", [queued["id"]])[0]["state"]
                 not in ("queued", "sending"))  # fmt: skip
    assert sql(dsn, "SELECT state FROM outbox WHERE id = %s", [queued["id"]])[0]["state"] == "sent"
    [post] = fake_graph.posted()[before:]
    assert post.path == f"/v23.0/{PAGE_ID}/messages"  # Messenger, not /{comment}/comments
    assert post.body["recipient"] == {"comment_id": comment}
    assert post.body["message"] == {"text": "We have sent you a message."}


def test_a_private_reply_where_nothing_is_public_is_refused_on_the_desktop(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(lea: Desktop) -> None:
        conversation = lea.replica.conversation_ids()[0]  # an email
        port = TeamPortCommands(TeamRepository(lea.store, lea.commands))
        with pytest.raises(Exception, match="private already"):
            await asyncio.wrap_future(port.reply(conversation, "Bonjour", privately=True))
        assert lea.replica.pending_count() == 0

    run(tmp_path, team_server, scenario, "lea")


def test_the_agents_own_note_does_not_stop_their_reply(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(lea: Desktop) -> None:
        conversation = lea.replica.conversation_ids()[0]
        seen = lea.replica.last_message_id(conversation)  # lea starts writing; then adds a note
        lea.commands.note(conversation, "Carrier says it is in the depot")
        await until(lambda: lea.replica.pending_count() == 0, "lea's note applied")
        seq = lea.commands.reply(conversation, "Your parcel is at the depot.", seen_message_id=seen)
        await until(lambda: lea.replica.pending_count() == 0, "lea's reply answered")
        answered = lea.replica.intent(seq)
        assert answered is not None and answered.status == 200, answered

    run(tmp_path, team_server, scenario, "lea")
    sent = sql(team_server.dsn, "SELECT body FROM outbox")
    assert sent == [{"body": "Your parcel is at the depot."}]


def test_a_merged_conversation_stops_the_reply_with_its_messages(tmp_path: Path, team_server: TeamServer) -> None:
    dsn = team_server.dsn

    async def scenario(marc: Desktop) -> None:
        older, answering = marc.replica.conversation_ids()[:2]  # ``older``'s message id is below the other's
        [merged_id] = [m.id for m in marc.store.messages(older)]
        assert marc.commands._seen_version(answering, marc.replica.last_message_id(answering)) is not None
        merge = IngestResult()
        with psycopg.connect(dsn, row_factory=dict_row) as conn, conn.transaction():  # as the poller's ingest does
            merge_conversations(conn, answering, older, ACCOUNT, "system", merge)
            notify_changes(conn, merge.seqs, ACCOUNT)
        seq = marc.commands.reply(answering, "We are on it.")  # written before the merge reached marc
        await until(lambda: marc.replica.pending_count() == 0, "marc's reply answered")
        refused = marc.replica.intent(seq)
        assert refused is not None and refused.status == 409, refused
        merged = refused.answer["new_messages"]
        assert [(m["id"], m["text"]) for m in merged] == [(merged_id, "Where is my parcel?")]
        assert merged_id < marc.replica.last_message_id(answering)  # an older id: a message-id guard missed it
        assert marc.store.draft(answering) == "We are on it."
        # Once the merged messages reached marc's replica, "Send anyway" goes through.
        await until(lambda: merged_id in [m.id for m in marc.store.messages(answering)], "the merge on marc's desktop")
        await until(lambda: older not in marc.replica.conversation_ids(), "the absorbed conversation gone")
        marc.commands.reply(answering, "We are on it.")
        await until(lambda: marc.replica.pending_count() == 0, "marc's second try answered")

    run(tmp_path, team_server, scenario, "marc")
    assert [r["body"] for r in sql(dsn, "SELECT body FROM outbox")] == ["We are on it."]

