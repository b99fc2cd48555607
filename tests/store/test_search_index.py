"""A typed word is expanded into the index terms it begins, through ``search_terms``: the same
messages are found as with FTS5's own prefix query, and every path that writes a message feeds
the vocabulary."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbox.models import Message
from inbox.providers.email.parse import parse_email
from inbox.replies.compose import compose_note
from inbox.store.database import Database
from inbox.store.ingest import ingest
from inbox.store.repository import Store
from inbox.store.schema import MIGRATIONS
from inbox.store.search import fts_query, word_conversations, word_hits
from inbox.store.search_index import MAX_EXPANSION, index_term, terms_beginning
from tests.corpus import corpus_files
from tests.factories import MAILBOX, T0, mail


@pytest.fixture()
def store() -> Iterator[Store]:
    s = Store.open(":memory:")
    s.save_account(MAILBOX)
    yield s
    s.close()


def _index_terms(conn: sqlite3.Connection) -> set[str]:
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_terms USING fts5vocab(main, messages_fts, row)")
    return {str(r[0]) for r in conn.execute("SELECT term FROM temp.fts_terms")}


def _known_terms(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT term FROM search_terms")}


def _expand(conn: sqlite3.Connection, query: str) -> str | None:
    return fts_query(query, lambda prefix: terms_beginning(conn, prefix))


def _corpus_mail() -> list[Message]:
    files = corpus_files("cpython-test_email", suffixes=(".txt", ".eml"))
    files += corpus_files("mikel-mail", "spec", "fixtures", "emails", suffixes=(".eml",))
    assert len(files) > 100
    return [parse_email(path.read_bytes(), str(path)) for path in files]


def test_every_term_of_real_mail_is_in_the_vocabulary_and_found_alike(store: Store) -> None:
    messages = _corpus_mail()
    for start in range(0, len(messages), 50):
        store.ingest(MAILBOX, messages[start : start + 50])
    conn = store.db.conn
    indexed = _index_terms(conn)
    assert len(indexed) > 1500
    assert indexed <= _known_terms(conn)
    _index_is_whole(conn)

    words = sorted({w for m in messages for w in re.findall(r"\w{3,}", f"{m.subject} {m.text}")})[::7]
    queries = [w[:n] for w in words for n in (3, 5)] + words + ["livr", "Décev", "ÉTÉ", "straße", "ﬁle"]
    queries += [f"{a} {b}" for a, b in zip(words[::11], words[5::11], strict=False)]
    expanded = 0
    for query in queries:
        plain, fast = fts_query(query), _expand(conn, query)
        assert plain is not None and fast is not None, query
        expanded += "*" not in fast
        # The same messages; bm25 weighs each expanded term on its own, so a ranked order may differ.
        assert sorted(r["id"] for r in word_hits(conn, fast, 600)) == sorted(r["id"] for r in word_hits(conn, plain, 600))
        assert word_conversations(conn, fast, 500) == word_conversations(conn, plain, 500), query
    assert expanded > len(queries) // 2  # most words took the expanded path


def test_a_typed_word_becomes_the_plain_terms_it_begins(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", text="Ma livraison est en retard, livrée hier ? Le livreur l'a livré.")])
    conn = store.db.conn
    assert _expand(conn, "Livr") == '("livraison" OR "livre" OR "livree" OR "livreur")'
    assert _expand(conn, "livr retard") == '("livraison" OR "livre" OR "livree" OR "livreur") AND ("retard")'
    # Several terms in one word, a phrase and a prefix nothing begins keep FTS5's own syntax.
    assert _expand(conn, "l'avion") == "\"l'avion\" *"
    assert _expand(conn, '"en retard"') == '"en retard"'
    assert _expand(conn, "zzz") == '"zzz" *'
    assert [h.conversation_id for h in store.search("livr")] == [store.search("retard")[0].conversation_id]


def test_a_prefix_standing_for_too_many_terms_is_left_to_fts5(store: Store) -> None:
    words = " ".join(f"re{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(MAX_EXPANSION + 1))
    store.ingest(MAILBOX, [mail("a@x", text=words)])
    assert _expand(store.db.conn, "re") == '"re" *'
    assert _expand(store.db.conn, "rea") is not None and "*" not in str(_expand(store.db.conn, "rea"))
    assert len(store.search("re")) == 1


def _index_is_whole(conn: sqlite3.Connection) -> None:
    """FTS5's own check of the index against the messages table (raises when they differ)."""
    conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    assert conn.execute("SELECT count(*) FROM messages_unindexed").fetchone()[0] == 0


