"""SIGKILL at random points of ``inbox sync --once`` (ingest from Dovecot, fake X and fake Graph;
sending through aiosmtpd, fake X and fake Graph), then restart: the store always opens and passes
``PRAGMA integrity_check``, no UID is counted done before its message is committed, nothing is
stored twice, and no reply reaches a server twice.

Two lanes (independent workspaces on the same servers) run side by side to use both cores.
"""

from __future__ import annotations

import email
import email.policy
import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from inbox.models import Account, Channel, OutboxState
from inbox.providers.email.cursor import Cursor
from inbox.replies.outbox import Outbox
from inbox.store.repository import Store
from tests.providers.email.servers import DovecotServer, SmtpServer
from tests.providers.facebook.fake_graph import PAGE_ID, PAGE_TOKEN, FakeGraph
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX
from tests.reliability import figures
from tests.reliability.harness import Lane

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]

LANES = 2
TOKEN = re.compile(r"R(\d+)x(\d+)Z")


def customer_mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Client {n} <client{n}@customer.test>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<q{n}.crash@customer.test>"
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg.set_content(f"Question number {n}. " + "Some words to index. " * 20)
    return msg.as_bytes()


class Mailbox:
    """Dovecot's INBOX as the test sees it: every APPEND with its UID and Message-ID."""

    def __init__(self, server: DovecotServer) -> None:
        self.server = server
        self.uid_to_mid: dict[int, str] = {}
        self.count = 0

    def append(self, how_many: int) -> None:
        conn = self.server.client()
        try:
            for _ in range(how_many):
                self.count += 1
                typ, data = conn.append("INBOX", None, None, customer_mail(self.count))
                assert typ == "OK"
                text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
                uid = int(text.split("APPENDUID", 1)[1].split()[1].rstrip("]"))
                self.uid_to_mid[uid] = f"q{self.count}.crash@customer.test"
        finally:
            conn.logout()


def email_account(imap: DovecotServer, smtp: SmtpServer) -> Account:
    return Account(
        id=f"email:{imap.user}",
        channel=Channel.EMAIL,
        name="Shop support",
        own_keys=frozenset({imap.user}),
        settings={
            "imap_host": imap.host,
            "imap_port": str(imap.port),
            "imap_security": "none",
            "smtp_host": smtp.host,
            "smtp_port": str(smtp.port),
            "smtp_security": "none",
            "username": imap.user,
        },
    )


def accounts(
    imap: DovecotServer, smtp: SmtpServer, x: FakeX, graph: FakeGraph
) -> list[tuple[Account, dict[str, str]]]:
    mailbox = email_account(imap, smtp)
    access, refresh = x.issue_tokens()
    twitter = Account(
        id=f"twitter:{OWN_USER['id']}",
        channel=Channel.TWITTER,
        name="@TwitterDev",
        own_keys=frozenset({OWN_USER["id"]}),
        settings={
            "user_id": OWN_USER["id"],
            "username": "TwitterDev",
            "client_id": CLIENT_ID,
            "base_url": x.url,
        },
    )
    page = Account(
        id=f"facebook:{PAGE_ID}",
        channel=Channel.FACEBOOK,
        name="Facebook for Developers",
        own_keys=frozenset({PAGE_ID}),
        settings={"page_id": PAGE_ID, "history_days": "0", "base_url": graph.url},
    )
    expires = f"{time.time() + 86400:.0f}"
    return [
        (mailbox, {"password": imap.password}),
        (twitter, {"access_token": access, "refresh_token": refresh, "expires_at": expires}),
        (page, {"page_token": PAGE_TOKEN}),
    ]


def check_store(lane: Lane, mailbox: Mailbox, account_id: str) -> None:
    """What must hold after every kill."""
    store = Store.open(lane.db)
    try:
        assert store.integrity_check() == "ok"
        stored = [
            r["provider_id"]
            for r in store._rows(
                "SELECT provider_id FROM messages WHERE account_id = ?", [account_id]
            )
        ]
        assert len(stored) == len(set(stored))
        assert not [p for p in stored if "#" in p], "a message was stored twice"
        cursor = Cursor.parse(store.cursor(account_id))
        if cursor is not None:
            appended = list(mailbox.uid_to_mid.items())  # the feeder thread keeps appending
            done = {mid for uid, mid in appended if uid <= cursor.last_uid}
            assert done <= set(stored), "the cursor passed a message that is not stored"
    finally:
        store.close()


