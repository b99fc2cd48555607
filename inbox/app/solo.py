"""Solo mode's commands: the :class:`~inbox.ports.Commands` port over the local SQLite store.

Composition code. Every change runs on the store's one writer thread (:mod:`inbox.store.writer`),
stamped with this desktop's agent and clock, and written together with its event; a reply is
committed to the outbox with the conversation's SLA brought up to date in the same job.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

from inbox.app.workspace import Workspace
from inbox.models import IdentityKind, Priority, Status
from inbox.replies.outbox import Outbox
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter


class SoloCommands:
    """The agent's changes, written by ``writer``; ``workspace`` supplies the SLA rules in
    force (so the queue's deadlines follow policies applied in Settings at once)."""

    def __init__(self, writer: StoreWriter, workspace: Workspace) -> None:
        self._writer = writer
        self._workspace = workspace

    @property
    def agent(self) -> str:
        return self._workspace.agent

    def _now(self) -> datetime:
        return self._workspace.clock()

    def _change(self, conversation_id: int, write: Callable[[Store, datetime, str], object]) -> Future[None]:
        """One change with its event, then the conversation's SLA, on the writer thread."""
        agent = self.agent

        def job(store: Store) -> None:
            now = self._now()
            write(store, now, agent)
            self._workspace.refresh_sla(now, [conversation_id], store=store)

        return self._writer.submit(job)

    def reply(self, conversation_id: int, text: str, *, privately: bool = False) -> Future[None]:
        return self._change(
            conversation_id,
            lambda s, _now, _agent: Outbox(s, clock=self._workspace.clock).reply(conversation_id, text, dm=privately),
        )

    def note(self, conversation_id: int, text: str) -> Future[None]:
        return self._change(
            conversation_id,
            lambda s, _now, agent: Outbox(s, clock=self._workspace.clock).note(conversation_id, text, agent),
        )

    def set_status(self, conversation_id: int, status: Status) -> Future[None]:
        return self._change(conversation_id, lambda s, now, agent: s.set_status(conversation_id, status, now, agent))

    def assign(self, conversation_id: int, assignee: str | None) -> Future[None]:
        return self._change(conversation_id, lambda s, now, agent: s.assign(conversation_id, assignee, now, agent))

    def add_tag(self, conversation_id: int, tag: str) -> Future[None]:
        return self._change(conversation_id, lambda s, now, agent: s.add_tag(conversation_id, tag, now, agent))

    def remove_tag(self, conversation_id: int, tag: str) -> Future[None]:
        return self._change(conversation_id, lambda s, now, agent: s.remove_tag(conversation_id, tag, now, agent))

    def set_priority(self, conversation_id: int, priority: Priority) -> Future[None]:
        return self._change(
            conversation_id, lambda s, now, agent: s.set_priority(conversation_id, priority, now, agent)
        )

    def decide_reply(self, outbox_id: str, action: str) -> Future[None]:
        """A reply that failed or may have been sent: ``mark-sent`` (it went out), ``resend`` or
        ``drop``; the replies held behind it then go on."""
        decisions = {"mark-sent": Outbox.mark_sent, "resend": Outbox.resend, "drop": Outbox.drop}
        if action not in decisions:
            raise ValueError(f"unknown outbox decision {action!r}")
        decide = decisions[action]

        def job(store: Store) -> None:
            decide(Outbox(store, clock=self._workspace.clock), outbox_id)

        return self._writer.submit(job)

    def save_draft(self, conversation_id: int, text: str) -> Future[None]:
        return self._writer.submit(lambda s: s.save_draft(conversation_id, text, self._now()))

    def link(self, kind: IdentityKind, key: str, customer_id: int) -> Future[None]:
        def job(store: Store) -> None:
            store.link(kind, key, customer_id)

        return self._writer.submit(job)

    def unlink(self, kind: IdentityKind, key: str) -> Future[None]:
        def job(store: Store) -> None:
            store.unlink(kind, key)

        return self._writer.submit(job)

    def merge_customers(self, keep: int, absorbed: int) -> Future[None]:
        return self._writer.submit(lambda s: s.merge_customers(keep, absorbed))

    def resolve_suggestion(self, suggestion_id: int, accept: bool) -> Future[None]:
        return self._writer.submit(lambda s: s.resolve_suggestion(suggestion_id, accept))
