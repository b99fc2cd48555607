"""The agent's changes in team mode: each one an intent, applied to the replica at once, queued
with its number and pushed in order (the commands port the UI calls, as the solo store is).

:class:`TeamRepository` puts these commands behind the same :class:`~inbox.repository.Repository`
interface the window already uses (reads from the replica, writes as intents), so the window,
its shortcuts and the customer panel work unchanged in team mode.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from inbox.errors import InputError
from inbox.models import IdentityKind, Priority, Status, Surface
from inbox.store.replica import Replica
from inbox.store.repository import Store

Clock = Callable[[], datetime]

#: A public post's private counterpart (the server's reply intent accepts these surfaces).
_PRIVATELY = {Surface.COMMENT: Surface.MESSENGER, Surface.MENTION: Surface.DM}


class TeamCommands:
    """reply, note, set_status, assign, tag_add, tag_remove, set_priority, link, unlink, merge."""

    def __init__(self, replica: Replica, wake: Callable[[], None] = lambda: None, clock: Clock | None = None) -> None:
        self.replica = replica
        self._wake = wake
        self._clock = clock or (lambda: datetime.now(UTC))

    def _queue(self, intent: dict[str, Any]) -> int:
        seq = self.replica.enqueue(intent, self._clock())
        self._wake()
        return seq

    def reply(
        self, conversation_id: int, text: str, *, seen_message_id: int | None = None, surface: Surface | None = None
    ) -> int:
        """Queue a reply, guarded by the conversation version the agent has seen (the stale-reply
        check; ``seen_message_id``: only what came up to that message); ``surface``: where to
        answer (none: where the customer wrote)."""
        if not text.strip():
            raise InputError("reply", "a reply needs text")
        seen = self.replica.last_message_id(conversation_id) if seen_message_id is None else seen_message_id
        intent: dict[str, Any] = {"type": "reply", "conversation_id": conversation_id, "text": text,
                                  "seen_message_id": seen}  # fmt: skip
        version = self._seen_version(conversation_id, seen)
        if version is not None:
            intent["seen_version"] = version
        if surface is not None:
            intent["surface"] = surface.value
        return self._queue(intent)

    def _seen_version(self, conversation_id: int, up_to: int) -> int | None:
        """The newest version at which a message the agent has (up to message ``up_to``) entered
        the conversation; None from a replica pulled before the server sent versions."""
        rows = self.replica.store._rows(
            """SELECT max(CAST(json_extract(meta, '$.version') AS INTEGER)) AS v FROM messages
               WHERE conversation_id = ? AND id > 0 AND id <= ?""",
            [conversation_id, up_to],
        )
        return None if not rows or rows[0]["v"] is None else int(rows[0]["v"])

    def private_surface(self, conversation_id: int) -> Surface:
        """Where a private answer to this conversation goes: Messenger for a Facebook comment, a DM
        for an X post (as the solo outbox's ``dm``); InputError where nothing is public."""
        rows = self.replica.store._rows(
            """SELECT surface FROM messages WHERE conversation_id = ? AND direction = 'in' AND NOT private
               ORDER BY sent_at DESC, id DESC LIMIT 1""",
            [conversation_id],
        )
        answered = Surface(rows[0]["surface"]) if rows else None
        private = _PRIVATELY.get(answered) if answered is not None else None
        if private is None:
            raise InputError("reply", "this conversation is private already: reply normally")
        return private

    def note(self, conversation_id: int, text: str) -> int:
        if not text.strip():
            raise InputError("note", "a note needs text")
        return self._queue({"type": "note", "conversation_id": conversation_id, "text": text})

    def set_status(self, conversation_id: int, status: Status) -> int:
        return self._queue({"type": "status", "conversation_id": conversation_id, "status": status.value})

    def set_priority(self, conversation_id: int, priority: Priority) -> int:
        return self._queue({"type": "priority", "conversation_id": conversation_id, "priority": priority.value})

    def assign(self, conversation_id: int, assignee: str | None, *, expected: str | None | bool = False) -> int:
        """Compare-and-set: ``expected`` is who the agent saw assigned (default: the replica's)."""
        if expected is False:
            expected = self.replica.store.conversation(conversation_id).assignee
        return self._queue(
            {"type": "assign", "conversation_id": conversation_id, "expected_assignee": expected or None,
             "assignee": assignee or None}
        )  # fmt: skip

    def tag_add(self, conversation_id: int, tag: str) -> int:
        tag = " ".join(tag.split())
        if not tag:
            raise InputError("tag", "a tag cannot be empty")
        return self._queue({"type": "tag_add", "conversation_id": conversation_id, "tag": tag})

    def tag_remove(self, conversation_id: int, tag: str) -> int:
        return self._queue({"type": "tag_remove", "conversation_id": conversation_id, "tag": tag})

    def link(self, identity_id: int, customer_id: int) -> int:
        return self._queue({"type": "identity_link", "identity_id": identity_id, "customer_id": customer_id})

    def unlink(self, identity_id: int) -> int:
        return self._queue({"type": "identity_unlink", "identity_id": identity_id})

    def merge(self, keep: int, absorbed: int) -> int:
        return self._queue({"type": "identity_merge", "customer_id": keep, "other_customer_id": absorbed})


class TeamRepository(Store):
    """The replica read as the solo store is, every change sent as an intent.

    Subclassing keeps every read (queue, search, customers, SLA details) exactly the store's; only
    the changes an agent makes are redirected. Drafts stay local (they are the agent's own).
    """

    def __init__(self, store: Store, commands: TeamCommands) -> None:
        super().__init__(store.db, store.where)
        self.lock = store.lock  # one lock for the file, shared with the store and the sync core
        self.commands = commands

    def set_status(self, conversation_id: int, status: Status, at: datetime, actor: str) -> None:
        self.commands.set_status(conversation_id, status)

    def set_priority(self, conversation_id: int, priority: Priority, at: datetime, actor: str) -> None:
        self.commands.set_priority(conversation_id, priority)

    def assign(self, conversation_id: int, assignee: str | None, at: datetime, actor: str) -> None:
        self.commands.assign(conversation_id, assignee)

    def add_tag(self, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        self.commands.tag_add(conversation_id, tag)

    def remove_tag(self, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        self.commands.tag_remove(conversation_id, tag)

    def merge_customers(self, keep: int, absorbed: int) -> None:
        self.commands.merge(keep, absorbed)

    def resolve_suggestion(self, suggestion_id: int, accept: bool) -> None:
        rows = self._rows("SELECT identity_id, customer_id FROM link_suggestions WHERE id = ?", [suggestion_id])
        if accept and rows:
            self.commands.link(int(rows[0]["identity_id"]), int(rows[0]["customer_id"]))
        self._write(lambda db: db.execute("DELETE FROM link_suggestions WHERE id = ?", [suggestion_id]))


def _done(work: Callable[[], object]) -> Future[None]:
    """A finished future for work done at once (a refusal, or no writer thread to run it on)."""
    future: Future[None] = Future()
    try:
        work()
    except Exception as exc:  # e.g. InputError: the window shows it in the status bar
        future.set_exception(exc)
    else:
        future.set_result(None)
    return future


Queue = Callable[[Callable[[TeamCommands], object]], "Future[Any]"]


class TeamPortCommands:
    """The window's :class:`~inbox.ports.Commands` in team mode: each change is an intent
    (:class:`TeamCommands`), applied to the replica and pushed in order; who and when are
    stamped by the server. Drafts stay local (they are the agent's own).

    ``queue`` runs a change with the commands on the writer thread (``TeamMode.queue``): the
    window never waits on the file, and the returned future tells it when the intent is in the
    replica's queue (its fate on the server is told by the team panel, never by this future).
    Without it a change is written at once on the caller's thread.
    """

    def __init__(self, repository: TeamRepository, clock: Clock | None = None, *, queue: Queue | None = None) -> None:
        self._repository = repository
        self._commands = repository.commands
        self._clock = clock or (lambda: datetime.now(UTC))
        self._queue = queue

    def _run(self, work: Callable[[TeamCommands], object]) -> Future[None]:
        if self._queue is None:
            return _done(lambda: work(self._commands))
        done: Future[None] = Future()
        pending = self._queue(work)

        def landed(result: Future[Any]) -> None:
            error = result.exception()
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(None)

        pending.add_done_callback(landed)
        return done

    def reply(self, conversation_id: int, text: str, *, privately: bool = False) -> Future[None]:
        def work(commands: TeamCommands) -> None:
            surface = commands.private_surface(conversation_id) if privately else None
            commands.reply(conversation_id, text, surface=surface)

        return self._run(work)

    def note(self, conversation_id: int, text: str) -> Future[None]:
        return self._run(lambda c: c.note(conversation_id, text))

    def set_status(self, conversation_id: int, status: Status) -> Future[None]:
        return self._run(lambda c: c.set_status(conversation_id, status))

    def assign(self, conversation_id: int, assignee: str | None) -> Future[None]:
        return self._run(lambda c: c.assign(conversation_id, assignee))

    def add_tag(self, conversation_id: int, tag: str) -> Future[None]:
        return self._run(lambda c: c.tag_add(conversation_id, tag))

    def remove_tag(self, conversation_id: int, tag: str) -> Future[None]:
        return self._run(lambda c: c.tag_remove(conversation_id, tag))

    def set_priority(self, conversation_id: int, priority: Priority) -> Future[None]:
        return self._run(lambda c: c.set_priority(conversation_id, priority))

    def decide_reply(self, outbox_id: str, action: str) -> Future[None]:
        return _done(lambda: _refuse("outbox", "in team mode the server's outbox holds replies: decide there"))

    def save_draft(self, conversation_id: int, text: str) -> Future[None]:
        # In the same queue as the intents: a reply sent then its draft cleared land in that order.
        return self._run(lambda c: c.replica.store.save_draft(conversation_id, text, self._clock()))

    def link(self, kind: IdentityKind, key: str, customer_id: int) -> Future[None]:
        def work(c: TeamCommands) -> None:
            identity = c.replica.store.identity(kind, key)
            if identity is None:
                raise InputError("identity", f"no identity {kind.value}:{key}")
            c.link(identity.id, customer_id)

        return self._run(work)

    def unlink(self, kind: IdentityKind, key: str) -> Future[None]:
        def work(c: TeamCommands) -> None:
            identity = c.replica.store.identity(kind, key)
            if identity is None:
                raise InputError("identity", f"no identity {kind.value}:{key}")
            c.unlink(identity.id)

        return self._run(work)

    def merge_customers(self, keep: int, absorbed: int) -> Future[None]:
        return self._run(lambda c: c.merge(keep, absorbed))

    def resolve_suggestion(self, suggestion_id: int, accept: bool) -> Future[None]:
        return self._run(lambda c: TeamRepository(c.replica.store, c).resolve_suggestion(suggestion_id, accept))


def _refuse(field: str, reason: str) -> None:
    raise InputError(field, reason)
