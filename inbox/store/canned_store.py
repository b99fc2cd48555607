"""The SQL of canned responses (table ``canned_responses``, migration 0002) and the default set.

Tags are kept as one comma-separated text. A row that cannot be read fully (a language the app
does not know, stray spaces in tags) is still listed with what could be read, so one bad row never
hides the others. :class:`CannedLibrary` gives the UI's picker and manager what they need.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

from inbox.errors import InputError
from inbox.replies.canned import LANGUAGES, CannedResponse, parse_tags, validated
from inbox.store.database import Database, to_db_time
from inbox.store.repository import Store

#: Set once the default responses were installed, so that deleting them all does not bring them
#: back at the next start.
DEFAULTS_SETTING = "canned_defaults_installed"

#: (title, body, lang, tags) of the responses a new workspace starts with.
DEFAULTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Accusé de réception",
        "Bonjour {first_name},\n\nMerci pour votre message. Nous l'avons bien reçu et revenons "
        "vers vous au plus vite.\n\nBien cordialement,\n{agent_name}",
        "fr",
        "accueil",
    ),
    (
        "Acknowledgement",
        "Hello {first_name},\n\nThank you for your message. We have received it and will get "
        "back to you shortly.\n\nKind regards,\n{agent_name}",
        "en",
        "welcome",
    ),
    (
        "Demande du numéro de commande",
        "Bonjour {first_name},\n\nPour retrouver votre commande, pourriez-vous nous indiquer son "
        "numéro ? Il figure dans l'e-mail de confirmation.\n\nMerci,\n{agent_name}",
        "fr",
        "commande",
    ),
    (
        "Order number request",
        "Hello {first_name},\n\nTo find your order, could you send us its number? It is in "
        "the confirmation e-mail.\n\nThank you,\n{agent_name}",
        "en",
        "order",
    ),
    (
        "Retard de livraison",
        "Bonjour {first_name},\n\nNous sommes désolés du retard de votre commande {order}. "
        "Nous avons relancé le transporteur et vous tenons informé(e) dès que nous avons "
        "du nouveau.\n\nBien cordialement,\n{agent_name}",
        "fr",
        "livraison, commande",
    ),
    (
        "Delivery delay",
        "Hello {first_name},\n\nWe are sorry that your order {order} is late. We have "
        "contacted the carrier and will keep you posted as soon as we hear back.\n\n"
        "Kind regards,\n{agent_name}",
        "en",
        "delivery, order",
    ),
    (
        "Remboursement effectué",
        "Bonjour {first_name},\n\nLe remboursement de votre commande {order} a été effectué. "
        "Il apparaîtra sur votre compte sous 5 à 10 jours ouvrés.\n\n"
        "Bien cordialement,\n{agent_name}",
        "fr",
        "remboursement, commande",
    ),
    (
        "Refund issued",
        "Hello {first_name},\n\nThe refund for your order {order} has been issued. It will "
        "appear on your account within 5 to 10 business days.\n\nKind regards,\n{agent_name}",
        "en",
        "refund, order",
    ),
    (
        "Passage en message privé",
        "Bonjour {first_name}, pour vous aider sans exposer vos informations, pouvez-vous "
        "nous écrire en message privé ? Merci !",
        "fr",
        "réseaux sociaux",
    ),
    (
        "Move to private message",
        "Hello {first_name}, so that we can help without sharing your details publicly, could "
        "you send us a private message? Thank you!",
        "en",
        "social",
    ),
    (
        "Clôture",
        "Bonjour {first_name},\n\nNous considérons votre demande n° {conversation_number} comme "
        "résolue. N'hésitez pas à répondre à ce message si besoin.\n\n"
        "Bonne journée,\n{agent_name}",
        "fr",
        "clôture",
    ),
    (
        "Closing",
        "Hello {first_name},\n\nWe consider your request #{conversation_number} solved. Just "
        "reply to this message if you need anything else.\n\nHave a nice day,\n{agent_name}",
        "en",
        "closing",
    ),
)


def _now() -> str:
    return to_db_time(datetime.now(UTC))


def _response(row: sqlite3.Row) -> CannedResponse:
    lang = str(row["lang"] or "").strip().lower()
    return CannedResponse(
        id=int(row["id"]),
        title=str(row["title"] or ""),
        body=str(row["body"] or ""),
        lang=lang if lang in LANGUAGES else lang or "en",
        tags=parse_tags(str(row["tags"] or "")),
    )


def list_responses(store: Store, lang: str | None = None) -> list[CannedResponse]:
    """Every response (of ``lang`` when given), by title."""
    if lang is None:
        rows = store._rows("SELECT * FROM canned_responses ORDER BY title COLLATE NOCASE, id")
    else:
        rows = store._rows(
            "SELECT * FROM canned_responses WHERE lang = ? ORDER BY title COLLATE NOCASE, id",
            [lang],
        )
    return [_response(r) for r in rows]


def get(store: Store, response_id: int) -> CannedResponse | None:
    rows = store._rows("SELECT * FROM canned_responses WHERE id = ?", [response_id])
    return _response(rows[0]) if rows else None


def _insert(db: Database, response: CannedResponse) -> int:
    cur = db.execute(
        "INSERT INTO canned_responses (title, body, lang, tags, updated_at) VALUES (?,?,?,?,?)",
        [response.title, response.body, response.lang, ",".join(response.tags), _now()],
    )
    return int(cur.lastrowid or 0)


def add(
    store: Store, title: str, body: str, lang: str, tags: str | Iterable[str] = ()
) -> CannedResponse:
    """Store a new response; InputError names the field that is wrong."""
    response = validated(title, body, lang, tags)
    new_id = store._write(lambda db: _insert(db, response))
    return CannedResponse(new_id, response.title, response.body, response.lang, response.tags)


def update(store: Store, response: CannedResponse) -> CannedResponse:
    """Replace a stored response's title, body, language and tags."""
    clean = validated(response.title, response.body, response.lang, response.tags, response.id)

    def write(db: Database) -> int:
        cur = db.execute(
            """UPDATE canned_responses SET title = ?, body = ?, lang = ?, tags = ?, updated_at = ?
               WHERE id = ?""",
            [clean.title, clean.body, clean.lang, ",".join(clean.tags), _now(), clean.id],
        )
        return int(cur.rowcount)

    if store._write(write) == 0:
        raise InputError(f"canned response {response.id}", "no such response")
    return clean


