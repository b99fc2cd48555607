"""Every route of the OpenAPI document, walked with a person who is not a member of an account:
each route that touches that account answers 403 (or leaves it out of what it lists), nothing
changes, and no response anywhere carries a password hash, a token or a secret."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.server.conftest import Api, ServerProcess, Thread, add_account, add_agent, add_conversation, sql

OURS = "email:support@brioche.example"
THEIRS = "twitter:1500000000000000001"
SECRET_PASSWORDS = ("password-of-olga", "password-of-bruno", "password-of-lea")


@dataclass
class World:
    dsn: str
    server: ServerProcess
    outsider: Api
    bruno: Api  # a member of THEIRS only
    ours: Thread
    theirs: Thread
    answers: list[httpx.Response]

    def keep(self, *answers: httpx.Response) -> list[httpx.Response]:
        self.answers.extend(answers)
        return list(answers)


def _foreign_intents(w: World) -> list[dict[str, Any]]:
    cid = w.theirs.conversation_id
    return [
        {"type": "reply", "conversation_id": cid, "text": "Bonjour", "seen_message_id": w.theirs.message_id},
        {"type": "note", "conversation_id": cid, "text": "note"},
        {"type": "status", "conversation_id": cid, "status": "solved"},
        {"type": "assign", "conversation_id": cid, "expected_assignee": None, "assignee": "olga"},
        {"type": "tag_add", "conversation_id": cid, "tag": "x"},
        {"type": "tag_remove", "conversation_id": cid, "tag": "vip"},
        {"type": "priority", "conversation_id": cid, "priority": "urgent"},
        {"type": "identity_link", "identity_id": w.theirs.identity_id, "customer_id": w.ours.customer_id},
        {"type": "identity_unlink", "identity_id": w.theirs.identity_id},
        {"type": "identity_merge", "customer_id": w.ours.customer_id, "other_customer_id": w.theirs.customer_id},
    ]


def _intents(w: World) -> None:
    for intent in _foreign_intents(w):
        (answer,) = w.keep(w.outsider.intent(intent))
        assert answer.status_code == 403, (intent["type"], answer.text)
        assert answer.json()["type"].endswith("/not-a-member"), intent["type"]


def _list(w: World) -> None:
    (refused, listed) = w.keep(w.outsider.get("/v1/conversations", account=THEIRS), w.outsider.get("/v1/conversations"))
    assert refused.status_code == 403 and refused.json()["account_id"] == THEIRS
    assert listed.status_code == 200
    assert {c["account_id"] for c in listed.json()["items"]} == {OURS}
    (searched,) = w.keep(w.outsider.get("/v1/conversations", q="twitter secret complaint"))
    assert searched.json()["items"] == []


def _one(w: World) -> None:
    (refused, mine) = w.keep(
        w.outsider.get(f"/v1/conversations/{w.theirs.conversation_id}"),
        w.outsider.get(f"/v1/conversations/{w.ours.conversation_id}"),
    )
    assert refused.status_code == 403 and "twitter secret complaint" not in refused.text
    assert mine.status_code == 200


def _dashboard(w: World) -> None:
    (board,) = w.keep(w.outsider.get("/v1/dashboard"))
    assert board.status_code == 200
    body = board.json()
    assert [a["account_id"] for a in body["accounts"]] == [OURS]
    assert "bruno" not in {a["agent"] for a in body["agents"]}  # shares no account with the outsider
    assert all(c["account_id"] == OURS for c in body["at_risk"])


def _sla_policies(w: World) -> None:
    """The team's SLA rules are the same for every agent: any session reads them, nothing else."""
    (rules,) = w.keep(w.outsider.get("/v1/sla/policies"))
    assert rules.status_code == 200 and set(rules.json()) == {"text"}


def _changes(w: World) -> None:
    (page,) = w.keep(w.outsider.get("/v1/changes", after="0"))
    assert page.status_code == 200
    body = page.json()
    assert {c["account_id"] for c in body["changes"]} == {OURS}
    assert w.theirs.conversation_id not in {c["id"] for c in body["conversations"]}
    assert "twitter secret complaint" not in page.text


def _sign_out(w: World) -> None:
    other = Api.sign_in(w.server, "olga")
    (gone,) = w.keep(other.client.delete("/v1/session"))
    assert gone.status_code == 204
    assert w.outsider.get("/v1/dashboard").status_code == 200  # only that session ended


def _health(w: World) -> None:
    (answer,) = w.keep(httpx.get(w.server.url + "/v1/health"))
    assert answer.status_code == 200 and set(answer.json()) == {"status", "schema_version", "listening"}


