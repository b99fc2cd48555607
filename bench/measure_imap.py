"""Email over IMAP: initial sync of a 10,000-message mailbox from a private local Dovecot, and
the IDLE latency (a message APPENDed by a sender until it is committed in the store).

`python -m bench.measure_imap [--messages 10000] [--rounds 10]`. Needs root and Dovecot (as the
tests do); prints a table and writes bench/out/imap.json.
"""

from __future__ import annotations

import argparse
import asyncio
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
from inbox.sync import SyncService

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.measure_imap", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
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
