"""Takeover between real ``inbox serve`` processes sharing one PostgreSQL, against fake X API
servers: owners SIGKILLed in the middle of a fetch or a send (seeded, 50 kills), and an owner
paused past its lease (SIGSTOP) then resumed.

Each fake holds every request for a moment before answering it, so a test can see a fetch (GET)
or a send (POST) in flight on an account and kill the process holding that account's lease right
then. What must hold afterwards: every account owned by one live process; every inbound message
stored (and, by the unique key, once); every reply posted at most once (counted on the fakes)
and each either ``sent`` (then posted exactly once) or ``unknown`` ("may have been sent"); no
conversation without messages, counts that match, every stored message announced in the change
log; and a paused owner, once resumed, writes and sends nothing.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from inbox.models import Author, Channel, Draft, IdentityKind, Surface
from inbox.replies.compose import outbound_message
from inbox.server.channel_store import account_from_row, queue_reply
from tests.server.channel_helpers import ChannelProcess, close_kept, holders, pid_of, q, save_account, spawn_serve

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]

SEED = int(os.environ.get("INBOX_KILL_SEED", "1616"))
KILLS = int(os.environ.get("INBOX_KILLS", "50"))
HOLD = {"GET": 0.1, "POST": 0.3}  # seconds a fake holds a request before answering: the window a kill aims at

ENV = {
    "INBOX_LEASE_TTL": "2",
    "INBOX_LEASE_RENEW": "0.4",
    "INBOX_POLL_INTERVAL": "0.2",
    "INBOX_OUTBOX_INTERVAL": "0.5",
    "INBOX_JOBS": "0",
    "INBOX_PRESENCE_TTL": "60",
}


@dataclass
class InFlight:
    """Requests each fake is holding, by method."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: Counter[tuple[int, str]] = field(default_factory=Counter)

    def begin(self, index: int, method: str) -> None:
        with self.lock:
            self.busy[(index, method)] += 1

    def end(self, index: int, method: str) -> None:
        with self.lock:
            self.busy[(index, method)] -= 1

    def accounts_with(self, method: str) -> list[int]:
        with self.lock:
            return sorted(i for (i, m), n in self.busy.items() if m == method and n > 0)


def _holding_fake(index: int, flight: InFlight) -> Any:
    """A fake X API server whose every request stays in flight for HOLD seconds."""
    from tests.corpus import corpus_dir
    from tests.providers.twitter.fake_x import FakeX

    fake = FakeX(corpus_dir())
    base: Any = fake._server.RequestHandlerClass

    class Holding(base):  # type: ignore[misc,valid-type]
        def _dispatch(self, method: str) -> None:
            flight.begin(index, method)
            try:
                time.sleep(HOLD.get(method, 0.1))  # received, not answered: a kill now loses the answer
                super()._dispatch(method)
            finally:
                flight.end(index, method)

    fake._server.RequestHandlerClass = Holding
    fake._server.handle_error = lambda _request, _address: None  # a killed client breaks its pipe: expected
    return fake.start()


@pytest.fixture
def fakes() -> Iterator[tuple[list[Any], InFlight]]:
    flight = InFlight()
    started = [_holding_fake(i, flight) for i in range(4)]
    try:
        yield started, flight
    finally:
        for fake in started:
            fake.stop()


def _x_accounts(dsn: str, fakes: list[Any], secrets: Path) -> list[str]:
    from inbox.models import Account
    from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER

    ids = []
    for i, fake in enumerate(fakes):
        access, refresh = fake.issue_tokens()
        account = Account(f"twitter:acme{i}", Channel.TWITTER, f"Acme {i}", frozenset({f"acme{i}", OWN_USER["id"]}),
                          {"user_id": OWN_USER["id"], "username": OWN_USER["username"], "client_id": CLIENT_ID,
                           "base_url": fake.url})  # fmt: skip
        save_account(dsn, account, secrets, {"access_token": access, "refresh_token": refresh})
        ids.append(account.id)
    return ids


