"""Customers across channels in the store: identities, links, merges and suggestions.

A mixin of :class:`inbox.store.repository.Store` (it uses the store's ``_rows``/``_write`` and
``queue``), kept apart so that the repository module stays readable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from inbox.errors import InputError
from inbox.models import (
    Conversation,
    Customer,
    Identity,
    IdentityKind,
    LinkSuggestion,
    QueueFilter,
    QueueSort,
    Status,
)
from inbox.store.database import Database, to_db_time

T = TypeVar("T")


class _StoreCore(Protocol):
    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]: ...
    def _write(self, fn: Callable[[Database], T]) -> T: ...
    def queue(self, flt: QueueFilter, *, limit: int = 200, offset: int = 0) -> list[Conversation]: ...
    def customer(self, customer_id: int) -> Customer: ...
    def identity(self, kind: IdentityKind, key: str) -> Identity | None: ...
    def link(self, kind: IdentityKind, key: str, customer_id: int, *, handle: str = "", name: str = "") -> Identity: ...


class CustomerRepository:

    def customer(self: _StoreCore, customer_id: int) -> Customer:
        rows = self._rows("SELECT * FROM customers WHERE id = ?", [customer_id])
        if not rows:
            raise InputError("customer", f"no customer with id {customer_id}")
        r = rows[0]
        return Customer(int(r["id"]), r["display_name"], r["crm_number"], r["notes"], bool(r["vip"]))

    def identities(self: _StoreCore, customer_id: int) -> list[Identity]:
        rows = self._rows("SELECT * FROM identities WHERE customer_id = ? ORDER BY kind, key", [customer_id])
        return [identity_from_row(r) for r in rows]

    def identity(self: _StoreCore, kind: IdentityKind, key: str) -> Identity | None:
        from inbox.conversations.identity import normalise_key

        rows = self._rows(
            "SELECT * FROM identities WHERE kind = ? AND (key = ? OR handle = ? OR handle = ?)",
            [kind.value, normalise_key(kind, key), key, "@" + key.lstrip("@")],
        )
        return identity_from_row(rows[0]) if rows else None

    def customer_conversations(self: _StoreCore, customer_id: int) -> list[Conversation]:
        return self.queue(
            QueueFilter(statuses=frozenset(Status), customer_id=customer_id, sort=QueueSort.NEWEST), limit=10_000
        )

    def customer_by_crm(self: _StoreCore, crm_number: str) -> Customer | None:
        rows = self._rows("SELECT id FROM customers WHERE crm_number = ?", [crm_number])
        return self.customer(int(rows[0]["id"])) if rows else None

    def update_customer(
        self: _StoreCore,
        customer_id: int,
        *,
        display_name: str | None = None,
        crm_number: str | None = None,
        notes: str | None = None,
        vip: bool | None = None,
    ) -> None:
        from inbox.conversations.identity import comparable_name

        def write(db: Database) -> None:
            if display_name is not None:
                db.execute(
                    "UPDATE customers SET display_name = ?, name_key = ? WHERE id = ?",
                    [display_name, comparable_name(display_name), customer_id],
                )
            if crm_number is not None:
                db.execute("UPDATE customers SET crm_number = ? WHERE id = ?", [crm_number or None, customer_id])
            if notes is not None:
                db.execute("UPDATE customers SET notes = ? WHERE id = ?", [notes, customer_id])
            if vip is not None:
                db.execute("UPDATE customers SET vip = ? WHERE id = ?", [int(vip), customer_id])

        self.customer(customer_id)
        self._write(write)

    def create_customer(self: _StoreCore, display_name: str, crm_number: str | None = None) -> int:
        return self._write(lambda db: _create_customer(db, display_name, crm_number))

    def link(self: _StoreCore, kind: IdentityKind, key: str, customer_id: int, *, handle: str = "", name: str = "") -> Identity:
        """Attach an identity (created if new) to a customer; the customer's conversations follow."""
        from inbox.conversations.identity import normalise_key

        self.customer(customer_id)
        norm = normalise_key(kind, key)

        def write(db: Database) -> None:
            existing = self.identity(kind, key)
            if existing is None:
                db.execute(
                    "INSERT INTO identities (kind, key, handle, display_name, customer_id) VALUES (?,?,?,?,?)",
                    [kind.value, norm, handle or key, name, customer_id],
                )
                return
            old = existing.customer_id
            db.execute("UPDATE identities SET customer_id = ? WHERE id = ?", [customer_id, existing.id])
            db.execute("DELETE FROM link_suggestions WHERE identity_id = ? AND customer_id = ?", [existing.id, customer_id])
            if old is not None and old != customer_id:
                _move_identity_conversations(db, existing.id, old, customer_id)
                _drop_if_empty(db, old)

        self._write(write)
        found = self.identity(kind, key)
        assert found is not None
        return found

    def unlink(self: _StoreCore, kind: IdentityKind, key: str) -> int:
        """Detach an identity into a customer of its own (returned), taking its conversations."""
        found = self.identity(kind, key)
        if found is None:
            raise InputError(f"{kind.value}:{key}", "no such identity")

        def write(db: Database) -> int:
            new_id = _create_customer(db, found.display_name or found.handle or found.key, None)
            db.execute("UPDATE identities SET customer_id = ? WHERE id = ?", [new_id, found.id])
            if found.customer_id is not None:
                _move_identity_conversations(db, found.id, found.customer_id, new_id)
            return new_id

        return self._write(write)

    def merge_customers(self: _StoreCore, keep: int, absorbed: int) -> None:
        """Merge ``absorbed`` into ``keep``: every identity and conversation is kept."""
        if keep == absorbed:
            raise InputError("merge", "a customer cannot be merged with itself")
        a, b = self.customer(keep), self.customer(absorbed)

        def write(db: Database) -> None:
            db.execute("UPDATE identities SET customer_id = ? WHERE customer_id = ?", [keep, absorbed])
            db.execute("UPDATE conversations SET customer_id = ? WHERE customer_id = ?", [keep, absorbed])
            db.execute("UPDATE OR IGNORE link_suggestions SET customer_id = ? WHERE customer_id = ?", [keep, absorbed])
            notes = [n for n in (a.notes, b.notes) if n]
            if a.crm_number and b.crm_number and a.crm_number != b.crm_number:
                # one CRM number per customer: the kept one stays, the other is not lost
                notes.append(f"Also CRM {b.crm_number} (merged)")
            db.execute("DELETE FROM link_suggestions WHERE customer_id = ?", [absorbed])
            # the absorbed row goes first: its CRM number is unique and may move to the kept one
            db.execute("DELETE FROM customers WHERE id = ?", [absorbed])
            db.execute(
                "UPDATE customers SET notes = ?, crm_number = COALESCE(crm_number, ?), vip = MAX(vip, ?) WHERE id = ?",
                [chr(10).join(notes), b.crm_number, int(b.vip), keep],
            )
            db.execute(
                "DELETE FROM link_suggestions WHERE customer_id = ? AND identity_id IN (SELECT id FROM identities WHERE customer_id = ?)",
                [keep, keep],
            )

        self._write(write)

    def suggestions(self: _StoreCore, customer_id: int) -> list[LinkSuggestion]:
        """Open suggestions that concern this customer (its identities, or identities to it)."""
        # Two index lookups (the customer's identities; suggestions naming the customer) rather
        # than one OR, which SQLite answers by scanning every suggestion.
        columns = "s.id AS sid, s.customer_id AS target, s.reason, cu.display_name AS target_name, i.*"
        joins = "JOIN customers cu ON cu.id = s.customer_id"
        rows = self._rows(
            f"""SELECT {columns} FROM identities i JOIN link_suggestions s ON s.identity_id = i.id {joins}
                WHERE i.customer_id = ? AND s.state = 'open'
                UNION
                SELECT {columns} FROM link_suggestions s JOIN identities i ON i.id = s.identity_id {joins}
                WHERE s.customer_id = ? AND s.state = 'open'
                ORDER BY sid""",
            [customer_id, customer_id],
        )
        return [LinkSuggestion(int(r["sid"]), identity_from_row(r), int(r["target"]), r["target_name"], r["reason"]) for r in rows]

    def resolve_suggestion(self: _StoreCore, suggestion_id: int, accept: bool) -> None:
        rows = self._rows(
            """SELECT s.customer_id, i.kind, i.key FROM link_suggestions s JOIN identities i ON i.id = s.identity_id
               WHERE s.id = ?""",
            [suggestion_id],
        )
        if not rows:
            raise InputError("suggestion", f"no suggestion with id {suggestion_id}")
        if accept:
            self.link(IdentityKind(rows[0]["kind"]), rows[0]["key"], int(rows[0]["customer_id"]))
        self._write(
            lambda db: db.execute(
                "UPDATE link_suggestions SET state = ? WHERE id = ?", ["accepted" if accept else "rejected", suggestion_id]
            )
        )


