"""`inbox search` finds what agents type: words, a customer's address, name, @handle, CRM number,
a conversation's number; accents and case ignored, and any text is safe to type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbox.cli import main
from inbox.store.repository import Store
from tests.factories import MAILBOX, X, mail, tweet


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Léa writes by mail and on X (two customers until the CRM links them); Hugo by mail."""
    path = tmp_path / "inbox.db"
    store = Store.open(path)
    store.save_account(MAILBOX)
    store.save_account(X)
    store.ingest(MAILBOX, [mail("a@x", text="Ma commande est arrivée abîmée", subject="Colis livré cassé")])
    store.ingest(MAILBOX, [mail("h@x", sender="hugo.dubois@example.org", name="Hugo Dubois", subject="Invoice",
                                text="Could I have the invoice for order 4411?", minutes=5)])  # fmt: skip
    store.ingest(X, [tweet("t1", user="200", handle="@LeaMartin_", text="@Shop where is my parcel?", minutes=9)])
    store.close()
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "customer_number,name,emails,phones,twitter,facebook,vip,notes\n"
        "C-10042,Léa Martin,lea@example.fr,,@LeaMartin_,,1,\n"
        "C-20077,Hugo Dubois,hugo.dubois@example.org,,,,0,\n",
        "utf-8",
    )
    assert main(["--db", str(path), "customers", "import", str(crm)]) == 0
    capsys.readouterr()
    return str(path)


def search(capsys: pytest.CaptureFixture[str], db: str, query: str) -> list[dict[str, object]]:
    assert main(["--db", db, "search", query, "--json"]) == 0
    hits: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return hits


def subjects(hits: list[dict[str, object]]) -> list[object]:
    return [hit["subject"] for hit in hits]


def test_a_customers_email_address_finds_their_conversations(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    hits = search(capsys, db, "lea@example.fr")
    assert "Colis livré cassé" in subjects(hits)
    assert "Invoice" not in subjects(hits)
    # case and angle brackets as copied from a mail client, and the beginning of an address
    assert "Colis livré cassé" in subjects(search(capsys, db, "<Lea@Example.FR>"))
    assert subjects(search(capsys, db, "hugo.dubois@exa")) == ["Invoice"]
    assert search(capsys, db, "nobody@example.fr") == []


def test_a_handle_finds_the_x_conversation_and_with_the_crm_every_channel(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hits = search(capsys, db, "@leamartin_")
    channels = {hit["channel"] for hit in hits}
    assert channels == {"twitter", "email"}  # the CRM made one customer of the address and the handle
    assert any("parcel" in str(hit["snippet"]) for hit in hits)
    assert {hit["channel"] for hit in search(capsys, db, "@LeaMar")} >= {"twitter"}


def test_a_crm_customer_number_finds_the_customers_conversations(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert {hit["channel"] for hit in search(capsys, db, "C-10042")} == {"twitter", "email"}
    assert subjects(search(capsys, db, "c-20077")) == ["Invoice"]


def test_a_conversation_number_finds_that_conversation_first(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db, "queue", "--json"]) == 0
    invoice = next(c["id"] for c in json.loads(capsys.readouterr().out) if c["subject"] == "Invoice")
    for typed in (str(invoice), f"#{invoice}"):
        hits = search(capsys, db, typed)
        assert hits and hits[0]["conversation_id"] == invoice
    # a number that is no conversation is still searched in the text (an order number)
    assert subjects(search(capsys, db, "4411")) == ["Invoice"]


def test_a_customer_name_ignores_accents_and_case(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    for typed in ("Léa Martin", "lea martin", "LEA MART", "Hugo"):
        hits = search(capsys, db, typed)
        assert hits, typed
    assert set(subjects(search(capsys, db, "lea martin"))) == {"Colis livré cassé", ""}
    assert subjects(search(capsys, db, "hugo dubois")) == ["Invoice"]


def test_words_are_found_without_accents_and_typed_syntax_is_only_text(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert subjects(search(capsys, db, "livre casse")) == ["Colis livré cassé"]
    assert subjects(search(capsys, db, "abimee")) == ["Colis livré cassé"]
    assert subjects(search(capsys, db, "invoice")) == ["Invoice"]
    for typed in ('AND( "quoted', "NEAR(a b)", "@", "#", "*", "lea@", "'; DROP TABLE messages; --", "\x00"):
        assert main(["--db", db, "search", typed, "--json"]) == 0, typed
        json.loads(capsys.readouterr().out)
    assert search(capsys, db, "invoice")  # nothing typed above changed the store


def test_an_identity_without_customer_is_found_by_its_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An identity detached from every customer (as a store may hold after an unlink gone
    wrong): the address still finds what it wrote."""
    path = tmp_path / "inbox.db"
    store = Store.open(path)
    store.save_account(MAILBOX)
    store.ingest(MAILBOX, [mail("z@x", sender="zoe@example.net", name="Zoé", subject="Hello there")])
    store._write(lambda d: d.execute("UPDATE identities SET customer_id = NULL"))
    store.close()
    assert subjects(search(capsys, str(path), "zoe@example.net")) == ["Hello there"]


def test_the_plain_table_output_lists_the_hits(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db, "search", "lea@example.fr"]) == 0
    out = capsys.readouterr().out
    assert "conv" in out.splitlines()[0] and "email" in out