def deliveries(smtp: SmtpServer, x: FakeX, graph: FakeGraph) -> Counter[str]:
    """How many times each reply token reached a server."""
    seen: Counter[str] = Counter()
    for raw in list(smtp.messages):
        body = email.message_from_bytes(raw, policy=email.policy.default)
        part = body.get_body(("plain",))
        text = part.get_content() if part is not None else ""
        seen.update({m.group(0) for m in TOKEN.finditer(text.split("\n>")[0])})
    for request in list(x.requests):
        if request.method == "POST" and request.path.startswith(("/2/tweets", "/2/dm_")):
            seen.update(m.group(0) for m in TOKEN.finditer(str(request.body)))
    for posted in graph.posted():
        seen.update(m.group(0) for m in TOKEN.finditer(str(posted.body)))
    return seen


class ReplyQueue:
    """Queues replies in a lane's store (as ``inbox reply`` does), one open per conversation."""

    def __init__(self, lane_no: int) -> None:
        self.lane_no = lane_no
        self.count = 0
        self.queued: dict[str, str] = {}  # token -> outbox id
        self.channel: dict[str, Channel] = {}

    def queue(self, lane: Lane, rng: random.Random) -> None:
        store = Store.open(lane.db)
        try:
            busy = {i.draft.conversation_id for i in store.outbox_items()}
            outbox = Outbox(store, clock=lambda: datetime.now(UTC))
            for channel in (Channel.EMAIL, Channel.TWITTER, Channel.FACEBOOK):
                rows = store._rows(
                    "SELECT c.id FROM conversations c WHERE c.channel = ? AND EXISTS (SELECT 1 "
                    "FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in' "
                    "AND m.surface IN ('email', 'mention', 'comment'))",
                    [channel.value],
                )
                free = [r["id"] for r in rows if r["id"] not in busy]
                if not free:
                    continue
                self.count += 1
                token = f"R{self.lane_no}x{self.count}Z"
                item = outbox.reply(rng.choice(free), f"Thanks, we are on it {token}")
                self.queued[token] = item.draft.local_id
                self.channel[token] = channel
        finally:
            store.close()


def drive_lane(
    lane: Lane,
    lane_no: int,
    mailbox: Mailbox,
    kills_ingest: int,
    kills_send: int,
    account_id: str,
) -> ReplyQueue:
    rng = random.Random(figures.SEED + lane_no)
    lane.timed_run("sync", "--once")  # the first full sync calibrates the working time
    check_store(lane, mailbox, account_id)
    target = kills_ingest
    while lane.kills < target:
        lane.run_and_kill(rng, "sync", "--once")
        check_store(lane, mailbox, account_id)
        if lane.finished_before_kill > 3 * target:
            raise AssertionError("the runs finish before any kill: the kill window is wrong")
    replies = ReplyQueue(lane_no)
    target += kills_send
    while lane.kills < target:
        replies.queue(lane, rng)
        lane.run_and_kill(rng, "sync", "--once")
        check_store(lane, mailbox, account_id)
    return replies