def _reply_to_a_new_conversation(dsn: str, texts: Iterator[str]) -> str | None:
    """Queue one reply to a customer's mention that has none yet; the reply's text (unique)."""
    with psycopg.connect(dsn, row_factory=dict_row) as conn, conn.transaction():
        row = conn.execute(
            """SELECT m.*, a.id AS acc, a.channel AS acc_channel, a.name, a.own_keys, a.settings FROM messages m
               JOIN accounts a ON a.id = m.account_id
               WHERE m.direction = 'in' AND m.surface = 'mention' AND m.id > (SELECT max(id) - 400 FROM messages)
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.conversation_id = m.conversation_id)
               ORDER BY random() LIMIT 1"""
        ).fetchone()
        if row is None:
            return None
        account = account_from_row({"id": row["acc"], "channel": row["acc_channel"], "name": row["name"],
                                    "own_keys": row["own_keys"], "settings": row["settings"]})  # fmt: skip
        text = next(texts)
        customer = Author(IdentityKind.TWITTER, row["author_key"], row["author_handle"], row["author_name"])
        draft = Draft(f"inbox.{text.replace(' ', '-')}", account.id, int(row["conversation_id"]), Channel.TWITTER,
                      Surface.MENTION, text, customer, reply_to_id=row["provider_id"], thread_key=row["thread_key"])
        queue_reply(conn, draft, outbound_message(draft, account, row["sent_at"]), "lea")
    return text


def _check_store(dsn: str) -> None:
    """No orphans, counts that match, every stored message announced by a change."""
    assert q(dsn, "SELECT id FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)") == []
    assert q(dsn, """SELECT c.id FROM conversations c WHERE c.message_count <>
                           (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)""") == []
    assert q(dsn, "SELECT o.id FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.outbox_id = o.id)") == []
    announced = {int(m) for r in q(dsn, "SELECT payload FROM change_log") for m in r["payload"].get("message_ids", [])}
    stored = {int(r["id"]) for r in q(dsn, "SELECT id FROM messages")}
    assert stored - announced == set()


def _live(dsn: str, procs: list[ChannelProcess]) -> list[ChannelProcess]:
    """The processes running and started (their channel side has checked in)."""
    beating = {pid_of(r["holder"]) for r in q(dsn, "SELECT holder FROM lease_holders WHERE expires_at > now()")}
    return [p for p in procs if p.alive() and p.pid in beating]


def _wait(what: str, check: Any, limit: float = 90.0) -> None:
    """Wait until ``check()`` holds (a bound on a wait, not a timed assertion)."""
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)


