"""Presence over /v1/ws: who views or replies where, relayed across server processes to the
members of the conversation's account only, without a database write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.server.conftest import Api, ServerProcess, Thread, add_account, add_agent, add_conversation, sql

ACCOUNT = "email:support@brioche.example"
OTHER = "facebook:5550001"


@contextmanager
def _socket(server: ServerProcess, api: Api) -> Iterator[ClientConnection]:
    with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {api.token}"}) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        yield ws


def _next(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of this type (change pushes in between are skipped)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=30))
        if message["type"] == kind:
            return message


def _say(ws: ClientConnection, state: str, conversation_id: int) -> None:
    ws.send(json.dumps({"type": state, "conversation_id": conversation_id}))


def _row_counts(dsn: str) -> dict[str, int]:
    rows = sql(
        dsn,
        """SELECT table_name AS t,
                  (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', table_name),
                                                       false, true, '')))[1]::text::int AS n
           FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'""",
    )
    return {r["t"]: r["n"] for r in rows}


@pytest.fixture
def floor(pg_dsn: str, servers: Any) -> tuple[ServerProcess, ServerProcess, Thread, Thread]:
    """Two server processes; lea (both accounts), marc (mailbox), nina (Facebook only)."""
    add_account(pg_dsn, ACCOUNT)
    add_account(pg_dsn, OTHER)
    add_agent(pg_dsn, "lea", accounts=(ACCOUNT, OTHER))
    add_agent(pg_dsn, "marc", accounts=(ACCOUNT,))
    add_agent(pg_dsn, "nina", accounts=(OTHER,))
    mail = add_conversation(pg_dsn, ACCOUNT)
    messenger = add_conversation(pg_dsn, OTHER, author="777", name="Hugo")
    return servers(), servers(), mail, messenger


def test_viewing_and_replying_reach_members_on_another_process(pg_dsn: str, floor: Any) -> None:
    one, two, mail, _ = floor
    lea_api, marc_api = Api.sign_in(one, "lea"), Api.sign_in(two, "marc")
    before = _row_counts(pg_dsn)
    with _socket(one, lea_api) as lea, _socket(two, marc_api) as marc:
        _say(lea, "viewing", mail.conversation_id)
        seen = _next(marc, "presence")
        assert (seen["agent"], seen["state"], seen["conversation_id"]) == ("lea", "viewing", mail.conversation_id)
        assert seen["ttl"] > 0
        _say(lea, "replying", mail.conversation_id)
        assert _next(marc, "presence")["state"] == "replying"
    assert _row_counts(pg_dsn) == before  # presence is relayed, never stored


def test_keystrokes_are_relayed_once_within_the_ttl(floor: Any) -> None:
    one, two, mail, _ = floor
    with _socket(one, Api.sign_in(one, "lea")) as lea, _socket(two, Api.sign_in(two, "marc")) as marc:
        for _ in range(40):  # one "replying" per keystroke
            _say(lea, "replying", mail.conversation_id)
        _say(lea, "viewing", mail.conversation_id)  # a different state goes through at once
        first, second = _next(marc, "presence"), _next(marc, "presence")
        assert [first["state"], second["state"]] == ["replying", "viewing"]


def test_presence_stays_within_the_account(floor: Any) -> None:
    one, two, mail, messenger = floor
    with (
        _socket(one, Api.sign_in(one, "lea")) as lea,
        _socket(two, Api.sign_in(two, "nina")) as nina,
    ):
        _say(lea, "viewing", mail.conversation_id)  # nina is not a member of the mailbox
        _say(lea, "viewing", messenger.conversation_id)
        seen = _next(nina, "presence")
        assert seen["conversation_id"] == messenger.conversation_id  # the mailbox one never came


def test_announcing_a_conversation_of_another_account_is_refused(floor: Any) -> None:
    one, two, mail, messenger = floor
    with _socket(one, Api.sign_in(one, "marc")) as marc, _socket(two, Api.sign_in(two, "nina")) as nina:
        _say(marc, "viewing", messenger.conversation_id)
        error = _next(marc, "error")
        assert error["status"] == 403 and error["conversation_id"] == messenger.conversation_id
        _say(nina, "viewing", messenger.conversation_id)
        _say(marc, "replying", 10**9)
        assert _next(marc, "error")["status"] == 404
        marc.send("not json")
        assert _next(marc, "error")["status"] == 422


def test_leaving_tells_the_others_and_the_dashboard_shows_who_is_online(floor: Any) -> None:
    one, two, mail, _ = floor
    lea_api, marc_api = Api.sign_in(one, "lea"), Api.sign_in(two, "marc")
    with _socket(two, marc_api) as marc:
        with _socket(one, lea_api) as lea:
            _say(lea, "viewing", mail.conversation_id)
            assert _next(marc, "presence")["state"] == "viewing"
            board = marc_api.get("/v1/dashboard").json()  # served by the other process
            assert "lea" in board["online"]
            assert {a["agent"]: a["online"] for a in board["agents"]}["lea"] is True
        gone = _next(marc, "presence")
        assert (gone["agent"], gone["state"], gone["conversation_id"]) == ("lea", "idle", mail.conversation_id)


def test_a_socket_closes_when_its_session_ends(pg_dsn: str, servers: Any) -> None:
    add_account(pg_dsn, ACCOUNT)
    add_agent(pg_dsn, "lea", accounts=(ACCOUNT,))
    add_agent(pg_dsn, "marc", accounts=(ACCOUNT,))
    server = servers(env={"INBOX_PRESENCE_TTL": "2"})  # sessions rechecked every second
    lea_api, marc_api = Api.sign_in(server, "lea"), Api.sign_in(server, "marc")
    with _socket(server, lea_api) as lea, _socket(server, marc_api) as marc:
        assert marc_api.client.delete("/v1/session").status_code == 204
        assert _next(marc, "signed_out") == {"type": "signed_out"}
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                marc.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        lea.send(json.dumps({"type": "ping"}))
        assert _next(lea, "pong") == {"type": "pong"}  # the other session's socket stays open
