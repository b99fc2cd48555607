"""Turning what a user types into a safe FTS5 query (every term quoted, nothing raises), and
finding the conversations a query names: a number, an address, a handle, a customer."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from inbox.models import Channel, SearchHit
from inbox.store.base import StoreBase
from inbox.store.database import from_db_time
from inbox.store.search_index import TOP, index_term, terms_beginning

_TERM = re.compile(r'"([^"]*)"|(\S+)')
MAX_TERMS = 16
MAX_TERM_LENGTH = 200


def fts_query(text: str, expand: Callable[[str], list[str] | None] | None = None) -> str | None:
    """An FTS5 MATCH expression for ``text``: quoted phrases stay phrases, other words are
    prefix-matched terms, all ANDed. FTS syntax characters typed by a user are only text.
    ``expand`` gives the index terms a word's prefix stands for (``search_terms``): those are
    ORed as plain terms, which FTS5 reads lazily, instead of a prefix term, which it merges in
    memory. Returns None when nothing searchable remains."""
    parts: list[str] = []
    for phrase, word in _TERM.findall(text[:4000]):
        raw = phrase if phrase else word
        raw = raw.replace('"', " ").replace("\x00", " ").strip()[:MAX_TERM_LENGTH]
        if not raw or not any(ch.isalnum() for ch in raw):
            continue
        quoted = '"' + raw + '"'
        terms = None if phrase or expand is None else _expanded(raw, expand)
        parts.append(quoted if phrase else terms or quoted + " *")
        if len(parts) >= MAX_TERMS:
            break
    return " AND ".join(parts) if parts else None


def _expanded(word: str, expand: Callable[[str], list[str] | None]) -> str | None:
    term = index_term(word)
    found = expand(term) if term else None
    if not found:
        return None
    return "(" + " OR ".join(f'"{t}"' for t in found) + ")"


# -- what an agent types that names a conversation or a customer rather than describing it --------

_CONVERSATION_NUMBER = re.compile(r"#?\s*(\d{1,18})")
_HANDLE = re.compile(r"@[\w.]{1,50}")
_ADDRESS = re.compile(r"[^\s@\"<>]{1,64}@[^\s@\"<>]{0,255}")
_NAME = re.compile(r"[^\W\d_]+(?:[ '’.-]+[^\W\d_]+)*")
NAMED_CUSTOMERS = 20  # customers a name or address prefix may name, newest conversations first


def named_conversations(conn: sqlite3.Connection, text: str, limit: int) -> list[int]:
    """Conversations the query names: its number (``4411`` or ``#4411``), a customer's CRM number,
    email address (or its beginning), X handle (``@lea``, or its beginning) or name (``Léa
    Martin``, accents and case ignored, or its beginning). Newest first, each lookup on an index.
    Words are found by the full-text search; this finds what a word search cannot."""
    query = " ".join(text.split())[:320]
    if not query or limit <= 0:
        return []
    found: dict[int, None] = {}
    number = _CONVERSATION_NUMBER.fullmatch(query)
    if number:
        row = conn.execute("SELECT id FROM conversations WHERE id = ?", [int(number.group(1))]).fetchone()
        if row:
            found[int(row[0])] = None
    customers = [int(r[0]) for r in conn.execute(
        "SELECT id FROM customers WHERE crm_number IN (?, ?)", [query, query.upper()]
    )]  # fmt: skip
    identities: list[int] = []
    if _HANDLE.fullmatch(query):
        rows = conn.execute(
            """SELECT id, customer_id FROM identities WHERE handle >= ? COLLATE NOCASE
               AND handle < ? COLLATE NOCASE ORDER BY handle COLLATE NOCASE LIMIT ?""",
            [query, query + TOP, NAMED_CUSTOMERS],
        ).fetchall()
        _split(rows, customers, identities)
    elif _ADDRESS.fullmatch(query.strip("<>")):
        address = query.strip("<>").lower()
        rows = conn.execute(
            """SELECT id, customer_id FROM identities WHERE kind = 'email' AND key >= ? AND key < ?
               ORDER BY key LIMIT ?""",
            [address, address + TOP, NAMED_CUSTOMERS],
        ).fetchall()
        _split(rows, customers, identities)
    elif _NAME.fullmatch(query):
        from inbox.conversations.identity import comparable_name

        key = comparable_name(query)
        if key:
            customers += [int(r[0]) for r in conn.execute(
                "SELECT id FROM customers WHERE name_key >= ? AND name_key < ? ORDER BY name_key LIMIT ?",
                [key, key + TOP, NAMED_CUSTOMERS],
            )]  # fmt: skip
    if customers:
        marks = ",".join("?" * len(customers))
        for (cid,) in conn.execute(
            f"SELECT id FROM conversations WHERE customer_id IN ({marks}) ORDER BY last_message_at DESC LIMIT ?",
            [*customers, limit],
        ):
            found[int(cid)] = None
    if identities:
        marks = ",".join("?" * len(identities))
        for (cid,) in conn.execute(
            f"""SELECT conversation_id FROM messages WHERE identity_id IN ({marks})
                GROUP BY conversation_id ORDER BY MAX(sent_at) DESC LIMIT ?""",
            [*identities, limit],
        ):
            found[int(cid)] = None
    return list(found)[:limit]


def _split(rows: list[tuple[int, int | None]], customers: list[int], identities: list[int]) -> None:
    """Identities with a customer name that customer (all their conversations); the others
    name the messages they wrote."""
    for identity_id, customer_id in rows:
        if customer_id is None:
            identities.append(int(identity_id))
        else:
            customers.append(int(customer_id))


def newest_messages(conn: sqlite3.Connection, conversation_ids: list[int]) -> list[sqlite3.Row]:
    """The newest message of each conversation, in the order given: a named conversation's hit."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    rows = []
    for cid in conversation_ids:
        row = cursor.execute(
            """SELECT id, conversation_id, channel, author_name, COALESCE(subject, '') AS subject,
                      substr(text, 1, 160) AS snip, sent_at
               FROM messages WHERE conversation_id = ? ORDER BY sent_at DESC, id DESC LIMIT 1""",
            [cid],
        ).fetchone()
        if row is not None:
            rows.append(row)
    return rows


#: A query with at most this many matching messages is ranked by relevance (bm25) over all of
#: them; with more, the newest come first. bm25 reads the whole list of every term's matches to
#: weigh it (a word in 100,000 messages: 73-132 ms at 1M), while the newest matches are read in
#: rowid order and the read stops after ``limit``.
RANKED_AT_MOST = 500


def word_hits(conn: sqlite3.Connection, match: str, limit: int) -> list[sqlite3.Row]:
    """Messages matching an :func:`fts_query` expression, with a snippet: by relevance when few
    messages match, newest first otherwise."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    newest = cursor.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        [match, RANKED_AT_MOST + 1],
    ).fetchall()
    if not newest:
        return []
    order = "rank" if len(newest) <= RANKED_AT_MOST else "rowid DESC"
    return cursor.execute(
        f"""SELECT m.id, m.conversation_id, m.channel, m.author_name, COALESCE(m.subject, '') AS subject,
                   hit.snip, m.sent_at
            FROM (SELECT rowid, rank, snippet(messages_fts, 1, '[', ']', '…', 12) AS snip
                  FROM messages_fts WHERE messages_fts MATCH ? ORDER BY {order} LIMIT ?) AS hit
            JOIN messages m ON m.id = hit.rowid ORDER BY hit.{order}""",
        [match, limit],
    ).fetchall()


def word_conversations(conn: sqlite3.Connection, match: str, limit: int) -> list[int]:
    """Conversations of the newest 20,000 messages matching ``match``, through the covering
    index of message ids (a lookup in the table reads a page of message text per match)."""
    rows = conn.execute(
        """SELECT DISTINCT m.conversation_id FROM
             (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 20000) AS hit
           JOIN messages m INDEXED BY messages_id_conversation ON m.id = hit.rowid LIMIT ?""",
        [match, limit],
    )
    return [int(r[0]) for r in rows]


class SearchRepository(StoreBase):
    """Search by what names a conversation, then by words (a part of :class:`inbox.store.repository.Store`)."""

    def search(self, query: str, *, limit: int = 50) -> list[SearchHit]:
        """Conversations the query names (number, customer number, address, handle, name; newest
        message of each), then messages whose words match, without repeating a message."""
        with self._guard() as db:
            rows = newest_messages(db.conn, named_conversations(db.conn, query, limit))
        if len(rows) < limit:
            with self._guard() as db:
                match = fts_query(query, lambda prefix: terms_beginning(db.conn, prefix))
                rows += word_hits(db.conn, match, limit) if match is not None else []
        hits: dict[int, SearchHit] = {}
        for r in rows:
            hits.setdefault(
                int(r["id"]),
                SearchHit(
                    int(r["id"]),
                    int(r["conversation_id"]),
                    Channel(r["channel"]),
                    r["author_name"],
                    r["subject"],
                    r["snip"] or "",
                    from_db_time(r["sent_at"]),
                ),
            )
        return list(hits.values())[:limit]

    def search_conversation_ids(self, query: str, *, limit: int = 2000) -> tuple[int, ...]:
        with self._guard() as db:
            found = dict.fromkeys(named_conversations(db.conn, query, limit))
        if len(found) < limit:
            with self._guard() as db:
                match = fts_query(query, lambda prefix: terms_beginning(db.conn, prefix))
                if match is not None:
                    found.update(dict.fromkeys(word_conversations(db.conn, match, limit)))
        return tuple(found)[:limit]
