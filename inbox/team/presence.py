"""Who else is viewing or replying to which conversation, as the server relays it.

Kept in memory only, each entry forgotten after the TTL the server gave unless it is repeated:
nothing about presence is ever written to the store.
"""

from __future__ import annotations

from dataclasses import dataclass

VIEWING = "viewing"
REPLYING = "replying"
IDLE = "idle"


@dataclass(frozen=True, slots=True)
class Presence:
    """One colleague on one conversation."""

    agent: str
    state: str  # viewing | replying
    conversation_id: int
    until: float  # monotonic seconds


class PresenceBoard:
    """Every colleague's latest presence per conversation, expiring on the monotonic clock."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], Presence] = {}

    def seen(self, agent: str, state: str, conversation_id: int, ttl: float, now: float) -> bool:
        """Record a relayed presence; returns True when what the board shows changed."""
        key = (agent, conversation_id)
        before = self._entries.get(key)
        if state == IDLE:
            return self._entries.pop(key, None) is not None
        self._entries[key] = Presence(agent, state, conversation_id, now + ttl)
        return before is None or before.state != state or before.until <= now

    def expire(self, now: float) -> set[int]:
        """Forget what is past its TTL; returns the conversations whose presence changed."""
        gone = [k for k, p in self._entries.items() if p.until <= now]
        for key in gone:
            del self._entries[key]
        return {cid for _agent, cid in gone}

    def on(self, conversation_id: int, now: float) -> list[Presence]:
        """Who is on a conversation now: replying first, then by name."""
        found = [p for p in self._entries.values() if p.conversation_id == conversation_id and p.until > now]
        return sorted(found, key=lambda p: (p.state != REPLYING, p.agent))

    def conversations(self, now: float) -> dict[int, list[Presence]]:
        out: dict[int, list[Presence]] = {}
        for p in self._entries.values():
            if p.until > now:
                out.setdefault(p.conversation_id, []).append(p)
        return {cid: sorted(ps, key=lambda p: (p.state != REPLYING, p.agent)) for cid, ps in out.items()}

    def clear(self) -> None:
        self._entries.clear()