def _sign_in(w: World) -> None:
    (wrong,) = w.keep(httpx.post(w.server.url + "/v1/session", json={"name": "bruno", "password": "guess-guess"}))
    assert wrong.status_code == 401


#: Every operation of the OpenAPI document and how a non-member is kept out of it. A new route
#: fails test_every_route_has_a_case until it gets its case here.
CASES: dict[tuple[str, str], Callable[[World], None]] = {
    ("POST", "/v1/intents"): _intents,
    ("GET", "/v1/conversations"): _list,
    ("GET", "/v1/conversations/{conversation_id}"): _one,
    ("GET", "/v1/dashboard"): _dashboard,
    ("GET", "/v1/sla/policies"): _sla_policies,
    ("GET", "/v1/changes"): _changes,
    ("DELETE", "/v1/session"): _sign_out,
    ("GET", "/v1/health"): _health,
    ("POST", "/v1/session"): _sign_in,
}
PUBLIC = {("GET", "/v1/health"), ("POST", "/v1/session")}


def _operations(server: ServerProcess) -> set[tuple[str, str]]:
    document = httpx.get(server.url + "/v1/schema/openapi.json").json()
    assert document["info"]["version"] == "1"
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def _snapshot(dsn: str) -> str:
    tables = ("conversations", "messages", "outbox", "conversation_tags", "events", "identities", "customers")
    return json.dumps([sql(dsn, "SELECT * FROM " + t + " ORDER BY 1") for t in tables], default=str)  # fixed names


@pytest.fixture(params=["agent", "admin"])
def world(request: pytest.FixtureRequest, pg_dsn: str, server: ServerProcess) -> World:
    add_account(pg_dsn, OURS)
    add_account(pg_dsn, THEIRS)
    add_agent(pg_dsn, "olga", role=request.param, accounts=(OURS,))  # even an admin needs membership
    add_agent(pg_dsn, "bruno", accounts=(THEIRS,))
    ours = add_conversation(pg_dsn, OURS)
    theirs = add_conversation(pg_dsn, THEIRS, author="4242", name="Hugo", text="twitter secret complaint")
    sql(pg_dsn, "INSERT INTO conversation_tags VALUES (%s, 'vip')", [theirs.conversation_id])
    sql(pg_dsn, "UPDATE conversations SET assignee = 'bruno', sla_state = 'breached' WHERE id = %s",
        [theirs.conversation_id])  # fmt: skip
    outsider = Api.sign_in(server, "olga")
    bruno = Api.sign_in(server, "bruno")
    return World(pg_dsn, server, outsider, bruno, ours, theirs, [])


def test_every_route_has_a_case(server: ServerProcess) -> None:
    assert _operations(server) == set(CASES)


def test_a_non_member_is_kept_out_of_every_route(world: World) -> None:
    before = _snapshot(world.dsn)
    for operation in sorted(_operations(world.server)):
        CASES[operation](world)
    assert _snapshot(world.dsn) == before  # nothing a refused request tried was written


def test_every_route_but_sign_in_and_health_needs_a_session(world: World) -> None:
    for method, path in sorted(_operations(world.server) - PUBLIC):
        url = world.server.url + path.replace("{conversation_id}", str(world.ours.conversation_id))
        answer = httpx.request(method, url, json={} if method == "POST" else None)
        world.keep(answer)
        assert answer.status_code == 401, (method, path)
        assert answer.headers["content-type"] == "application/problem+json"


def test_no_response_carries_a_hash_a_token_or_a_password(world: World) -> None:
    for operation in sorted(_operations(world.server)):
        CASES[operation](world)
    world.keep(world.bruno.get(f"/v1/conversations/{world.theirs.conversation_id}"), world.bruno.get("/v1/dashboard"),
               world.bruno.get("/v1/changes"))  # fmt: skip
    hashes = [r["password_hash"] for r in sql(world.dsn, "SELECT password_hash FROM agents")]
    token_hashes = [bytes(r["token_hash"]).hex() for r in sql(world.dsn, "SELECT token_hash FROM sessions")]
    forbidden = [*hashes, *token_hashes, *SECRET_PASSWORDS, world.bruno.token, "$argon2",
                 hashlib.sha256(world.bruno.token.encode()).hexdigest()]  # fmt: skip
    assert len(world.answers) > 10
    for answer in world.answers:
        for secret in forbidden:
            assert secret not in answer.text, (answer.request.method, answer.request.url.path)
    log = world.server.output()
    for secret in [*SECRET_PASSWORDS, world.bruno.token, world.outsider.token]:
        assert secret not in log
