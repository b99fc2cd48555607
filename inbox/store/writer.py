"""The one writer: every change the app makes from its window runs on one worker thread, on a
connection of its own, in the order it was asked for.

The Qt thread never waits on a write: a slow disk, a long transaction of another program or of
the sync service's import keeps only this thread waiting (SQLite's busy timeout), while the
window keeps answering and reading through its own connection (WAL: readers do not wait for
writers). A job gets the writer's :class:`Store`; its result comes back as a
:class:`concurrent.futures.Future` that the caller turns into a Qt signal or awaits on asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from inbox.store.repository import Store

T = TypeVar("T")


class StoreWriter:
    """Runs write jobs one at a time on a worker thread with its own connection to ``store``'s
    file (an in-memory store is shared: it has no file a second connection could open)."""

    def __init__(self, store: Store) -> None:
        self._own = store.files_dir is not None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        self._store = Store.open(store.where) if self._own else store
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        """The writer's connection, for the sync service's own worker threads: their writes
        wait on this connection's lock, never on the one the window reads through."""
        return self._store

    def submit(self, job: Callable[[Store], T]) -> Future[T]:
        """Run ``job(store)`` after every job submitted before it; returns at once."""
        with self._lock:
            return self._executor.submit(job, self._store)

    async def run(self, job: Callable[[Store], T]) -> T:
        """``submit`` awaited on the running asyncio loop."""
        return await asyncio.wrap_future(self.submit(job))

    def close(self) -> None:
        """Wait for the jobs already submitted, then close the writer's connection."""
        with self._lock:
            self._executor.shutdown(wait=True)
            if self._own:
                self._store.close()
