"""A headless desktop for team tests: its own replica file, the keyring, the real sync core."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from inbox.providers.keyring_store import KeyringSecretStore
from inbox.store.replica import Replica
from inbox.store.repository import Store
from inbox.team.account import TeamAccount
from inbox.team.commands import TeamCommands
from inbox.team.sync import Link, TeamObserver, TeamSync
from tests.team.servers import PASSWORDS


@dataclass
class Desktop:
    """One agent's desktop: ``join`` signs in, ``start`` runs the sync core until ``stop``."""

    path: Path
    agent: str
    http: httpx.AsyncClient
    store: Store = field(init=False)
    replica: Replica = field(init=False)
    account: TeamAccount = field(init=False)
    sync: TeamSync | None = None
    commands: TeamCommands = field(init=False)
    links: list[Link] = field(default_factory=list)
    changed: list[frozenset[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = Store.open(self.path)
        self.replica = Replica(self.store)
        self.account = TeamAccount(self.replica, KeyringSecretStore(), self.http)
        self.commands = TeamCommands(self.replica, self.wake)

    def wake(self) -> None:
        if self.sync is not None:
            self.sync.wake()

    async def join(self, url: str) -> None:
        await self.account.join(url, self.agent, PASSWORDS[self.agent])

    def start(self) -> TeamSync:
        observer = TeamObserver(
            conversations=lambda touched, new: self.changed.append(touched),
            link=lambda link, reason: self.links.append(link),
        )
        self.sync = TeamSync(self.replica, self.account.client(), observer=observer, retry=(0.2, 1.0))
        self.sync.start()
        return self.sync

    async def stop(self) -> None:
        if self.sync is not None:
            await self.sync.stop()
        self.store.close()


async def until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Wait for something that happens over the network; fail naming it if it never does."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)
