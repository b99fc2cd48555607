"""Two desktops (the real sync core, headless) on a real ``inbox serve`` over a real PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from inbox.models import QueueFilter, Status
from inbox.team.sync import Link
from tests.team.desktop import Desktop, until
from tests.team.servers import ACCOUNT, TeamServer, customer_message

pytestmark = pytest.mark.servers


def run(tmp_path: Path, server: TeamServer, scenario: Callable[..., Awaitable[None]], *agents: str) -> None:
    """Sign each agent in on its own desktop, run the sync cores, play the scenario, stop."""

    async def main() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            desktops = [Desktop(tmp_path / f"{agent}.db", agent, http) for agent in agents]
            try:
                for d in desktops:
                    await d.join(server.url)
                    d.start()
                for d in desktops:
                    await until(lambda d=d: d.sync is not None and d.sync.link is Link.ONLINE, f"{d.agent} online")
                await scenario(*desktops)
            finally:
                for d in desktops:
                    await d.stop()

    asyncio.run(main())


def server_rows(dsn: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql.encode(), params or []).fetchall())


def test_a_colleague_viewing_a_conversation_is_shown(
    tmp_path: Path, team_server: TeamServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # the WebSocket handshake carries the token: never logged
    tokens: list[str] = []

    async def scenario(lea: Desktop, marc: Desktop) -> None:
        tokens.extend(t for t in (lea.account.token(), marc.account.token()) if t)
        conversation = lea.replica.conversation_ids()[0]
        assert lea.sync and marc.sync
        assert marc.sync.presence_on(conversation) == []
        await lea.sync.announce("viewing", conversation)
        await until(lambda: marc.sync.presence_on(conversation) == [("lea", "viewing")], "marc sees lea viewing")
        await lea.sync.announce("replying", conversation)
        await until(lambda: marc.sync.presence_on(conversation) == [("lea", "replying")], "marc sees lea replying")
        assert lea.sync.presence_on(conversation) == []  # one's own presence is not echoed back
        await lea.sync.announce("idle", None)
        await until(lambda: marc.sync.presence_on(conversation) == [], "lea's presence gone")

    run(tmp_path, team_server, scenario, "lea", "marc")
    assert len(tokens) == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "team link online" in logged  # the log was captured
    captured = capsys.readouterr()
    for token in tokens:
        assert token not in logged and token not in captured.out + captured.err
        for replica in tmp_path.glob("*.db*"):
            assert token.encode() not in replica.read_bytes()


def test_the_second_reply_is_stopped_and_its_draft_kept(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(lea: Desktop, marc: Desktop) -> None:
        conversation = lea.replica.conversation_ids()[0]
        seen = marc.replica.last_message_id(conversation)  # what marc saw when he began typing
        lea.commands.reply(conversation, "Your parcel left this morning.")
        await until(lambda: lea.replica.pending_count() == 0, "lea's reply applied")
        marc.store.save_draft(conversation, "Sorry, I am checking", _now())
        seq = marc.commands.reply(conversation, "Sorry, I am checking", seen_message_id=seen)
        await until(lambda: marc.replica.pending_count() == 0, "marc's reply answered")
        refused = marc.replica.intent(seq)
        assert refused is not None and refused.state == "rejected" and refused.status == 409
        arrived = [m["text"] for m in refused.answer["new_messages"]]
        assert arrived == ["Your parcel left this morning."]
        assert [r.seq for r in marc.replica.rejections()] == [seq]
        assert marc.store.draft(conversation) == "Sorry, I am checking"
        await until(lambda: "Your parcel left this morning." in [m.text for m in marc.store.messages(conversation)],
                    "lea's reply on marc's screen")  # fmt: skip
        assert "Sorry, I am checking" not in [m.text for m in marc.store.messages(conversation)]  # provisional row gone
        sent = server_rows(team_server.dsn, "SELECT body FROM outbox WHERE conversation_id = %s", [conversation])
        assert sent == [("Your parcel left this morning.",)]
        # "Send anyway": a new intent guarded by what marc has now seen goes through.
        marc.commands.reply(conversation, "Sorry, I am checking")
        await until(lambda: marc.replica.pending_count() == 0, "marc's second try answered")
        sent = server_rows(team_server.dsn, "SELECT body FROM outbox WHERE conversation_id = %s ORDER BY id", [conversation])
        assert sent == [("Your parcel left this morning.",), ("Sorry, I am checking",)]

    run(tmp_path, team_server, scenario, "lea", "marc")


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_customer_message_stops_a_reply_written_before_it(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(marc: Desktop) -> None:
        conversation = marc.replica.conversation_ids()[1]
        seen = marc.replica.last_message_id(conversation)
        customer_message(team_server.dsn, conversation, "Actually I found it, thanks")
        await until(lambda: any(m.text.startswith("Actually") for m in marc.store.messages(conversation)),
                    "the customer's message reached marc")  # fmt: skip
        seq = marc.commands.reply(conversation, "Let me look into it", seen_message_id=seen)
        await until(lambda: marc.replica.pending_count() == 0, "marc's reply answered")
        refused = marc.replica.intent(seq)
        assert refused is not None and refused.status == 409
        assert [m["text"] for m in refused.answer["new_messages"]] == ["Actually I found it, thanks"]
        assert marc.store.draft(conversation) == "Let me look into it"

    run(tmp_path, team_server, scenario, "marc")


def test_offline_changes_go_out_once_in_order_when_the_server_is_back(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(marc: Desktop) -> None:
        assert marc.sync is not None
        targets = marc.replica.conversation_ids()[:3]
        team_server.stop()
        await until(lambda: marc.sync.link is Link.OFFLINE, "marc offline")
        for n, conversation in enumerate(targets):
            marc.commands.tag_add(conversation, "refund")
            marc.commands.note(conversation, f"called the carrier ({n})")
            marc.commands.reply(conversation, f"Refund on its way ({n})")
            marc.commands.set_status(conversation, Status.PENDING)
        assert marc.replica.pending_count() == 12
        # Everything reads and shows at once from the replica while offline.
        assert marc.store.count(QueueFilter(tag="refund")) == 3
        assert all(marc.store.conversation(c).status is Status.PENDING for c in targets)
        assert [m.text for m in marc.store.messages(targets[0])][-2:] == ["called the carrier (0)", "Refund on its way (0)"]
        team_server.start()
        marc.sync.reconnect_now()
        await until(lambda: marc.replica.pending_count() == 0, "every queued change answered", limit=60)
        await until(lambda: marc.sync.link is Link.ONLINE, "marc online again")
        assert marc.replica.rejections() == []
        for n, conversation in enumerate(targets):
            rows = server_rows(team_server.dsn,
                               "SELECT text, private FROM messages WHERE conversation_id = %s AND direction = 'out' ORDER BY id",
                               [conversation])  # fmt: skip
            assert rows == [(f"called the carrier ({n})", True), (f"Refund on its way ({n})", False)]
        applied = server_rows(team_server.dsn, "SELECT count(*) FROM intent_results WHERE status = 200")
        assert applied == [(12,)]
        await marc.sync.catch_up()
        server = server_rows(
            team_server.dsn,
            """SELECT c.id, c.status, c.assignee, c.priority,
                      coalesce((SELECT string_agg(tag, ',' ORDER BY tag) FROM conversation_tags t WHERE t.conversation_id = c.id), ''),
                      (SELECT string_agg(m.id::text, ',' ORDER BY m.id) FROM messages m WHERE m.conversation_id = c.id)
               FROM conversations c WHERE c.account_id = %s ORDER BY c.id""",
            [ACCOUNT],
        )  # fmt: skip
        mine = [
            (c, conv.status.value, conv.assignee, conv.priority.value, ",".join(conv.tags),
             ",".join(str(m.id) for m in sorted(marc.store.messages(c), key=lambda m: m.id)))
            for c in marc.replica.conversation_ids()
            for conv in [marc.store.conversation(c)]
        ]  # fmt: skip
        assert mine == server

    run(tmp_path, team_server, scenario, "marc")


def test_an_assignment_race_has_one_winner_and_the_other_is_told(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(lea: Desktop, marc: Desktop) -> None:
        conversation = marc.replica.conversation_ids()[2]
        assert lea.store.conversation(conversation).assignee is None
        lea_seq = lea.commands.assign(conversation, "lea")
        marc_seq = marc.commands.assign(conversation, "marc")
        assert lea.store.conversation(conversation).assignee == "lea"  # each sees their own at once
        assert marc.store.conversation(conversation).assignee == "marc"
        await until(lambda: lea.replica.pending_count() == 0 and marc.replica.pending_count() == 0, "both answered")
        results = {d.agent: d.replica.intent(s) for d, s in ((lea, lea_seq), (marc, marc_seq))}
        states = sorted(r.state for r in results.values() if r is not None)
        assert states == ["applied", "rejected"]
        winner = next(name for name, r in results.items() if r is not None and r.state == "applied")
        loser = next(r for r in results.values() if r is not None and r.state == "rejected")
        assert loser.status == 409 and loser.answer["current_assignee"] == winner
        assert f"assigned to {winner}" in loser.reason
        await until(lambda: lea.store.conversation(conversation).assignee == winner, "lea's replica converged")
        await until(lambda: marc.store.conversation(conversation).assignee == winner, "marc's replica converged")
        assert server_rows(team_server.dsn, "SELECT assignee FROM conversations WHERE id = %s", [conversation]) == [(winner,)]

    run(tmp_path, team_server, scenario, "lea", "marc")


@pytest.mark.parametrize(
    "ending",
    [
        "DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE name = 'marc')",  # revoked
        "UPDATE sessions SET expires_at = now() - interval '1 second'",  # expired
    ],
    ids=["revoked", "expired"],
)
def test_an_ended_session_shows_signed_out_and_keeps_drafts(tmp_path: Path, team_server: TeamServer, ending: str) -> None:
    async def scenario(marc: Desktop) -> None:
        assert marc.sync is not None
        conversation = marc.replica.conversation_ids()[0]
        marc.store.save_draft(conversation, "half-written answer", _now())
        server_rows_exec(team_server.dsn, ending)
        marc.commands.note(conversation, "written after the revocation")
        await until(lambda: marc.sync.link is Link.SIGNED_OUT, "marc told he is signed out")
        assert "sign in again" in marc.sync.reason
        state = marc.replica.state()
        assert state is not None and not state.signed_in
        assert marc.store.draft(conversation) == "half-written answer"
        assert marc.replica.pending_count() == 1  # kept for when he signs in again
        assert len(marc.replica.conversation_ids()) == 5  # still readable
        await marc.sync.stop()
        await marc.join(team_server.url)  # same agent, same server: cursor and queue kept
        marc.start()
        await until(lambda: marc.replica.pending_count() == 0, "the kept note pushed after signing in again")
        assert marc.replica.rejections() == []

    run(tmp_path, team_server, scenario, "marc")


def server_rows_exec(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.encode())


def test_each_agent_gets_only_the_accounts_they_are_a_member_of(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(lea: Desktop, marc: Desktop) -> None:
        assert {c.account_id for c in lea.store.queue(QueueFilter(statuses=frozenset(Status)))} == {ACCOUNT, "twitter:brioche"}
        assert {c.account_id for c in marc.store.queue(QueueFilter(statuses=frozenset(Status)))} == {ACCOUNT}
        twitter = next(c for c in lea.replica.conversation_ids() if c not in marc.replica.conversation_ids())
        refused = marc.commands.set_status(twitter, Status.SOLVED)  # e.g. a stale link to it
        mine = marc.replica.conversation_ids()[0]
        behind = marc.commands.tag_add(mine, "vip")
        await until(lambda: marc.replica.pending_count() == 0, "both answered")
        first, second = marc.replica.intent(refused), marc.replica.intent(behind)
        assert first is not None and first.state == "rejected" and first.status == 403
        assert second is not None and second.state == "applied"  # the refusal blocked nothing
        assert server_rows(team_server.dsn, "SELECT status FROM conversations WHERE id = %s", [twitter]) == [("new",)]
        assert "vip" in marc.store.conversation(mine).tags

    run(tmp_path, team_server, scenario, "lea", "marc")


def test_merging_two_customers_reaches_both_desktops(tmp_path: Path, team_server: TeamServer) -> None:
    async def scenario(lea: Desktop, marc: Desktop) -> None:
        first, second = marc.replica.conversation_ids()[:2]
        keep = marc.store.conversation(first).customer_id
        absorbed = marc.store.conversation(second).customer_id
        assert keep is not None and absorbed is not None and keep != absorbed
        seq = marc.commands.merge(keep, absorbed)  # the customer panel's "Merge into…"
        await until(lambda: marc.replica.pending_count() == 0, "merge answered")
        merged = marc.replica.intent(seq)
        assert merged is not None and merged.state == "applied", merged
        for desktop in (marc, lea):
            await until(lambda d=desktop: d.store.conversation(second).customer_id == keep, f"{desktop.agent} sees it")
        assert {c.id for c in lea.store.customer_conversations(keep)} >= {first, second}
        assert server_rows(team_server.dsn, "SELECT count(*) FROM customers WHERE id = %s", [absorbed]) == [(0,)]

    run(tmp_path, team_server, scenario, "lea", "marc")


def test_the_live_connection_tells_a_desktop_its_session_ended(tmp_path: Path, team_dsn: str) -> None:
    """No change to push, no pull due: the server's WebSocket ends the session by itself."""
    from tests.team.servers import seed

    seed(team_dsn)
    server = TeamServer(team_dsn, presence_ttl=2.0)  # the server rechecks sessions every TTL/2
    server.start()
    try:

        async def scenario(marc: Desktop) -> None:
            assert marc.sync is not None
            server_rows_exec(team_dsn, "DELETE FROM sessions")
            await until(lambda: marc.sync.link is Link.SIGNED_OUT, "marc told he is signed out")
            assert "sign in again" in marc.sync.reason
            assert Link.OFFLINE not in marc.links  # told directly, not found out by a failed retry

        run(tmp_path, server, scenario, "marc")
    finally:
        server.stop()


