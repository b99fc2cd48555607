"""The channel side of ``inbox serve``: each channel account polled and sent by exactly one
process, and the server jobs run once, under leases.

:class:`ChannelRunner` is one task per server process. Every ``renew_every`` seconds it records
itself as live, renews the leases it holds (a lease it lost stops that account's worker at once),
and takes free or expired leases up to its fair share (accounts / live processes), releasing
what it holds beyond that share so a process that starts later gets work. Each owned account runs
a worker: the core :class:`~inbox.sync.service.SyncService` (backoff, account states, the outbox state
machine and its delivery check) over :class:`~inbox.server.channel_store.AccountStore`, whose
every write checks the lease epoch. The provider is wrapped so that no fetch or send starts once
this process can no longer trust its lease by its own clock (a paused process wakes up refused).
``NOTIFY inbox_outbox, '<account id>'`` (sent when a reply is queued) wakes the owner's sender.
Server jobs (:mod:`inbox.server.jobs`) run the same way under ``job_leases``.

Settings come from the environment (see :class:`ChannelSettings`); credentials from the secrets
file (:mod:`inbox.server.secrets_file`), never from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from inbox.errors import InboxError
from inbox.models import Draft
from inbox.providers.registry import build_provider
from inbox.secrets import SecretStore
from inbox.server.channel_store import AccountStore, Pool, load_account
from inbox.server.leases import Lease, LeaseLost, LeaseTable, fair_share, heartbeat, new_holder
from inbox.server.secrets_file import FileSecretStore, default_secrets_path
from inbox.sync.contract import FetchResult, Provider, ProviderInfo, SupportsDeliveryCheck
from inbox.sync.service import AccountState, SyncService

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "inbox_outbox"


def _env_float(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InboxError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """How the channel side runs; ``from_env`` reads ``INBOX_LEASE_TTL`` (30 s),
    ``INBOX_LEASE_RENEW`` (10 s), ``INBOX_POLL_INTERVAL`` (each provider's minimum),
    ``INBOX_OUTBOX_INTERVAL`` (30 s), ``INBOX_JOB_INTERVAL`` (30 s), ``INBOX_SECRETS`` and
    ``INBOX_CHANNELS=0`` (this process serves the API only)."""

    secrets_path: Path
    holder: str = field(default_factory=new_holder)
    lease_ttl: float = 30.0
    renew_every: float = 10.0
    poll_interval: float | None = None
    outbox_interval: float = 30.0
    job_interval: float = 30.0
    enabled: bool = True
    jobs: bool = True
    pool_size: int = 4

    @classmethod
    def from_env(cls) -> ChannelSettings:
        ttl = _env_float("INBOX_LEASE_TTL", 30.0) or 30.0
        return cls(
            secrets_path=default_secrets_path(),
            lease_ttl=ttl,
            renew_every=_env_float("INBOX_LEASE_RENEW", ttl / 3) or ttl / 3,
            poll_interval=_env_float("INBOX_POLL_INTERVAL", None),
            outbox_interval=_env_float("INBOX_OUTBOX_INTERVAL", 30.0) or 30.0,
            job_interval=_env_float("INBOX_JOB_INTERVAL", 30.0) or 30.0,
            enabled=os.environ.get("INBOX_CHANNELS", "1") != "0",
            jobs=os.environ.get("INBOX_JOBS", "1") != "0",
        )


class LeasedProvider:
    """A provider that refuses to fetch or send once its account's lease is no longer trusted."""

    def __init__(self, inner: Provider, store: AccountStore) -> None:
        self._inner = inner
        self._store = store
        self.info: ProviderInfo = inner.info

    @property
    def account(self) -> Any:
        return self._inner.account

    async def __aenter__(self) -> LeasedProvider:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    def _check(self) -> None:
        if not self._store.lease.valid_locally():
            self._store.lost = True
            raise LeaseLost(self._store.lease)

    async def check(self) -> None:
        await self._inner.check()

    async def fetch(self, cursor: str | None) -> FetchResult:
        self._check()
        return await self._inner.fetch(cursor)

    async def send(self, draft: Draft) -> str:
        self._check()
        return await self._inner.send(draft)


class LeasedCheckingProvider(LeasedProvider):
    """:class:`LeasedProvider` for providers that can find a reply after a crash (email)."""

    async def was_delivered(self, draft: Draft) -> bool | None:
        self._check()
        return await cast(SupportsDeliveryCheck, self._inner).was_delivered(draft)


def leased(inner: Provider, store: AccountStore) -> Provider:
    wrapper = LeasedCheckingProvider if isinstance(inner, SupportsDeliveryCheck) else LeasedProvider
    return cast(Provider, wrapper(inner, store))


ProviderFactory = Callable[[Any, SecretStore, httpx.AsyncClient], Provider]


def new_client() -> httpx.AsyncClient:
    """The server process's one HTTP client (every account's polls and sends), the one place one
    is made: the app's lifespan makes and closes it (``app.py``), or :func:`main` for a
    process that only runs the channels. It keeps no cookies (no provider needs them)."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0), cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    )


class ChannelRunner:
    """The leases, account workers and job workers of one server process."""

    def __init__(
        self,
        dsn: str,
        settings: ChannelSettings,
        secrets: SecretStore | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.dsn = dsn
        self.settings = settings
        self.secrets: SecretStore = secrets if secrets is not None else FileSecretStore(settings.secrets_path)
        self.accounts = LeaseTable("account", settings.holder, settings.lease_ttl)
        self.jobs = LeaseTable("job", settings.holder, settings.lease_ttl)
        self._stores: dict[str, AccountStore] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._job_leases: dict[str, Lease] = {}
        self._job_tasks: dict[str, asyncio.Task[None]] = {}
        self._pool: Pool | None = None
        #: The process's client (its owner closes it); without one, its own, closed by ``run``.
        self.http = http

    @property
    def holder(self) -> str:
        return self.settings.holder

    def owned(self) -> list[str]:
        return sorted(self._stores)

    async def run(self) -> None:
        """Hold leases and run workers until cancelled; gives its leases up when stopped."""
        self._pool = ConnectionPool(
            self.dsn,
            min_size=1,
            max_size=self.settings.pool_size,
            # A session left idle inside a transaction (this process paused or cut off) is ended by
            # the server, so its lease guard's row lock cannot hold a takeover up.
            kwargs={"row_factory": dict_row, "autocommit": True,
                    "options": f"-c idle_in_transaction_session_timeout={max(1000, int(self.settings.lease_ttl * 1000))}"},
            connection_class=psycopg.Connection[DictRow],
            open=False,
        )  # fmt: skip
        await asyncio.to_thread(self._pool.open, True, 30.0)
        own_http = self.http is None
        if self.http is None:
            self.http = new_client()
        listener = asyncio.create_task(self._listen(), name="inbox-outbox-listener")
        log.info("channels: holder %s (lease TTL %.1f s)", self.holder, self.settings.lease_ttl)
        try:
            while True:
                try:
                    async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                        while True:
                            await self._round(conn)
                            await asyncio.sleep(self.settings.renew_every)
                except psycopg.OperationalError as exc:
                    # The database went away: the leases run out on their own and every write of
                    # the workers is refused meanwhile; reconnect and take leases again.
                    log.warning("channels: database connection lost (%s); reconnecting", type(exc).__name__)
                    await asyncio.sleep(self.settings.renew_every)
        finally:
            listener.cancel()
            await self._stop_all()
            await self._release_all()
            if own_http:
                await self.http.aclose()
                self.http = None
            await asyncio.to_thread(self._pool.close)

    # -- leases --------------------------------------------------------------------------------

    async def _round(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            await self._tick(conn)
        except (psycopg.errors.TransactionRollback, psycopg.errors.QueryCanceled) as exc:
            # Another process's lease statement crossed ours (deadlock): try again next round.
            log.info("channels: lease round rolled back (%s)", type(exc).__name__)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            log.warning("channels: lease round failed (%s)", type(exc).__name__)

    async def _tick(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._reap()
        # A process is counted live for three renewals: a dead one stops shrinking the others'
        # fair share soon, well before its leases expire.
        live = await heartbeat(conn, self.holder, min(self.settings.lease_ttl, 3 * self.settings.renew_every))
        current = [s.lease for s in self._stores.values()]
        renewed, lost = await self.accounts.renew(conn, current)
        for lease in renewed:
            self._stores[lease.name].lease = lease
        for lease in lost:
            log.warning("account %s: lease epoch %d lost to another process", lease.name, lease.epoch)
            await self._stop(lease.name)
        cur = await conn.execute("SELECT id FROM accounts ORDER BY id")
        every = [str(r[0]) for r in await cur.fetchall()]
        share = fair_share(len(every), live)
        if len(self._stores) < share:
            wanted = [a for a in every if a not in self._stores]
            for lease in await self.accounts.take(conn, wanted, share - len(self._stores)):
                log.info("account %s: lease taken (epoch %d)", lease.name, lease.epoch)
                self._start(lease)
        elif len(self._stores) > share:
            for name in self.owned()[share:]:
                lease = self._stores[name].lease
                await self._stop(name)
                await self.accounts.release(conn, lease)
                log.info("account %s: lease released for another process", name)
        if self.settings.jobs:
            await self._tick_jobs(conn)

    async def _tick_jobs(self, conn: psycopg.AsyncConnection[Any]) -> None:
        from inbox.server import jobs

        renewed, lost = await self.jobs.renew(conn, list(self._job_leases.values()))
        for lease in renewed:
            self._job_leases[lease.name] = lease
        for lease in lost:
            log.warning("job %s: lease epoch %d lost", lease.name, lease.epoch)
            self._job_leases.pop(lease.name, None)
            task = self._job_tasks.pop(lease.name, None)
            if task is not None:
                task.cancel()
        free = [name for name in jobs.JOBS if name not in self._job_leases]
        for lease in await self.jobs.take(conn, free):
            log.info("job %s: lease taken (epoch %d)", lease.name, lease.epoch)
            self._job_leases[lease.name] = lease
            assert self._pool is not None
            self._job_tasks[lease.name] = asyncio.create_task(
                jobs.run_job(lease.name, self._pool, functools.partial(self._job_leases.get, lease.name),
                             self.settings.job_interval),
                name=f"inbox-job-{lease.name}",
            )  # fmt: skip

    def _reap(self) -> None:
        """Forget workers that stopped by themselves (their store saw the lease refused)."""
        for name, task in list(self._workers.items()):
            if task.done():
                self._workers.pop(name)
                self._stores.pop(name, None)
        for name, task in list(self._job_tasks.items()):
            if task.done():
                self._job_tasks.pop(name)
                self._job_leases.pop(name, None)

    def _start(self, lease: Lease) -> None:
        assert self._pool is not None
        store = AccountStore(self._pool, lease)
        self._stores[lease.name] = store
        self._wake[lease.name] = asyncio.Event()
        self._workers[lease.name] = asyncio.create_task(self._worker(store), name=f"inbox-account-{lease.name}")

    async def _stop(self, name: str) -> None:
        task = self._workers.pop(name, None)
        store = self._stores.pop(name, None)
        if store is not None:
            store.lost = True
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _stop_all(self) -> None:
        for name in list(self._workers):
            await self._stop(name)
        for task in self._job_tasks.values():
            task.cancel()
        await asyncio.gather(*self._job_tasks.values(), return_exceptions=True)

    async def _release_all(self) -> None:
        with contextlib.suppress(psycopg.Error, OSError):
            async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                await conn.execute(
                    "UPDATE account_leases SET expires_at = now() WHERE holder = %s AND expires_at > now()",
                    [self.holder],
                )
                await conn.execute(
                    "UPDATE job_leases SET expires_at = now() WHERE holder = %s AND expires_at > now()", [self.holder]
                )
                await conn.execute("DELETE FROM lease_holders WHERE holder = %s", [self.holder])

    # -- account workers ---------------------------------------------------------------------------

    async def _worker(self, store: AccountStore) -> None:
        assert self._pool is not None and self.http is not None
        pool = self._pool

        def load() -> Any:
            with pool.connection() as conn:
                return load_account(conn, store.account_id)

        account = await asyncio.to_thread(load)
        if account is None:
            return
        try:
            provider = build_provider(account, self.secrets, self.http)
        except InboxError as exc:
            log.error("account %s cannot run: %s", account.id, exc)
            with contextlib.suppress(InboxError):
                await asyncio.to_thread(store.set_account_state, account.id, AccountState.ERROR.value, str(exc))
            await asyncio.sleep(self.settings.lease_ttl)
            return
        wake = self._wake[account.id]
        async with provider:
            service = SyncService(store, [leased(provider, store)], outbox_interval=self.settings.outbox_interval)
            status = await service.sync_account(account.id)
            while not store.lost:
                wake.clear()
                await service.flush_outbox()
                if store.lost:
                    break
                status = await service.sync_account(account.id)
                if store.lost:
                    break
                if wake.is_set():
                    continue  # a reply was queued meanwhile: send it before waiting
                if status.state is AccountState.UP_TO_DATE:
                    delay = self.settings.poll_interval or service.poll_interval(account.id)
                else:
                    delay = status.retry_in if status.retry_in is not None else self.settings.outbox_interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=max(0.0, delay))
        log.warning("account %s: stopped (lease epoch %d no longer ours)", account.id, store.lease.epoch)

    async def _listen(self) -> None:
        """Wake an account's worker when a reply is queued for it (NOTIFY inbox_outbox)."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    async for notify in conn.notifies():
                        event = self._wake.get(notify.payload)
                        if event is not None and notify.payload in self._stores:
                            event.set()
            except psycopg.Error as exc:
                log.warning("outbox listener lost its connection (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(1.0)


def start_background(app_state: Any, http: httpx.AsyncClient | None = None) -> list[asyncio.Task[None]]:
    """Start the channel side in a running server; the app cancels the tasks on shutdown.

    ``app_state.db.dsn`` (or ``app_state.dsn``) names the database; settings come from the
    environment (:meth:`ChannelSettings.from_env`). ``INBOX_CHANNELS=0`` starts nothing."""
    settings = ChannelSettings.from_env()
    if not settings.enabled:
        return []
    db = getattr(app_state, "db", None)
    dsn = getattr(db, "dsn", None) or getattr(app_state, "dsn", None)
    if not dsn:
        raise InboxError("the channel runner needs the database address (app_state.db.dsn)")
    runner = ChannelRunner(str(dsn), settings, http=http)  # opens the secrets file: refuses a readable one
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll request is noise
    with contextlib.suppress(AttributeError, TypeError):
        app_state.channels = runner
    return [asyncio.create_task(runner.run(), name="inbox-channels")]


def main(argv: list[str] | None = None) -> int:
    """``python -m inbox.server.channels --dsn DSN``: a process that only polls, sends and runs
    jobs (no HTTP), e.g. beside API processes started with ``INBOX_CHANNELS=0``."""
    import argparse

    from inbox.logging_setup import configure_logging

    parser = argparse.ArgumentParser(prog="python -m inbox.server.channels")
    parser.add_argument("--dsn", default=os.environ.get("INBOX_DSN", ""), help="PostgreSQL (default: $INBOX_DSN)")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no database: pass --dsn or set INBOX_DSN")
    configure_logging()
    logging.getLogger("inbox").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll request is noise
    try:
        asyncio.run(ChannelRunner(args.dsn, ChannelSettings.from_env()).run())
    except InboxError as exc:
        print(f"inbox: {exc}", flush=True)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
