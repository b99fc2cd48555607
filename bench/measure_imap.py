"""Email over IMAP: initial sync of a 10,000-message mailbox from a private local Dovecot, and
the IDLE latency (a message APPENDed by a sender until it is committed in the store).

`python -m bench.measure_imap [--messages 10000] [--rounds 10]`. Needs root and Dovecot (as the
tests do); prints a table and writes bench/out/imap.json.

`python -m bench.measure_imap --polls [--messages 5000] [--rounds 300]` instead times the sync
engine's common call, a fetch when nothing changed, on a Dovecot that offers CONDSTORE and on one
configured not to (and a poll after one flag changed elsewhere); writes bench/out/imap_poll.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from inbox.models import Account, Channel
from inbox.providers.email.provider import EmailProvider
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from inbox.sync.service import SyncService

OUT = Path(__file__).resolve().parent / "out"


def mail(n: int, when: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n % 997} <customer{n % 997}@example.test>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = f"Order BR-{10000 + n % 5000}: question {n}"
    msg["Message-ID"] = f"<bench-{n}@example.test>"
    if n % 4 and n > 4:
        msg["In-Reply-To"] = f"<bench-{n - 4}@example.test>"
        msg["References"] = f"<bench-{n - 4}@example.test>"
    msg["Date"] = format_datetime(when)
    msg.set_content(f"Hello, this is message {n}. My parcel has not arrived yet.\n\nThanks\n")
    return msg.as_bytes()


def fill_maildir(maildir: Path, count: int) -> None:
    """Deliver straight into the mailbox's maildir (as a local delivery agent would)."""
    new = maildir / "new"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    for n in range(count):
        path = new / f"{int(time.time())}.bench{n}.localhost"
        path.write_bytes(mail(n, now - timedelta(minutes=count - n)))
    import pwd

    account = pwd.getpwnam("dovecot")
    for root, dirs, files in os.walk(maildir.parent):
        for name in dirs + files:
            os.chown(os.path.join(root, name), account.pw_uid, account.pw_gid)


def account_for(server: object) -> Account:
    host, port, user = server.host, server.port, server.user  # type: ignore[attr-defined]
    return Account(
        f"email:{user}", Channel.EMAIL, "bench", frozenset({user}),
        {"imap_host": host, "imap_port": str(port), "imap_security": "none", "smtp_host": host,
         "smtp_port": "1", "smtp_security": "none", "username": user, "initial_days": "30"},
    )  # fmt: skip


async def measure(server: object, messages: int, rounds: int) -> dict[str, object]:
    secrets = MemorySecretStore()
    account = account_for(server)
    secrets.set(account.id, "password", server.password)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "inbox.db")
        store.save_account(account)
        async with EmailProvider(account, secrets) as provider:
            service = SyncService(store, [provider])
            began = time.perf_counter()
            await service.sync_account(account.id)
            initial = time.perf_counter() - began
            stored = store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            runner = asyncio.create_task(service.run())
            await asyncio.sleep(1.0)
            latencies: list[float] = []
            for n in range(rounds):
                before = store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
                sent = time.perf_counter()
                await asyncio.to_thread(server.append, mail(messages + n, datetime.now(UTC)))  # type: ignore[attr-defined]
                while store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == before:
                    if time.perf_counter() - sent > 60:
                        raise SystemExit("IDLE: a message did not arrive within 60 s")
                    await asyncio.sleep(0.005)
                latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(0.3)
            service.stop()
            await runner
        store.close()
    return {
        "messages": messages,
        "stored": stored,
        "initial_sync_s": round(initial, 2),
        "initial_sync_msg_per_s": round(stored / initial, 1),
        "idle_latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "idle_latency_ms_max": round(max(latencies) * 1000, 1),
        "rounds": rounds,
    }