def delete(store: Store, response_id: int) -> bool:
    """Forget a response; False when there was none with that id."""

    def write(db: Database) -> int:
        cur = db.execute("DELETE FROM canned_responses WHERE id = ?", [response_id])
        return int(cur.rowcount)

    return store._write(write) > 0


def ensure_defaults(store: Store) -> int:
    """Install :data:`DEFAULTS` in a workspace that never had them and has no response yet.

    Returns how many were installed (0 when the table had rows or the defaults came before).
    """

    def write(db: Database) -> int:
        done = db.execute("SELECT 1 FROM settings WHERE key = ?", [DEFAULTS_SETTING]).fetchone()
        count = db.execute("SELECT COUNT(*) FROM canned_responses").fetchone()[0]
        db.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, '1')", [DEFAULTS_SETTING]
        )
        if done or count:
            return 0
        for title, body, lang, tags in DEFAULTS:
            _insert(db, validated(title, body, lang, tags))
        return len(DEFAULTS)

    return store._write(write)


class CannedLibrary:
    """The store's responses for the UI (``inbox.ui.canned.CannedSource``/``CannedEditor``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def responses(self) -> list[CannedResponse]:
        return list_responses(self._store)

    def add(self, title: str, body: str, lang: str, tags: Iterable[str]) -> CannedResponse:
        return add(self._store, title, body, lang, tags)

    def update(self, response: CannedResponse) -> CannedResponse:
        return update(self._store, response)

    def delete(self, response_id: int) -> None:
        delete(self._store, response_id)