def test_owners_killed_mid_fetch_and_mid_send_lose_nothing_and_send_nothing_twice(
    pg_dsn: str, tmp_path: Path, fakes: tuple[list[Any], InFlight]
) -> None:
    servers, flight = fakes
    rng = random.Random(SEED)
    secrets = tmp_path / "secrets.json"
    account_ids = _x_accounts(pg_dsn, servers, secrets)
    env = {**ENV, "INBOX_SECRETS": str(secrets)}
    procs: list[ChannelProcess] = [spawn_serve(pg_dsn, tmp_path, env) for _ in range(4)]
    added: dict[int, list[str]] = {i: [] for i in range(len(servers))}
    replies: list[str] = []
    stop = threading.Event()
    texts = (f"reply {n}" for n in itertools.count(1))

    def stream() -> None:  # customers keep writing while owners die
        while not stop.is_set():
            i = rng.randrange(len(servers))
            added[i].append(servers[i].add_mention(f"@TwitterDev commande {len(added[i])} en retard"))
            time.sleep(0.05)

    def agents() -> None:  # and agents keep answering
        while not stop.is_set():
            text = _reply_to_a_new_conversation(pg_dsn, texts)
            if text is not None:
                replies.append(text)
            time.sleep(0.08)

    workers = [threading.Thread(target=stream), threading.Thread(target=agents)]
    kills: Counter[str] = Counter()
    try:
        _wait("every account owned and its timeline stored",
              lambda: len(q(pg_dsn, "SELECT 1 FROM accounts WHERE state = 'up_to_date'")) == len(account_ids))
        for w in workers:
            w.start()
        started = time.monotonic()
        for n in range(KILLS):
            # A kill needs a survivor to take over: at least two started processes (a replacement
            # takes a few seconds to import and start).
            _wait("two processes up", lambda: len(_live(pg_dsn, procs)) >= 2, limit=60)
            wanted = ["POST", "GET"] if n % 2 else ["GET", "POST"]
            victim, kind = None, "any"
            deadline = time.monotonic() + 1.5
            while victim is None and time.monotonic() < deadline:
                # The wanted kind of request in flight; after 1 s, the other kind will do.
                methods = wanted if time.monotonic() > deadline - 0.5 else wanted[:1]
                owners = holders(pg_dsn)
                for method, i in ((m, i) for m in methods for i in flight.accounts_with(m)):
                    owner = owners.get(account_ids[i])
                    found = [p for p in procs if owner and p.pid == pid_of(owner) and p.alive()]
                    if found:
                        victim, kind = found[0], ("fetch" if method == "GET" else "send")
                        break
                time.sleep(0.02)
            if victim is None:
                victim = rng.choice(_live(pg_dsn, procs))
            victim.kill()
            kills[kind] += 1
            procs[procs.index(victim)] = spawn_serve(pg_dsn, tmp_path, env)
            procs.append(victim)  # stopped (already dead) at the end like the others
            time.sleep(rng.uniform(0.05, 0.4))
            if n % 10 == 9:
                conns = q(pg_dsn, "SELECT count(*) AS n FROM pg_stat_activity")[0]["n"]
                print(f"{n + 1} kills after {time.monotonic() - started:.1f} s ({dict(kills)}; {conns} connections)",
                      flush=True)
        kill_phase = time.monotonic() - started
        stop.set()
        for w in workers:
            w.join()

        def settled() -> bool:
            stored = {(r["account_id"], r["provider_id"]) for r in q(pg_dsn, "SELECT account_id, provider_id FROM messages WHERE direction = 'in'")}
            missing = [t for i, ids in added.items() for t in ids if (account_ids[i], t) not in stored]
            waiting = q(pg_dsn, "SELECT 1 FROM outbox WHERE state IN ('queued', 'sending')")
            return not missing and not waiting and len(holders(pg_dsn)) == len(account_ids)

        _wait("every message stored and every reply settled after the last kill", settled)
    finally:
        stop.set()
        for p in procs:
            p.stop()
        close_kept()

    # A client killed while sending its request leaves one without a body: nothing was posted.
    posted = Counter(r.body["text"] for fake in servers for r in fake.requests_to("/2/tweets", "POST") if r.body)
    outbox = {r["body"]: r for r in q(pg_dsn, "SELECT body, state, provider_id, id FROM outbox")}
    states = Counter(r["state"] for r in outbox.values())
    unknown_posted = sum(1 for t, r in outbox.items() if r["state"] == "unknown" and posted[t])
    print(f"\nkills: {dict(kills)} in {kill_phase:.1f} s; {sum(map(len, added.values()))} mentions added; "
          f"replies {dict(states)}, {unknown_posted} of the unknown ones were posted")  # fmt: skip
    # Every reply posted at most once; sent means posted exactly once; unknown means "may have been".
    assert sorted(outbox) == sorted(replies)
    assert {t: n for t, n in posted.items() if n > 1} == {}
    assert set(states) <= {"sent", "unknown"}, states
    replies_stored = {r["outbox_id"]: r["provider_id"] for r in q(pg_dsn, "SELECT outbox_id, provider_id FROM messages WHERE outbox_id IS NOT NULL")}
    for text, row in outbox.items():
        if row["state"] == "sent":
            assert posted[text] == 1, text
            assert replies_stored[row["id"]] == row["provider_id"]
    assert set(posted) <= set(outbox)
    _check_store(pg_dsn)
    aimed = max(1, KILLS // 10)
    assert kills["fetch"] >= aimed and kills["send"] >= aimed, f"too few kills aimed at a request in flight: {kills}"


def test_an_owner_paused_past_its_lease_writes_and_sends_nothing_when_it_resumes(
    pg_dsn: str, tmp_path: Path, fakes: tuple[list[Any], InFlight]
) -> None:
    servers, flight = fakes
    fake = servers[0]
    secrets = tmp_path / "secrets.json"
    [account_id] = _x_accounts(pg_dsn, servers[:1], secrets)
    env = {**ENV, "INBOX_SECRETS": str(secrets)}
    first = spawn_serve(pg_dsn, tmp_path, env)
    procs = [first]
    try:
        _wait("the first process owns the account and stored the timeline",
              lambda: account_id in holders(pg_dsn) and bool(q(pg_dsn, "SELECT 1 FROM accounts WHERE cursor IS NOT NULL")))
        second = spawn_serve(pg_dsn, tmp_path, env)
        procs.append(second)
        _wait("the second process is live", lambda: len(q(pg_dsn, "SELECT 1 FROM lease_holders WHERE expires_at > now()")) == 2)
        [old] = q(pg_dsn, "SELECT holder, epoch FROM account_leases")
        assert pid_of(old["holder"]) == first.pid
        _wait("a fetch of the first process in flight", lambda: flight.accounts_with("GET") == [0], limit=30)
        first.pause()  # mid-fetch, holding the lease
        texts = (f"pause reply {n}" for n in itertools.count(1))
        mention = fake.add_mention("@TwitterDev toujours rien reçu")
        before = _reply_to_a_new_conversation(pg_dsn, texts)
        _wait("the second process took over, stored the new mention and sent the reply",
              lambda: q(pg_dsn, "SELECT 1 FROM messages WHERE provider_id = %s", [mention])
              and q(pg_dsn, "SELECT 1 FROM outbox WHERE body = %s AND state = 'sent'", [before]))
        [new] = q(pg_dsn, "SELECT holder, epoch FROM account_leases")
        assert pid_of(new["holder"]) == second.pid and new["epoch"] > old["epoch"]
        takeover_seq = min(r["seq"] for r in q(pg_dsn, "SELECT seq FROM change_log WHERE (payload->>'lease_epoch')::bigint = %s", [new["epoch"]]))
        after = [_reply_to_a_new_conversation(pg_dsn, texts) for _ in range(3)]
        first.resume()
        _wait("the resumed process noticed it lost the lease",
              lambda: "write refused" in first.output() or "lost to another process" in first.output())
        _wait("the replies queued around the resume are sent",
              lambda: len(q(pg_dsn, "SELECT 1 FROM outbox WHERE state = 'sent'")) == 1 + len(after))
        extra = fake.add_mention("@TwitterDev et maintenant ?")
        _wait("the new owner still fetches", lambda: bool(q(pg_dsn, "SELECT 1 FROM messages WHERE provider_id = %s", [extra])))
    finally:
        for p in procs:
            p.stop()
        close_kept()
    # Nothing written under the old epoch once the new owner had written.
    late = q(pg_dsn, "SELECT seq, kind FROM change_log WHERE (payload->>'lease_epoch')::bigint = %s AND seq > %s",
               [old["epoch"], takeover_seq])  # fmt: skip
    assert late == []
    posted = Counter(r.body["text"] for r in fake.requests_to("/2/tweets", "POST") if r.body)
    assert posted == Counter({before: 1, **{t: 1 for t in after}})
    assert {r["lease_epoch"] for r in q(pg_dsn, "SELECT lease_epoch FROM outbox")} == {new["epoch"]}
    assert json.loads(json.dumps(q(pg_dsn, "SELECT count(*) AS n FROM messages WHERE provider_id = %s", [mention]))) == [{"n": 1}]
    _check_store(pg_dsn)