def identity_from_row(r: sqlite3.Row) -> Identity:
    return Identity(
        int(r["id"]), IdentityKind(r["kind"]), r["key"], r["handle"], r["display_name"], r["customer_id"], r["followers"]
    )


def _create_customer(db: Database, name: str, crm_number: str | None) -> int:
    from datetime import UTC

    from inbox.conversations.identity import comparable_name

    cur = db.execute(
        "INSERT INTO customers (display_name, crm_number, name_key, created_at) VALUES (?,?,?,?)",
        [name, crm_number, comparable_name(name), to_db_time(datetime.now(UTC))],
    )
    return int(cur.lastrowid or 0)


def _move_identity_conversations(db: Database, identity_id: int, old: int, new: int) -> None:
    """Conversations whose customer messages came from this identity follow it to ``new``."""
    db.execute(
        """UPDATE conversations SET customer_id = ? WHERE customer_id = ? AND id IN
             (SELECT conversation_id FROM messages WHERE identity_id = ?)""",
        [new, old, identity_id],
    )


def _drop_if_empty(db: Database, customer_id: int) -> None:
    """A customer left with no identity, conversation, CRM number or notes is removed."""
    db.execute(
        """DELETE FROM customers WHERE id = ? AND crm_number IS NULL AND notes = ''
             AND NOT EXISTS (SELECT 1 FROM identities WHERE customer_id = ?)
             AND NOT EXISTS (SELECT 1 FROM conversations WHERE customer_id = ?)""",
        [customer_id, customer_id, customer_id],
    )