def test_sigkill_during_sync_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path,
    dovecot_server: DovecotServer,
    smtp_server: SmtpServer,
    fake_x: FakeX,
    fake_graph: FakeGraph,
) -> None:
    began = time.monotonic()
    mailbox = Mailbox(dovecot_server)
    mailbox.append(40)
    lanes = [Lane(tmp_path / f"lane{n}", f"lane{n}") for n in range(LANES)]
    for lane in lanes:
        for account, secrets in accounts(dovecot_server, smtp_server, fake_x, fake_graph):
            lane.add_account(account, secrets)
    account_id = f"email:{dovecot_server.user}"

    # Mail keeps arriving while the lanes are killed over and over.
    stop = False

    def deliver() -> None:
        while not stop:
            mailbox.append(1)
            time.sleep(0.4)

    with ThreadPoolExecutor(max_workers=LANES + 1) as pool:
        feeder = pool.submit(deliver)
        runs = [
            pool.submit(
                drive_lane,
                lane,
                n,
                mailbox,
                figures.KILLS_INGEST // LANES,
                figures.KILLS_SEND // LANES,
                account_id,
            )
            for n, lane in enumerate(lanes)
        ]
        try:
            queues = [r.result(timeout=600) for r in runs]
        finally:
            stop = True
            feeder.result(timeout=60)

    # Two clean runs: whatever was interrupted finishes now.
    for lane in lanes:
        for _ in range(2):
            done = lane.run("sync", "--once")
            assert done.returncode in (0, 1), done.stderr[-2000:]
        check_store(lane, mailbox, account_id)

    seen = deliveries(smtp_server, fake_x, fake_graph)
    twice = {token: n for token, n in seen.items() if n > 1}
    channel_of = {t: c for q in queues for t, c in q.channel.items()}
    uncertain = sent = 0
    appended = set(mailbox.uid_to_mid.values())
    for lane, queue in zip(lanes, queues, strict=True):
        store = Store.open(lane.db)
        try:
            stored = [
                r["provider_id"]
                for r in store._rows(
                    "SELECT provider_id FROM messages WHERE account_id = ?", [account_id]
                )
            ]
            assert appended <= set(stored), f"lost: {sorted(appended - set(stored))[:5]}"
            assert len(stored) == len(set(stored))
            for token, item_id in queue.queued.items():
                item = store.outbox_item(item_id)
                assert item is not None
                if item.state is OutboxState.SENT:
                    sent += 1
                    assert seen[token] >= 1, f"{token} is marked sent but never arrived"
                else:
                    assert item.state is OutboxState.UNCERTAIN, (token, item.state, item.last_error)
                    uncertain += 1
                    assert seen[token] <= 1
        finally:
            store.close()
    kills = sum(lane.kills for lane in lanes)
    figures.record("crash_kills_survived", kills)
    figures.record("crash_runs_finished_before_kill", sum(x.finished_before_kill for x in lanes))
    figures.record("crash_messages_appended", len(appended))
    figures.record("crash_replies_queued", sum(len(q.queued) for q in queues))
    figures.record("crash_replies_marked_sent", sent)  # twice-delivered ones included
    figures.record("crash_replies_may_have_been_sent", uncertain)
    figures.record("crash_replies_delivered_twice", len(twice))
    figures.record("crash_wall_seconds", round(time.monotonic() - began))
    assert kills >= figures.KILLS_INGEST + figures.KILLS_SEND - LANES
    by_channel = {channel_of[token].value for token in twice}
    assert by_channel <= {"email"}, f"delivered more than once: {twice}"
    assert not twice, f"delivered more than once: {twice}"


class _Crash(BaseException):
    """The process dies here (nothing after this line of the provider runs)."""


def test_email_crash_window_after_smtp_before_the_sent_copy(
    tmp_path: Path, dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    import asyncio

    from inbox.providers.email.provider import EmailProvider
    from inbox.secrets import MemorySecretStore
    from inbox.sync.service import SyncService

    dovecot_server.append(customer_mail(5000))
    conn = dovecot_server.client()
    conn.create("Sent")  # every real mailbox has one
    conn.logout()
    account = email_account(dovecot_server, smtp_server)
    secrets = MemorySecretStore()
    secrets.set(account.id, "password", dovecot_server.password)
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(account)

    def crash(_raw: bytes) -> None:
        raise _Crash

    async def first_process() -> str:
        async with EmailProvider(account, secrets) as provider:
            service = SyncService(store, [provider])
            await service.sync_account(account.id)
            [cid] = store.open_conversation_ids()
            item = service.outbox.reply(cid, "A new parcel leaves today.")
            provider._save_sent = crash  # type: ignore[method-assign,assignment]
            with pytest.raises(_Crash):
                await service.flush_outbox()
            return item.draft.local_id

    async def second_process() -> None:
        async with EmailProvider(account, secrets) as provider:
            await SyncService(store, [provider]).flush_outbox()

    item_id = asyncio.run(first_process())
    assert len(smtp_server.messages) == 1
    asyncio.run(second_process())
    state = store.outbox_item(item_id)
    store.close()
    assert state is not None
    assert len(smtp_server.messages) == 1, f"sent {len(smtp_server.messages)} times"
    assert state.state is OutboxState.UNCERTAIN  # shown to the agent as "may have been sent"
