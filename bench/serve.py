"""``make bench-serve``: the team server under a call centre's load, on loopback only.

One PostgreSQL 15 and two ``inbox serve`` processes (each polling half of the channel accounts
under leases, each serving half of the agents); 20 X accounts on a local X API server that
receives a steady stream of customer mentions (50 a second in all); 300 simulated agents, each a
WebSocket that pulls ``/v1/changes`` by cursor on every push (one pull in flight per agent,
another right after if a push came meanwhile), each a member of two accounts, each sending an
intent (tag add/remove, status) every 10 s on average. Prints change-to-agent latency (from the
change's commit-time stamp to the agent holding it) p50/p95/p99, inbound-to-agent latency (from
the customer's post on the X server), intents accepted per second, the servers' CPU and RSS,
PostgreSQL connections, and lost changes (a change of an agent's accounts it never received).

    python -m bench.serve [--minutes 5] [--agents 300] [--accounts 20] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import websockets

from inbox.server.cluster import PG_BIN, PrivateCluster, free_port

PASSWORD = "bench-password"


# -- PostgreSQL ------------------------------------------------------------------------------------


class Postgres(PrivateCluster):
    """The bench's cluster: fsync on, as a server runs, and room for every agent's pulls."""

    @property
    def root(self) -> Path:
        return self.folder

    @classmethod
    def start_new(cls) -> Postgres:
        return cls.temporary("inbox-bench-pg-", "-c max_connections=400")


# -- a local X API with a steady stream of mentions ------------------------------------------------------


class XStream:
    """The X API v2 endpoints the provider polls, for ``accounts`` users, fed by ``add``."""

    def __init__(self, accounts: int) -> None:
        self.users = [str(9_000_000_000 + i) for i in range(accounts)]
        self.mentions: dict[str, list[dict[str, Any]]] = {u: [] for u in self.users}
        self.posted_at: dict[str, float] = {}  # tweet id -> when the customer posted it (time.time())
        self._ids = itertools.count(1_950_000_000_000_000_000)
        self._lock = threading.Lock()
        handler = _x_handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, user: str, n: int) -> None:
        tweet_id = str(next(self._ids))
        author = str(100_000 + n % 5000)
        item = {"id": tweet_id, "text": f"@acme ma commande {n} n'est pas arrivée", "author_id": author,
                "conversation_id": tweet_id, "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}  # fmt: skip
        with self._lock:
            self.mentions[user].insert(0, item)
            self.posted_at[tweet_id] = time.time()

    def page(self, user: str, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            items = list(self.mentions.get(user, []))
        if "since_id" in query:
            items = [i for i in items if int(i["id"]) > int(query["since_id"])]
        size = max(1, min(100, int(query.get("max_results", "10"))))
        start = int(query.get("pagination_token", "0") or 0)
        page = items[start : start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + size < len(items):
            meta["next_token"] = str(start + size)
        doc: dict[str, Any] = {"meta": meta}
        if page:
            doc["data"] = page
            authors = sorted({i["author_id"] for i in page})
            doc["includes"] = {"users": [{"id": a, "name": f"Client {a}", "username": f"client{a}"} for a in authors]}
        return doc


def _x_handler(x: XStream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            parts = split.path.strip("/").split("/")
            if parts[:2] == ["2", "users"] and parts[-1] == "mentions":
                doc = x.page(parts[2], query)
            else:  # our own posts, DM events: none in this benchmark
                doc = {"meta": {"result_count": 0}}
            body = json.dumps(doc).encode()
            self.send_response(200)
            for name, value in (("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                ("x-rate-limit-remaining", "450"), ("x-rate-limit-reset", str(int(time.time()) + 900))):  # fmt: skip
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


# -- setup -------------------------------------------------------------------------------------------------


def prepare(dsn: str, x: XStream, agents: int, secrets: Path) -> list[tuple[str, list[str]]]:
    """Accounts (tokens in the secrets file), agents with two accounts each; (agent, accounts)."""
    from inbox.server.db import migrate
    from inbox.server.people import hash_password
    from inbox.server.secrets_file import FileSecretStore

    asyncio.run(migrate(dsn))
    store = FileSecretStore(secrets)
    hashed = hash_password(PASSWORD)
    team: list[tuple[str, list[str]]] = []
    with psycopg.connect(dsn) as conn, conn.transaction():
        ids = []
        for i, user in enumerate(x.users):
            account_id = f"twitter:acme{i}"
            settings = {"user_id": user, "username": f"acme{i}", "client_id": "bench", "base_url": x.url}
            conn.execute("INSERT INTO accounts (id, channel, name, own_keys, settings) VALUES (%s, 'twitter', %s, %s, %s)",
                         [account_id, f"Acme {i}", json.dumps([f"acme{i}", user]), json.dumps(settings)])  # fmt: skip
            store.set(account_id, "access_token", "bench-token")
            ids.append(account_id)
        for n in range(agents):
            name = f"agent{n:03d}"
            mine = [ids[(2 * n) % len(ids)], ids[(2 * n + 1) % len(ids)]]
            row = conn.execute("INSERT INTO agents (name, display_name, password_hash) VALUES (%s, %s, %s) RETURNING id",
                               [name, name, hashed]).fetchone()  # fmt: skip
            assert row is not None
            for account_id in mine:
                conn.execute("INSERT INTO memberships (agent_id, account_id) VALUES (%s, %s)", [row[0], account_id])
            team.append((name, mine))
    return team


def start_server(dsn: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "inbox", "serve", "--dsn", dsn, "--no-migrate", "--host",
                                 "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **env})  # fmt: skip


def wait_healthy(url: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v1/health", timeout=2).json().get("listening"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


# -- agents ------------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # change -> agent, seconds
    inbound: list[float] = field(default_factory=list)  # customer's post -> agent, seconds
    received: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    intents_ok: int = 0
    intents_refused: int = 0
    pulls: int = 0
    measured_pulls: int = 0  # pulls while measuring (for pulls/s)
    pull_bytes: int = 0  # answer bytes of those pulls
    pushes: int = 0
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    measuring: bool = False


async def run_agent(name: str, base: str, token: str, stats: Stats, stop: asyncio.Event, x: XStream,
                    rng: random.Random) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    cursor = "0"
    dirty = asyncio.Event()
    conversations: list[int] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:

        async def pull() -> None:
            nonlocal cursor
            while not stop.is_set():
                await dirty.wait()
                dirty.clear()
                more = True
                while more:
                    try:
                        answer = await http.get("/v1/changes", params={"after": cursor, "limit": 500})
                        page = answer.json()
                    except (httpx.HTTPError, ValueError) as exc:
                        stats.errors += 1
                        stats.error_kinds[f"pull: {type(exc).__name__}"] += 1
                        await asyncio.sleep(0.5)
                        dirty.set()
                        break
                    now = time.time()
                    stats.pulls += 1
                    if stats.measuring:
                        stats.measured_pulls += 1
                        stats.pull_bytes += len(answer.content)
                    cursor, more = page["cursor"], page["more"]
                    by_message = {m["id"]: m for m in page.get("messages", [])}
                    for change in page["changes"]:
                        stats.received[name].add(change["seq"])
                        if stats.measuring:
                            at = datetime.fromisoformat(change["at"].replace("Z", "+00:00")).timestamp()
                            stats.latencies.append(now - at)
                            if change["kind"] == "message":
                                for mid in change["payload"].get("message_ids", []):
                                    posted = x.posted_at.get(str(by_message.get(mid, {}).get("provider_id", "")))
                                    if posted is not None:
                                        stats.inbound.append(now - posted)
                        if change["conversation_id"] and len(conversations) < 200:
                            conversations.append(change["conversation_id"])

        async def intents() -> None:
            client_id = f"bench-{name}"
            for seq in itertools.count(1):
                await asyncio.sleep(rng.expovariate(1 / 10))
                if stop.is_set():
                    return
                if not conversations:
                    continue
                cid = rng.choice(conversations)
                intent = rng.choice([{"type": "tag_add", "conversation_id": cid, "tag": "bench"},
                                     {"type": "tag_remove", "conversation_id": cid, "tag": "bench"},
                                     {"type": "status", "conversation_id": cid, "status": "open"}])  # fmt: skip
                try:
                    answer = await http.post("/v1/intents", json={"client_id": client_id, "seq": seq, "intent": intent})
                except httpx.HTTPError as exc:
                    stats.errors += 1
                    stats.error_kinds[f"intent: {type(exc).__name__}"] += 1
                    continue
                if stats.measuring:
                    if answer.status_code < 300:
                        stats.intents_ok += 1
                    else:
                        stats.intents_refused += 1

        puller = asyncio.create_task(pull())
        sender = asyncio.create_task(intents())
        ws_url = base.replace("http://", "ws://") + "/v1/ws"
        try:
            # A lost socket is counted and opened again, as a desktop does; it never stops the
            # other agents (``stop`` is the bench's own end).
            while not stop.is_set():
                try:
                    async with websockets.connect(ws_url, additional_headers=headers, max_queue=None,
                                                  open_timeout=60) as ws:  # fmt: skip
                        dirty.set()
                        while not stop.is_set():
                            try:
                                text = await asyncio.wait_for(ws.recv(), timeout=1.0)
                            except TimeoutError:
                                continue
                            message = json.loads(text)
                            if message.get("type") == "changed":
                                stats.pushes += 1
                                dirty.set()
                except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                    stats.errors += 1
                    stats.error_kinds[f"socket: {type(exc).__name__}"] += 1
                    await asyncio.sleep(1.0)
        finally:
            dirty.set()
            sender.cancel()
            await asyncio.gather(puller, sender, return_exceptions=True)


async def sign_in(base: str, name: str) -> str:
    async with httpx.AsyncClient(timeout=120) as http:
        answer = await http.post(base + "/v1/session", json={"name": name, "password": PASSWORD})
        answer.raise_for_status()
        return str(answer.json()["token"])


# -- measuring the servers ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def postgres_cpu_seconds(pg: Postgres) -> float:
    """CPU time of the postmaster's children alive now (the backends, checkpointer, walwriter)."""
    try:
        postmaster = int((pg.root / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="inbound messages per second, all accounts")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between two polls of an account")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"PostgreSQL 15 is needed ({PG_BIN}): apt-get install postgresql-15")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="inbox-bench-serve-"))
    pg = Postgres.start_new()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        pg_dsn = pg.dsn()
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        dsn = pg.dsn("bench")
        x = XStream(args.accounts)
        team = prepare(dsn, x, args.agents, work / "secrets.json")
        env = {"INBOX_SECRETS": str(work / "secrets.json"), "INBOX_POLL_INTERVAL": str(args.poll),
               "INBOX_LOG_LEVEL": "warning", "INBOX_CHANNELS": "1", "INBOX_JOB_INTERVAL": "30",
               "INBOX_PRESENCE_TTL": "60"}  # fmt: skip
        ports = [free_port(), free_port()]
        servers = [start_server(dsn, port, env, work / f"serve-{port}.log") for port in ports]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            wait_healthy(base)
        print(f"2 servers up; {args.agents} agents, {args.accounts} accounts, {args.rate:g} messages/s, "
              f"{args.minutes:g} min", flush=True)  # fmt: skip

        stats = Stats()
        stop = asyncio.Event()
        connections: list[int] = []

        async def scenario() -> None:
            sem = asyncio.Semaphore(8)

            async def signed(name: str, base: str) -> str:
                async with sem:
                    return await sign_in(base, name)

            tokens = await asyncio.gather(*(signed(name, bases[i % 2]) for i, (name, _a) in enumerate(team)))
            tasks = [asyncio.create_task(run_agent(name, bases[i % 2], token, stats, stop, x, random.Random(rng.random())))
                     for i, ((name, _a), token) in enumerate(zip(team, tokens, strict=True))]  # fmt: skip

            feeding = threading.Event()
            feeding.set()

            def feed() -> None:
                n = 0
                interval = 1 / args.rate
                next_at = time.monotonic()
                while feeding.is_set():
                    x.add(x.users[n % len(x.users)], n)
                    n += 1
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))

            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            await asyncio.sleep(10)  # warm-up: sockets open, first pulls done, leases balanced
            cpu0 = [cpu_seconds(p.pid) for p in servers]
            pg0, client0 = postgres_cpu_seconds(pg), time.process_time()
            t0 = time.monotonic()
            stats.measuring = True
            rss: list[float] = []
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                while time.monotonic() - t0 < args.minutes * 60:
                    cur = await conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'bench'")
                    row = await cur.fetchone()
                    connections.append(int(row[0]) if row else 0)
                    rss.append(sum(rss_mb(p.pid) for p in servers))
                    await asyncio.sleep(2)
            stats.measuring = False
            elapsed = time.monotonic() - t0
            cpu = [(cpu_seconds(p.pid) - c) / elapsed * 100 for p, c in zip(servers, cpu0, strict=True)]
            pg_cpu = (postgres_cpu_seconds(pg) - pg0) / elapsed * 100
            client_cpu = (time.process_time() - client0) / elapsed * 100
            feeding.clear()
            await asyncio.sleep(10)  # the last messages are fetched and pushed, then stop
            # Lost: a change of an agent's accounts, committed 5 s or more before the agents stop,
            # that the agent never pulled.
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                cur = await conn.execute("SELECT seq, account_id FROM change_log WHERE account_id IS NOT NULL "
                                         "AND at < now() - interval '5 seconds'")  # fmt: skip
                expected_rows = await cur.fetchall()
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                by_account: dict[str, set[int]] = defaultdict(set)
                for seq, account in expected_rows:
                    by_account[account].add(int(seq))
                cur = await conn.execute("SELECT count(*) FROM messages")
                row = await cur.fetchone()
                messages = int(row[0]) if row else 0
            lost = 0
            for name, accounts in team:
                expected = {s for a in accounts for s in by_account[a]}
                lost += len(expected - stats.received[name])
            print(f"\nmeasured {elapsed:.0f} s; {messages} messages stored; {stats.pulls} pulls, {stats.pushes} pushes")
            print(f"pulls while measuring: {stats.measured_pulls / elapsed:.0f}/s, "
                  f"{stats.pull_bytes / max(stats.measured_pulls, 1) / 1024:.1f} KiB per answer on average")  # fmt: skip
            print(f"change -> agent latency: p50 {pct(stats.latencies, 50) * 1000:.0f} ms, "
                  f"p95 {pct(stats.latencies, 95) * 1000:.0f} ms, p99 {pct(stats.latencies, 99) * 1000:.0f} ms "
                  f"({len(stats.latencies)} deliveries)")  # fmt: skip
            print(f"customer post -> agent latency: p50 {pct(stats.inbound, 50) * 1000:.0f} ms, "
                  f"p95 {pct(stats.inbound, 95) * 1000:.0f} ms, p99 {pct(stats.inbound, 99) * 1000:.0f} ms "
                  f"(poll every {args.poll:g} s)")  # fmt: skip
            print(f"intents accepted: {stats.intents_ok / elapsed:.1f}/s ({stats.intents_refused} refused, "
                  f"{stats.errors} client errors{': ' if stats.errors else ''}"
                  f"{', '.join(f'{k} x{n}' for k, n in stats.error_kinds.most_common())})")  # fmt: skip
            print(f"server CPU: {', '.join(f'{c:.0f}%' for c in cpu)} of one core; RSS (both) "
                  f"max {max(rss):.0f} MB")  # fmt: skip
            print(f"PostgreSQL connections: max {max(connections)}, median {statistics.median(connections):.0f}; "
                  f"PostgreSQL CPU {pg_cpu:.0f}%, the agents' process {client_cpu:.0f}% of one core; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
            print(f"lost changes: {lost}")
            if stats.errors or not stats.pushes:  # what the servers said: the first place to look
                for log in sorted(work.glob("serve-*.log")):
                    print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text("utf-8", "replace").splitlines()[-15:]))

        asyncio.run(scenario())
        return 0
    finally:
        for p in servers:
            p.send_signal(signal.SIGTERM)
        for p in servers:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        pg.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
