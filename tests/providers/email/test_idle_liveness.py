"""A mail server that goes away while the account waits in IDLE shows as offline within seconds,
not after a whole poll interval: the sync service with the real provider against a real Dovecot
that is stopped, and against one behind a relay that goes silent (connections stay open,
nothing comes back: a dead host, a network dropping packets).

The assertions are on the state transition (up to date, then offline); the time it took is
printed, and only a generous bound is asserted (the target is 10 s; before this change it took
about 16 s for a stopped server and over a minute for a silent one).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from inbox.providers.email.provider import EmailProvider
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from inbox.sync.service import AccountState, AccountStateChanged, SyncEvent, SyncService
from tests.providers.email.servers import HOST, DovecotServer, free_port, local_account

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

BOUND = 15.0  # generous: the target is 10 s


class SilencingProxy:
    """A TCP relay to ``target_port`` that can go silent: after :meth:`silence` it forwards
    nothing either way and answers new connections with nothing, keeping every socket open."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.silent = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def silence(self) -> None:
        self.silent.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self.silent.is_set():
                continue  # accepted, never answered
            upstream = socket.create_connection((HOST, self.target_port), timeout=5)
            upstream.settimeout(None)
            self._sockets.append(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(4096):
                if self.silent.is_set():
                    continue  # swallowed
                dst.sendall(data)

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


async def until(check: Callable[[], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "the expected state never came"
        await asyncio.sleep(0.05)


def detection_time(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_port: int,
    go_away: Callable[[], None],
    after: Callable[[], None] = lambda: None,
) -> float:
    """Run the sync service until the account is up to date and idling, call ``go_away`` and
    return the seconds until the account showed offline (``after``: clean up, before the
    provider closes its connections)."""
    store = Store.open(tmp_path / "inbox.db")
    account = local_account(imap_port, free_port())
    store.save_account(account)
    secrets = MemorySecretStore()
    secrets.set(account.id, "password", dovecot.password)
    states: list[tuple[float, AccountState]] = []

    def observe(event: SyncEvent) -> None:
        if isinstance(event, AccountStateChanged):
            states.append((time.monotonic(), event.status.state))

    async def scenario() -> float:
        async with EmailProvider(account, secrets) as provider:
            service = SyncService(store, [provider], observer=observe)
            task = asyncio.create_task(service.run())
            try:
                await until(lambda: bool(states) and states[-1][1] is AccountState.UP_TO_DATE, 30)
                await until(lambda: provider._idle_conn is not None, 30)  # waiting in IDLE
                await asyncio.sleep(0.5)
                gone = time.monotonic()
                await asyncio.to_thread(go_away)
                await until(lambda: states[-1][1] is AccountState.OFFLINE, BOUND + 30)
                offline_at = next(t for t, s in states if s is AccountState.OFFLINE)
                assert all(s is not AccountState.ERROR for _t, s in states)
                return offline_at - gone
            finally:
                await asyncio.to_thread(after)
                service.stop()
                await task

    try:
        return asyncio.run(scenario())
    finally:
        store.close()


def test_a_stopped_server_shows_offline_within_seconds(
    tmp_path: Path, dovecot_server: DovecotServer
) -> None:
    took = detection_time(tmp_path, dovecot_server, dovecot_server.port, dovecot_server.stop)
    print(f"\nDovecot stopped during IDLE: offline after {took:.1f} s")
    assert took < BOUND


def test_a_server_gone_silent_shows_offline_within_seconds(
    tmp_path: Path, dovecot_server: DovecotServer
) -> None:
    proxy = SilencingProxy(dovecot_server.port)
    try:
        took = detection_time(tmp_path, dovecot_server, proxy.port, proxy.silence, proxy.close)
    finally:
        proxy.close()
    print(f"\nIMAP server silent during IDLE: offline after {took:.1f} s")
    assert took < BOUND
