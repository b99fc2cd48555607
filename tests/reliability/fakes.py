"""In-process fakes for driving :class:`inbox.sync.service.SyncService`: a fake clock whose ``sleep``
advances time, a provider serving fixed pages, and a flaky "service" whose faults come from a
seeded RNG (timeouts, 5xx, 429 with a reset, drops mid-page, truncated JSON, drops after a post
was accepted)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from inbox.errors import RateLimited, TransientError
from inbox.models import Account, Channel, Draft, Message, ParsedBatch
from inbox.sync.contract import FetchResult, HttpProviderBase, ProviderInfo

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class FakeClock:
    """``now()`` for the service; ``sleep()`` moves the clock instead of waiting."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start
        self.slept = 0.0

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=max(0.0, seconds))
        self.slept += max(0.0, seconds)
        await asyncio.sleep(0)


class _Base(HttpProviderBase):
    info: ClassVar[ProviderInfo] = ProviderInfo("fake", Channel.EMAIL, "Fake", (), 60.0)

    def __init__(self, account: Account) -> None:
        self._account = account

    async def check(self) -> None:
        return None


class PagedProvider(_Base):
    """Serves ``pages`` in order; the cursor is the index of the next page."""

    def __init__(self, account: Account, pages: Sequence[Sequence[Message]]) -> None:
        super().__init__(account)
        self.pages = [list(p) for p in pages]

    async def fetch(self, cursor: str | None) -> FetchResult:
        index = int(cursor or 0)
        batch = self.pages[index] if index < len(self.pages) else []
        following = min(index + 1, len(self.pages))
        more = following < len(self.pages)
        return FetchResult(ParsedBatch(messages=tuple(batch)), str(following), more=more)

    async def send(self, draft: Draft) -> str:
        return draft.local_id


@dataclass
class FlakyService:
    """The "server side": messages that arrive over time, posts received, faults injected."""

    rng: random.Random
    fault_rate: float = 0.3
    page_size: int = 7
    inbox: list[Message] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)  # local ids of every post received
    faults: dict[str, int] = field(default_factory=dict)

    def fault(self) -> str | None:
        """A fault for the next request, or None; counted by kind."""
        if self.rng.random() >= self.fault_rate:
            return None
        kind = self.rng.choice(
            ["timeout", "500", "502", "503", "429", "drop", "truncated", "drop_after_post"]
        )
        self.faults[kind] = self.faults.get(kind, 0) + 1
        return kind


def _raise(kind: str, retry_after: float) -> None:
    if kind == "429":
        raise RateLimited("fake: 429 Too Many Requests", retry_after)
    if kind == "truncated":  # as inbox.providers.failures maps a cut JSON body
        raise TransientError("fake: the response is not valid JSON (truncated)")
    raise TransientError(f"fake: {kind}")


class FlakyProvider(_Base):
    """Reads ``service.inbox`` by offset (the cursor), ``page_size`` at a time, and posts to
    ``service.delivered``; each request may fail as the service's RNG decides."""

    def __init__(self, account: Account, service: FlakyService) -> None:
        super().__init__(account)
        self.service = service

    async def fetch(self, cursor: str | None) -> FetchResult:
        await asyncio.sleep(0)
        kind = self.service.fault()
        if kind in ("drop_after_post", None):
            offset = int(cursor or 0)
            page = self.service.inbox[offset : offset + self.service.page_size]
            following = offset + len(page)
            more = following < len(self.service.inbox)
            return FetchResult(ParsedBatch(messages=tuple(page)), str(following), more=more)
        _raise(kind, self.service.rng.uniform(1, 120))
        raise AssertionError("unreachable")

    async def send(self, draft: Draft) -> str:
        await asyncio.sleep(0)
        kind = self.service.fault()
        if kind is None:
            self.service.delivered.append(draft.local_id)
            return f"posted:{draft.local_id}"
        if kind == "drop_after_post":  # the service took it; the answer never came back
            self.service.delivered.append(draft.local_id)
            # as inbox.providers.failures maps a connection lost while waiting for the answer
            raise TransientError("fake: connection dropped after the post was sent", unsure=True)
        _raise(kind, self.service.rng.uniform(1, 120))
        raise AssertionError("unreachable")