def test_the_desktop_shows_targets_with_the_servers_sla_policies(tmp_path: Path, team_server: TeamServer) -> None:
    """The queue's countdowns are the server's deadlines; the thread's targets are computed on the
    desktop: both must come from the server's policies, taken at each connection."""
    from inbox.app.demo import DEMO_POLICIES
    from inbox.app.workspace import Workspace, policies

    server_policies = DEMO_POLICIES.replace('name = "email"', 'name = "email, whole team"')
    with psycopg.connect(team_server.dsn) as conn:
        conn.execute("INSERT INTO server_settings (key, value) VALUES ('sla_policies', %s)", [server_policies])

    async def scenario(marc: Desktop) -> None:
        assert [p.name for p in policies(marc.store).policies] == ["urgent", "social", "vip", "email, whole team"]
        conversation = marc.replica.conversation_ids()[0]

        targets, _log = Workspace(marc.store, "marc").sla_details(conversation)
        assert targets and {t.policy for t in targets} == {"email, whole team"}
        first = next(t for t in targets if t.target.value == "first_reply")
        assert first.due_at is not None and first.due_at - first.started_at == timedelta(hours=4)  # 24x7, not office hours
        # The lead changes the rules; at its next connection the desktop takes them and tells the
        # window, so a thread already open is drawn again (no change of any conversation pulled).
        with psycopg.connect(team_server.dsn) as conn:
            conn.execute("UPDATE server_settings SET value = %s WHERE key = 'sla_policies'",
                         [server_policies.replace("whole team", "new rules")])  # fmt: skip
        assert marc.sync is not None
        await marc.sync.stop()
        marc.changed.clear()
        marc.start()
        await until(lambda: any(conversation in touched for touched in marc.changed), "the window told")
        assert policies(marc.store).policies[-1].name == "email, new rules"

    run(tmp_path, team_server, scenario, "marc")
