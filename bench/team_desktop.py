"""Team mode, the desktop side: how fast a change reaches another desktop, and how long a
desktop takes to catch up after missing 1,000 changes.

A private PostgreSQL 15 (as the tests start it), one real ``inbox serve`` on loopback, two
headless desktops (the real sync core, each with its own replica file):

* latency: desktop A makes ``--changes`` changes one after the other (tag add / remove, each an
  intent pushed at once); the time from A queuing it to B's replica having it, through
  NOTIFY -> WebSocket "changed up to N" -> ``GET /v1/changes`` -> SQLite, p50 / p95 / max;
* catch-up: B stops; ``--missed`` customer messages arrive on the server (as its ingest writes
  them: row lock, message, conversation, change log, NOTIFY); B starts again and pulls them all.

Both desktops run in this one process and share its event loop (and the machine's 2 cores with
PostgreSQL and the server), so the figures are upper bounds. Run:
``.venv/bin/python -m bench.team_desktop [--changes 200] [--missed 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(url: str, dsn: str, folder: Path, changes: int, missed: int) -> dict[str, float]:
    import httpx
    import psycopg
    from psycopg.types.json import Jsonb

    from tests.team.desktop import Desktop, until
    from tests.team.servers import ACCOUNT

    figures: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        a = Desktop(folder / "a.db", "lea", http)
        b = Desktop(folder / "b.db", "marc", http)
        for d in (a, b):
            await d.join(url)
        arrived = asyncio.Event()
        stamp: dict[str, float] = {}
        conversation = b.replica.conversation_ids()[0] if b.replica.conversation_ids() else 0
        a.start()
        b.start()
        b_sync = b.sync
        assert b_sync is not None
        original = b_sync.observer.conversations

        def seen(touched: frozenset[int], new: frozenset[int]) -> None:
            original(touched, new)
            stamp["at"] = time.perf_counter()
            arrived.set()

        b_sync.observer = type(b_sync.observer)(
            conversations=seen, presence=b_sync.observer.presence, link=b_sync.observer.link,
            intents=b_sync.observer.intents,
        )  # fmt: skip
        await until(lambda: len(b.replica.conversation_ids()) >= 5 and a.sync is not None
                    and a.sync.link.value == "online" and b_sync.link.value == "online", "both online")  # fmt: skip
        conversation = b.replica.conversation_ids()[0]
        latencies: list[float] = []
        for n in range(changes):
            tag = f"bench-{n // 2}"
            expected_present = n % 2 == 0
            arrived.clear()
            start = time.perf_counter()
            if expected_present:
                a.commands.tag_add(conversation, tag)
            else:
                a.commands.tag_remove(conversation, tag)
            while True:
                await asyncio.wait_for(arrived.wait(), 30)
                arrived.clear()
                if (tag in b.store.conversation(conversation).tags) == expected_present:
                    break
            latencies.append(stamp["at"] - start)
        figures["latency_p50_ms"] = statistics.median(latencies) * 1000
        figures["latency_p95_ms"] = percentile(latencies, 95) * 1000
        figures["latency_max_ms"] = max(latencies) * 1000
        figures["changes"] = len(latencies)

        # Catch-up: B misses `missed` customer messages, then pulls them all.
        await b_sync.stop()
        targets = b.replica.conversation_ids()
        with psycopg.connect(dsn) as conn:
            for n in range(missed):
                cid = targets[n % len(targets)]
                with conn.transaction():
                    conn.execute("SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", [cid])
                    row = conn.execute(
                        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction,
                               author_key, author_name, text, sent_at, refs)
                           VALUES (%s, %s, %s, 'email', 'email', 'in', 'c', 'Customer', %s, now(), '[]') RETURNING id""",
                        [ACCOUNT, f"<bench-{n}-{time.monotonic_ns()}@example.org>", cid, f"message {n} while away"],
                    ).fetchone()
                    assert row is not None
                    conn.execute(
                        """UPDATE conversations SET last_message_id = %s, last_message_at = now(),
                               message_count = message_count + 1, preview = %s WHERE id = %s""",
                        [row[0], f"message {n} while away", cid],
                    )
                    conn.execute(
                        "INSERT INTO change_log (kind, conversation_id, account_id, payload, actor) VALUES ('message', %s, %s, %s, 'ingest')",
                        [cid, ACCOUNT, Jsonb({"message_ids": [row[0]]})],
                    )
        before = b.store._rows("SELECT count(*) AS n FROM messages")[0]["n"]
        pages_before = b_sync.pulled_pages
        start = time.perf_counter()
        pulled = await b_sync.catch_up()  # what the desktop does first when it starts again
        figures["catch_up_s"] = time.perf_counter() - start
        figures["catch_up_pages"] = b_sync.pulled_pages - pages_before
        figures["catch_up_changes"] = pulled
        after = b.store._rows("SELECT count(*) AS n FROM messages")[0]["n"]
        assert after - before == missed, (before, after)
        figures["missed"] = missed
        await a.stop()
        await b.stop()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.team_desktop", description=__doc__)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--missed", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="inbox-bench-home-"))

    from tests.server.conftest import TEMPLATE, start_cluster, stop_cluster
    from tests.team.servers import TeamServer, seed

    cluster = start_cluster()
    server: TeamServer | None = None
    try:
        cluster.psql(f"CREATE DATABASE {TEMPLATE}")
        from inbox.server.db import migrate

        asyncio.run(migrate(cluster.dsn(TEMPLATE)))
        dsn = cluster.new_database()
        seed(dsn)
        server = TeamServer(dsn)
        server.start()
        with tempfile.TemporaryDirectory(prefix="inbox-bench-team-") as folder:
            figures = asyncio.run(measure(server.url, dsn, Path(folder), args.changes, args.missed))
    finally:
        if server is not None:
            server.stop()
        stop_cluster(cluster)
    print(f"change -> other desktop, {int(figures['changes'])} changes: "
          f"p50 {figures['latency_p50_ms']:.1f} ms, p95 {figures['latency_p95_ms']:.1f} ms, "
          f"max {figures['latency_max_ms']:.1f} ms")  # fmt: skip
    print(f"catch-up after {int(figures['missed'])} missed changes: {figures['catch_up_s']:.2f} s "
          f"({int(figures['catch_up_changes'])} changes in {int(figures['catch_up_pages'])} pages)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
