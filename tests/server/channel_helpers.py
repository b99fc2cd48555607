"""Helpers of the channel tests: accounts with secrets, the channel runner in-process, and
``inbox serve`` processes that own channel accounts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inbox.models import Account
from inbox.server.channels import ChannelRunner, ChannelSettings
from inbox.server.leases import new_holder
from inbox.server.secrets_file import FileSecretStore
from tests.server.conftest import free_port, sql

CORPUS = Path(os.environ.get("INBOX_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))


def save_account(dsn: str, account: Account, secrets_path: Path, secrets: dict[str, str]) -> None:
    """An account row (non-secret settings only) and its secrets in the secrets file."""
    sql(
        dsn,
        """INSERT INTO accounts (id, channel, name, own_keys, settings) VALUES (%s, %s, %s, %s::jsonb, %s::jsonb)""",
        [account.id, account.channel.value, account.name, json.dumps(sorted(account.own_keys)),
         json.dumps(dict(account.settings))],
    )  # fmt: skip
    store = FileSecretStore(secrets_path)
    for name, value in secrets.items():
        store.set(account.id, name, value)


def fast_settings(secrets_path: Path, **kw: Any) -> ChannelSettings:
    """Short leases and polls, for tests (the defaults are 30 s leases and the providers' own
    minimum poll intervals)."""
    base = ChannelSettings(secrets_path=secrets_path, holder=new_holder(), lease_ttl=3.0, renew_every=0.5,
                           poll_interval=0.3, outbox_interval=0.5, job_interval=0.5, jobs=False)  # fmt: skip
    return replace(base, **kw)


def run_channels(dsn: str, settings: ChannelSettings, until: Callable[[], bool], limit: float = 60.0) -> ChannelRunner:
    """Run one channel runner in a thread's event loop until ``until()`` holds (checked every
    0.1 s, at most ``limit`` seconds: a bound on a wait, not a timed assertion); then stop it."""
    runner = ChannelRunner(dsn, settings)
    errors: list[BaseException] = []

    async def main() -> None:
        task = asyncio.create_task(runner.run())
        deadline = time.monotonic() + limit
        try:
            while not task.done() and time.monotonic() < deadline:
                if await asyncio.to_thread(until):
                    break
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(limit + 30)
    if errors:
        raise errors[0]
    return runner


@dataclass
class ChannelProcess:
    """One ``inbox serve`` process started for the channel tests (not waited for)."""

    process: subprocess.Popen[bytes]
    log: Path
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.alive():
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def spawn_serve(dsn: str, log_dir: Path, env: dict[str, str]) -> ChannelProcess:
    """``inbox serve`` on a free loopback port with the channel side enabled by ``env``."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    environment = {**os.environ, "INBOX_LOG_LEVEL": "warning", "INBOX_CHANNELS": "1", **env}
    environment.pop("INBOX_DSN", None)
    with log.open("wb") as out:
        command = [sys.executable, "-m", "inbox", "serve", "--dsn", dsn, "--no-migrate", "--host", "127.0.0.1",
                   "--port", str(port)]
        process = subprocess.Popen(
            command,
            stdout=out, stderr=subprocess.STDOUT, env=environment,
        )  # fmt: skip
    return ChannelProcess(process, log, port)


_connections = threading.local()


def q(dsn: str, query: str, params: Any = None) -> list[dict[str, Any]]:
    """:func:`sql` on one kept connection per thread and database (a test that polls the
    database many times a second must not open a connection each time)."""
    import psycopg
    from psycopg.rows import dict_row

    kept: dict[str, Any] = _connections.__dict__.setdefault("by_dsn", {})
    conn = kept.get(dsn)
    if conn is None or conn.closed:
        conn = kept[dsn] = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    cur = conn.execute(query.encode(), params)
    return list(cur.fetchall()) if cur.description is not None else []


def close_kept() -> None:
    for conn in _connections.__dict__.pop("by_dsn", {}).values():
        conn.close()


def holders(dsn: str) -> dict[str, str]:
    """Account id -> holder of its live lease."""
    rows = q(dsn, "SELECT account_id, holder FROM account_leases WHERE expires_at > now()")
    return {r["account_id"]: r["holder"] for r in rows}


def pid_of(holder: str) -> int:
    return int(holder.split(":")[-2])


@contextlib.contextmanager
def processes(dsn: str, log_dir: Path, env: dict[str, str], n: int) -> Iterator[list[ChannelProcess]]:
    started = [spawn_serve(dsn, log_dir, env) for _ in range(n)]
    try:
        yield started
    finally:
        for p in started:
            p.stop()
