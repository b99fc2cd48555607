"""A simulated clock for :class:`inbox.sync.service.SyncService`: ``sleep`` waits for simulated time,
and :meth:`SimClock.drive` moves time to the earliest sleeper once the service has settled,
so an hour of polling, backoff and outbox retries runs in about a second."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from tests.reliability.fakes import START


class SimClock:
    def __init__(self, start: datetime = START) -> None:
        self.current = start
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = self.current + timedelta(seconds=max(0.0, seconds))
        heapq.heappush(self._sleepers, (wake, next(self._seq), future))
        await future

    async def drive(self, until: datetime, on_tick: Callable[[datetime], None]) -> int:
        """Advance to ``until``, calling ``on_tick`` at each step; the number of steps."""
        steps = 0
        while self.current < until:
            await asyncio.sleep(0.003)  # let the service (and its store threads) settle
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled sleeps
            if not self._sleepers:
                continue
            wake, _seq, future = heapq.heappop(self._sleepers)
            self.current = max(self.current, min(wake, until))
            on_tick(self.current)
            if wake <= until:
                future.set_result(None)
            else:
                heapq.heappush(self._sleepers, (wake, next(self._seq), future))
            steps += 1
        return steps
