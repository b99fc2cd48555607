"""Writing the search index, and reading its vocabulary, so that what an agent types is looked up
term by term.

**Indexed at commit.** The message triggers (migration 0011) only note a new or changed message
in ``messages_unindexed``; :func:`index_messages` runs before every COMMIT of the store
(``Database.commit``) and indexes the noted messages with one INSERT ... SELECT. A trigger that
wrote to FTS5 made every message INSERT open a statement savepoint, at which FTS5 writes out its
pending terms: 55 µs a message, 9 µs in bulk. The index is complete at every commit; inside a
transaction, the messages it wrote are not yet found by a search in that same transaction.

**The vocabulary.** An agent types the beginning of a word ("livr" for "livraison"). FTS5
answers a prefix query (``"livr" *``) by merging the match lists of every term with that prefix
in memory before it returns a row, which grows with the store (4-8 ms a word at 1M messages,
84 ms for ``re``), while a plain term is read lazily, newest first, and the read stops at the
limit. So a typed word is expanded into the terms it stands for (``"livraison" OR "livre" OR
"livrer"``) by an index range on ``search_terms``, which holds every term of the index: the
indexed messages' text goes through ``search_terms_new``, a contentless FTS5 table with the
index's tokenizer, whose terms are added to ``search_terms``. Terms of deleted messages stay: a
term that matches nothing costs a lookup that finds nothing.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

#: Sorts after every text SQLite can hold: ``key >= prefix AND key < prefix || TOP`` is the range
#: of keys that begin with ``prefix`` (terms here, addresses, handles and names in ``search``).
TOP = "\U0010ffff"
#: A prefix standing for more terms than this ("smith" when addresses hold smith1001, smith1007,
#: ...) is left to FTS5's own prefix query: each term of an OR costs a seek in the index (~20 µs),
#: and past ~50 terms the seeks cost more than the merge of their short match lists.
MAX_EXPANSION = 48
_TOKEN = re.compile(r"[^\W_]+")


def index_messages(conn: sqlite3.Connection) -> None:
    """Index the messages noted in ``messages_unindexed`` and add their terms to the
    vocabulary, in the caller's transaction (before its COMMIT)."""
    if conn.execute("SELECT 1 FROM messages_unindexed LIMIT 1").fetchone() is None:
        return
    conn.execute(
        """INSERT INTO messages_fts(rowid, subject, text, author_name)
           SELECT m.id, m.subject, m.text, m.author_name FROM messages_unindexed u JOIN messages m ON m.id = u.id"""
    )
    conn.execute(
        """INSERT INTO search_terms_new(rowid, words)
           SELECT m.id, coalesce(m.subject, '') || ' ' || coalesce(m.text, '') || ' ' || coalesce(m.author_name, '')
           FROM messages_unindexed u JOIN messages m ON m.id = u.id"""
    )
    conn.execute("INSERT OR IGNORE INTO search_terms(term) SELECT term FROM search_terms_new_vocab")
    conn.execute("INSERT INTO search_terms_new(search_terms_new) VALUES ('delete-all')")
    conn.execute("DELETE FROM messages_unindexed")


def index_term(word: str) -> str | None:
    """The one index term ``word`` is, as the tokenizer (``unicode61 remove_diacritics 2``) makes
    it: case and Latin accents folded ("Livré" is ``livre``). None when the word is several
    terms ("l'avion"), or when its folded form is not plain ASCII letters and digits, where this
    folding and the tokenizer's could differ: such words keep FTS5's own prefix query."""
    tokens = _TOKEN.findall(word)
    if len(tokens) != 1:
        return None
    decomposed = unicodedata.normalize("NFD", tokens[0].lower())
    term = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return term if term.isascii() and term.isalnum() else None


def terms_beginning(conn: sqlite3.Connection, prefix: str) -> list[str] | None:
    """The index terms that begin with ``prefix``, or None when there are none or more than
    :data:`MAX_EXPANSION` (the caller then asks FTS5 for the prefix itself)."""
    found = [
        str(row[0])
        for row in conn.execute(
            "SELECT term FROM search_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
            [prefix, prefix + TOP, MAX_EXPANSION + 1],
        )
    ]
    return found if 0 < len(found) <= MAX_EXPANSION else None
