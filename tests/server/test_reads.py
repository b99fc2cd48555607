"""The queue view, one conversation and the dashboard, read over HTTP from a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conftest import (
    Api,
    Cluster,
    ServerProcess,
    Thread,
    add_account,
    add_agent,
    add_conversation,
    sql,
    start_server,
)

ACCOUNT = "email:support@brioche.example"
FORM = "webform:contact"


def _open_shop(dsn: str, server: ServerProcess) -> tuple[Api, dict[str, Thread]]:
    add_account(dsn, ACCOUNT)
    add_account(dsn, FORM)
    add_agent(dsn, "lea", accounts=(ACCOUNT, FORM))
    add_agent(dsn, "marc", accounts=(ACCOUNT,))
    threads = {
        "cake": add_conversation(dsn, ACCOUNT, subject="Gâteau abîmé", text="Le fraisier est arrivé écrasé",
                                 author="chloe@example.fr", name="Chloé Dubois"),
        "refund": add_conversation(dsn, ACCOUNT, subject="Refund for order 1042",
                                   text="I am still waiting for my refund", author="jack@example.co.uk", name="Jack Jones"),
        "form": add_conversation(dsn, FORM, subject="Allergènes", text="Vos brioches contiennent-elles des noix ?",
                                 author="ines@example.fr", name="Inès Moreau"),
    }  # fmt: skip
    return Api.sign_in(server, "lea"), threads


@pytest.fixture
def shop(pg_dsn: str, server: ServerProcess) -> tuple[Api, dict[str, Thread]]:
    return _open_shop(pg_dsn, server)


@pytest.fixture(scope="module")
def searchable_shop(
    pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, dict[str, Thread]]]:
    """One shop for the read-only search cases (a server process each would cost seconds)."""
    dsn = pg_cluster.new_database()
    server = start_server(dsn, tmp_path_factory.mktemp("search"))
    try:
        yield _open_shop(dsn, server)
    finally:
        server.stop()
        pg_cluster.drop_database(dsn)


def _ids(answer: object) -> set[int]:
    import httpx

    assert isinstance(answer, httpx.Response) and answer.status_code == 200, getattr(answer, "text", answer)
    return {c["id"] for c in answer.json()["items"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("gateau", {"cake"}),  # accents folded
        ("ÉCRAS", {"cake"}),  # prefix, case, accents
        ("refund", {"refund"}),
        ('"still waiting"', {"refund"}),  # a phrase
        ('"waiting still"', set()),  # in the wrong order
        ("brioche noix", {"form"}),  # every word must match
        ("chloé", {"cake"}),  # the author's name
        ('AND( "world." :* & | !', set()),  # never a syntax error
    ],
)
def test_search_in_french_and_english(
    searchable_shop: tuple[Api, dict[str, Thread]], q: str, expected: set[str]
) -> None:
    lea, threads = searchable_shop
    assert _ids(lea.get("/v1/conversations", q=q)) == {threads[name].conversation_id for name in expected}


def test_filters_and_paging(pg_dsn: str, shop: tuple[Api, dict[str, Thread]]) -> None:
    lea, threads = shop
    cake, refund, form = (threads[n].conversation_id for n in ("cake", "refund", "form"))
    sql(pg_dsn, "UPDATE conversations SET status = 'pending', assignee = 'lea' WHERE id = %s", [cake])
    sql(pg_dsn, "INSERT INTO conversation_tags VALUES (%s, 'remboursement')", [refund])
    assert _ids(lea.get("/v1/conversations", status="pending")) == {cake}
    assert _ids(lea.client.get("/v1/conversations", params=[("status", "new"), ("status", "pending")])) == {
        cake, refund, form}  # fmt: skip
    assert _ids(lea.get("/v1/conversations", assignee="me")) == {cake}
    assert _ids(lea.get("/v1/conversations", assignee="")) == {refund, form}
    assert _ids(lea.get("/v1/conversations", tag="remboursement")) == {refund}
    assert _ids(lea.get("/v1/conversations", account=FORM)) == {form}
    first = lea.get("/v1/conversations", limit=2).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_offset"] == 2
    rest = lea.get("/v1/conversations", limit=2, offset=2).json()
    assert rest["next_offset"] is None
    assert {c["id"] for c in first["items"] + rest["items"]} == {cake, refund, form}
    bad = lea.get("/v1/conversations", status="archived")
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    too_many = lea.get("/v1/conversations", limit=100000)
    assert too_many.status_code == 422 and too_many.json()["field"] == "limit"


def test_one_conversation_has_its_thread_notes_customer_and_events(
    pg_dsn: str, shop: tuple[Api, dict[str, Thread]]
) -> None:
    lea, threads = shop
    cake = threads["cake"]
    lea.intent({"type": "note", "conversation_id": cake.conversation_id, "text": "Remboursement fait"})
    lea.intent({"type": "tag_add", "conversation_id": cake.conversation_id, "tag": "livraison"})
    detail = lea.get(f"/v1/conversations/{cake.conversation_id}").json()
    assert [m["text"] for m in detail["messages"]] == ["Le fraisier est arrivé écrasé"]
    assert [(n["text"], n["author_agent"]) for n in detail["notes"]] == [("Remboursement fait", "lea")]
    assert detail["customer"]["display_name"] == "Chloé Dubois"
    assert [i["key"] for i in detail["customer"]["identities"]] == ["chloe@example.fr"]
    assert [e["kind"] for e in detail["events"]] == ["note", "tag_added"]
    assert detail["conversation"]["tags"] == ["livraison"]
    missing = lea.get("/v1/conversations/999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_the_dashboard_counts_load_and_sla_per_agent_and_account(
    pg_dsn: str, shop: tuple[Api, dict[str, Thread]]
) -> None:
    lea, threads = shop
    sql(pg_dsn, "UPDATE conversations SET assignee = 'marc', sla_state = 'breached', sla_due_at = now() WHERE id = %s",
        [threads["cake"].conversation_id])  # fmt: skip
    sql(pg_dsn, "UPDATE conversations SET assignee = 'marc', sla_state = 'warning' WHERE id = %s",
        [threads["refund"].conversation_id])  # fmt: skip
    sql(pg_dsn, "UPDATE conversations SET status = 'solved', assignee = 'lea' WHERE id = %s",
        [threads["form"].conversation_id])  # fmt: skip
    board = lea.get("/v1/dashboard").json()
    load = {a["agent"]: (a["open"], a["at_risk"], a["breached"]) for a in board["agents"]}
    assert load == {"lea": (0, 0, 0), "marc": (2, 1, 1)}
    accounts = {a["account_id"]: (a["open"], a["unassigned"], a["breached"]) for a in board["accounts"]}
    assert accounts == {ACCOUNT: (2, 0, 1), FORM: (0, 0, 0)}
    assert [c["id"] for c in board["at_risk"]] == [threads["cake"].conversation_id, threads["refund"].conversation_id]