def test_every_write_leaves_the_index_whole_at_its_commit(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", text="Bonjour"), mail("b@x", text="Au revoir", minutes=3)])
    cid = store.search("bonjour")[0].conversation_id
    _index_is_whole(store.db.conn)
    # A note is written by another path than ingest: found by its words and by prefix at once.
    note = compose_note(store.conversation(cid), "Remboursement accordé par téléphone", "camille", T0)
    note_id = store.add_note(MAILBOX.id, cid, note)
    assert "*" not in str(_expand(store.db.conn, "rembours"))
    assert [h.conversation_id for h in store.search("rembours")] == [cid]
    _index_is_whole(store.db.conn)
    # A changed text: the old words leave the index, the new ones come in.
    store._write(lambda db: db.execute("UPDATE messages SET text = 'Colis égaré' WHERE id = ?", [note_id]))
    assert [h.conversation_id for h in store.search("égar")] == [cid]
    assert not store.search("remboursement")

    def rewrite_same(db: Database) -> int:  # as a team replica's upsert rewrites every field
        db.execute("UPDATE messages SET text = text, subject = subject, author_name = author_name")
        return int(db.execute("SELECT count(*) FROM messages_unindexed").fetchone()[0])

    assert store._write(rewrite_same) == 0  # the same text is not indexed again
    _index_is_whole(store.db.conn)
    # Written, changed and deleted in one transaction, before they were ever indexed.
    def write_change_delete(db: Database) -> None:
        ingest(db, MAILBOX, [mail("c@x", text="Éphémère"), mail("d@x", text="Brouillon", minutes=9)])
        db.execute("UPDATE messages SET text = 'Version finale' WHERE text = 'Brouillon'")
        db.execute("DELETE FROM messages WHERE text = 'Éphémère'")

    store._write(write_change_delete)
    _index_is_whole(store.db.conn)
    assert not store.search("éphém") and not store.search("brouillon") and store.search("finale")
    store._write(lambda db: db.execute("DELETE FROM messages WHERE id = ?", [note_id]))
    _index_is_whole(store.db.conn)
    store.remove_account(MAILBOX.id, wipe=True)
    _index_is_whole(store.db.conn)
    assert not store.search("bonjour")
    assert {"remboursement", "accorde", "colis", "egare"} <= {t for (t,) in store.db.execute("SELECT term FROM search_terms")}


def test_a_transaction_rolled_back_leaves_no_trace_in_the_index(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", text="Bonjour")])

    def fail(db: Database) -> None:
        db.execute("UPDATE messages SET text = 'Annulation' WHERE id = (SELECT min(id) FROM messages)")
        raise RuntimeError("crash before the commit")

    with pytest.raises(RuntimeError):
        store._write(fail)
    _index_is_whole(store.db.conn)
    assert store.search("bonjour") and not store.search("annulation")
    assert "annulation" not in {t for (t,) in store.db.execute("SELECT term FROM search_terms")}


def test_the_migration_copies_the_terms_of_an_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS.apply(Database(conn), stop_before="0011_search_index_at_commit")
    old = Store(Database(conn), str(path))  # as 0010 left it: the triggers write the index
    old.save_account(MAILBOX)
    old.ingest(MAILBOX, [mail("a@x", text="Facture impayée, relance envoyée")])
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'impayee'").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'messages_unindexed'").fetchone() == (0,)
    old.close()
    store = Store.open(path)
    assert [m.name for m in MIGRATIONS.pending(Database(store.db.conn))] == []
    assert {"facture", "impayee", "relance", "envoyee"} <= {t for (t,) in store.db.execute("SELECT term FROM search_terms")}
    assert _expand(store.db.conn, "impay") == '("impayee")'
    store.ingest(MAILBOX, [mail("b@x", text="Facture réglée", minutes=5)])
    assert len(store.search("factur")) == 2
    _index_is_whole(store.db.conn)
    store.close()


@pytest.mark.parametrize(
    ("word", "term"),
    [("Livrée", "livree"), ("ÉTÉ", "ete"), ("refund?", "refund"), ("4411", "4411"), ("l'avion", None),
     ("straße", None), ("ﬁle", None), ("名前", None), ("***", None)],
)  # fmt: skip
def test_a_word_is_folded_as_the_tokenizer_folds_it_or_left_to_it(word: str, term: str | None) -> None:
    assert index_term(word) == term
