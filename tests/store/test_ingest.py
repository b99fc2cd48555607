"""The one ingest entry point: a batch in one transaction, each message rolled back alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from inbox.models import Account, Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.store.repository import Store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MAILBOX = Account("email:support@shop.test", Channel.EMAIL, "Support", frozenset({"support@shop.test"}))
LEA = Author(IdentityKind.EMAIL, "lea@example.fr", "lea@example.fr", "Léa")
PAUL = Author(IdentityKind.EMAIL, "paul@example.org", "paul@example.org", "Paul")


def mail(pid: str, author: Author, subject: str, minutes: int, **kwargs: object) -> Message:
    return Message(
        pid, Channel.EMAIL, Surface.EMAIL, Direction.INBOUND, author, f"text of {pid}",
        kwargs.pop("sent_at", T0 + timedelta(minutes=minutes)), subject=subject, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def counts(store: Store) -> dict[str, tuple[int, int]]:
    """Per message: its conversation's stored message count and number of message events."""
    rows = store._write(
        lambda db: db.execute(
            """SELECT m.provider_id, c.message_count,
                      (SELECT COUNT(*) FROM events e WHERE e.conversation_id = c.id AND e.kind = 'message_in')
               FROM messages m JOIN conversations c ON c.id = m.conversation_id"""
        ).fetchall()
    )
    return {str(pid): (int(n), int(ev)) for pid, n, ev in rows}


def test_a_message_that_fails_after_a_merge_costs_only_itself(tmp_path: Path) -> None:
    """The broken message joins two conversations changed earlier in the same batch (the batch
    writes them out before merging) and then fails: its rollback must not lose those changes."""
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(MAILBOX)
    broken = mail("c@x", LEA, "Re: both", 2, references=("a@x", "b@x"), meta={"field": object()})
    batch = [
        mail("a@x", LEA, "Order 12", 0),
        mail("a2@x", LEA, "Re: Order 12", 1, references=("a@x",), reply_to_id="a@x"),
        mail("b@x", PAUL, "Refund", 1),
        broken,
        mail("d@x", PAUL, "Re: Refund", 3, references=("b@x",), reply_to_id="b@x"),
    ]
    result = store.ingest(MAILBOX, batch)
    assert result.added == 4
    assert [r.source for r in result.rejections] == [f"{MAILBOX.id} message c@x"]
    assert "JSON serializable" in result.rejections[0].reason
    assert counts(store) == {"a@x": (2, 2), "a2@x": (2, 2), "b@x": (2, 2), "d@x": (2, 2)}


def test_the_same_batch_again_adds_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(MAILBOX)
    batch = [mail("a@x", LEA, "Order 12", 0), mail("b@x", PAUL, "Refund", 1)]
    assert store.ingest(MAILBOX, batch).added == 2
    again = store.ingest(MAILBOX, batch)
    assert again.added == 0 and again.duplicates == 2 and not again.rejections


def test_a_batch_without_a_broken_message_takes_no_savepoint(tmp_path: Path) -> None:
    """Any open savepoint makes every write keep a statement journal and FTS5 write out its
    pending terms (half the import's speed): the common batch is stored with none, and only a
    batch with a broken message is stored again one message at a time."""
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(MAILBOX)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    good = store.ingest(MAILBOX, [mail("a@x", LEA, "Order 12", 0), mail("b@x", PAUL, "Refund", 1)])
    assert good.added == 2 and not [s for s in statements if s.startswith("SAVEPOINT")]
    statements.clear()
    broken = mail("c@x", LEA, "Re: Order 12", 2, references=("a@x",), meta={"field": object()})
    mixed = store.ingest(MAILBOX, [mail("d@x", PAUL, "Re: Refund", 3, references=("b@x",)), broken])
    store.db.conn.set_trace_callback(None)
    assert mixed.added == 1 and [r.source for r in mixed.rejections] == [f"{MAILBOX.id} message c@x"]
    assert statements.count("ROLLBACK") == 1 and any(s.startswith("SAVEPOINT") for s in statements)
    assert counts(store) == {"a@x": (1, 1), "b@x": (2, 2), "d@x": (2, 2)}