def _spread(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


async def _poll_once(provider: EmailProvider, cursor: str | None) -> float:
    began = time.perf_counter()
    result = await provider.fetch(cursor)
    spent = time.perf_counter() - began
    if result.batch.messages or result.cursor != cursor:
        raise SystemExit("a no-change poll returned messages or moved the cursor")
    return spent


async def measure_polls(servers: dict[str, object], rounds: int) -> dict[str, object]:
    """Time ``fetch(cursor)`` when nothing changed, after a complete first sync, alternating
    between the servers so that both sides share the machine's load; then, on the CONDSTORE
    server, a poll after another client flagged one message."""
    figures: dict[str, object] = {}
    async with contextlib.AsyncExitStack() as stack:
        providers: dict[str, EmailProvider] = {}
        cursors: dict[str, str | None] = {}
        for name, server in servers.items():
            secrets = MemorySecretStore()
            account = account_for(server)
            secrets.set(account.id, "password", server.password)  # type: ignore[attr-defined]
            provider = await stack.enter_async_context(
                EmailProvider(account, secrets, chunk_size=1000)
            )
            cursor, synced = None, 0
            while True:
                result = await provider.fetch(cursor)
                cursor, synced = result.cursor, synced + len(result.batch.messages)
                if not result.more:
                    break
            providers[name], cursors[name] = provider, cursor
            last = await provider.fetch(cursor)
            figures[name] = {"synced": synced, "skipped_search": "unchanged" in last.info}
        for _ in range(10):  # warm connections and the servers' caches
            for name, provider in providers.items():
                await _poll_once(provider, cursors[name])
        samples: dict[str, list[float]] = {name: [] for name in providers}
        for _ in range(rounds):
            for name, provider in providers.items():
                samples[name].append(await _poll_once(provider, cursors[name]))
        for name, spent in samples.items():
            row = figures[name]
            assert isinstance(row, dict)
            row.update(_spread(spent))
        # Another client flags one message before each poll. On a maildir the flag is in the
        # file name, so the server re-reads the folder: both sides pay that, only CONDSTORE
        # tells which message changed (CHANGEDSINCE).
        flagged: dict[str, list[float]] = {name: [] for name in providers}
        reported: dict[str, set[str]] = {name: set() for name in providers}
        for n in range(min(rounds, 50)):
            for name, provider in providers.items():
                conn = servers[name].client()  # type: ignore[attr-defined]
                conn.select("INBOX")
                conn.uid("STORE", str(1 + n * 37 % 5000), "+FLAGS", "(\\Flagged)")
                conn.logout()
                began = time.perf_counter()
                result = await provider.fetch(cursors[name])
                flagged[name].append(time.perf_counter() - began)
                cursors[name] = result.cursor
                reported[name].add(result.info.get("flags_changed", "-"))
        for name in providers:
            figures[f"{name}_one_flag_changed"] = {
                **_spread(flagged[name]),
                "flags_changed_reported": sorted(reported[name]),
            }
    return figures


def polls(messages: int, rounds: int) -> dict[str, object]:
    from tests.providers.email.servers import running_dovecot

    without = "imap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS\n"
    with running_dovecot() as condstore, running_dovecot(extra_config=without) as plain:
        servers: dict[str, object] = {"condstore": condstore, "no_condstore": plain}
        for server in servers.values():
            fill_maildir(server.maildir, messages)  # type: ignore[attr-defined]
        figures = asyncio.run(measure_polls(servers, rounds))
    return {"messages": messages, "rounds": rounds, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.measure_imap", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--polls", action="store_true", help="time no-change polls instead")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.polls:
        figures = polls(args.messages, args.rounds)
        OUT.mkdir(exist_ok=True)
        (OUT / "imap_poll.json").write_text(json.dumps(figures, indent=2))
        for name in ("no_condstore", "condstore"):
            row = figures[name]
            assert isinstance(row, dict)
            print(f"no-change poll, {name:12} ({row['synced']:,} messages): p50 {row['p50_ms']} ms, "
                  f"p90 {row['p90_ms']} ms, mean {row['mean_ms']} ms, "
                  f"search skipped: {row['skipped_search']}")
        for name in ("no_condstore", "condstore"):
            flag = figures[f"{name}_one_flag_changed"]
            assert isinstance(flag, dict)
            print(f"poll after one flag changed, {name:12}: p50 {flag['p50_ms']} ms, "
                  f"p90 {flag['p90_ms']} ms; flags_changed: {flag['flags_changed_reported']}")
        return 0
    from tests.providers.email.servers import running_dovecot

    with running_dovecot() as server:
        fill_maildir(server.maildir, args.messages)
        result = asyncio.run(measure(server, args.messages, args.rounds))
    OUT.mkdir(exist_ok=True)
    (OUT / "imap.json").write_text(json.dumps(result, indent=2))
    print(f"initial sync of {result['stored']:,} messages from Dovecot: {result['initial_sync_s']} s "
          f"({result['initial_sync_msg_per_s']} msg/s)")
    print(f"IDLE latency, APPEND to stored: p50 {result['idle_latency_ms_p50']} ms, "
          f"max {result['idle_latency_ms_max']} ms over {result['rounds']} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
