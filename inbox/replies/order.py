"""Replies in one conversation go out in order: which replies wait, and for what.

The outbox sends a conversation's replies oldest first and never passes one that is not sent:
a reply that "may have been sent" after a crash holds every later one until the agent decides
it (mark sent, send again, drop). This module names that wait, for the CLI and the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inbox.models import OutboxState

#: Why a reply waits, by the state of the earlier reply of its conversation it waits for.
WAITING_FOR = {
    OutboxState.UNCERTAIN: "waiting: an earlier reply may have been sent, decide it first",
    OutboxState.FAILED: "waiting: an earlier reply failed, send it again or drop it",
    OutboxState.SENDING: "waiting: an earlier reply is being sent or checked",
    OutboxState.QUEUED: "waiting: an earlier reply goes first",
}


@dataclass(frozen=True, slots=True)
class Hold:
    """A reply held behind an earlier unsent reply of its conversation (replies go in order)."""

    blocker: str  # the outbox id of the earliest unsent reply of the conversation
    blocker_state: OutboxState
    reason: str  # WAITING_FOR[blocker_state]


def holds(items: Iterable[tuple[str, int, OutboxState]]) -> dict[str, Hold]:
    """Which replies wait, and for what: ``items`` are (outbox id, conversation id, state),
    oldest first (as ``Store.outbox_items`` lists them). A reply waits for the earliest unsent
    reply of its conversation; one "may have been sent" holds every later one until the agent
    decides it (mark sent, send again, drop)."""
    first: dict[int, tuple[str, OutboxState]] = {}
    held: dict[str, Hold] = {}
    for item_id, conversation_id, state in items:
        if state is OutboxState.SENT:
            continue
        blocker = first.get(conversation_id)
        if blocker is None:
            first[conversation_id] = (item_id, state)
        elif state is OutboxState.QUEUED:  # a failed or uncertain one needs deciding itself
            held[item_id] = Hold(blocker[0], blocker[1], WAITING_FOR[blocker[1]])
    return held
