"""A reply that "may have been sent" holds the later replies of its conversation, says so, and
once the agent decides it the rest go out: ``inbox sync --once`` SIGKILLed in the middle of
sending the first of three replies (real Dovecot, real aiosmtpd), then ``inbox outbox``,
``mark-sent`` or ``resend``, and a last sync. Every reply reaches the SMTP server exactly once.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox.models import OutboxState
from inbox.store.repository import Store
from tests.providers.email.servers import (
    HOST,
    DovecotServer,
    SmtpServer,
    free_port,
    local_account,
    running_dovecot,
    serving_smtp,
)
from tests.reliability.harness import Lane

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]

HELD = "waiting: an earlier reply may have been sent, decide it first"


class StallingServer:
    """Records every accepted mail; the first session stalls (until ``release``) either after
    the server accepted the mail (at QUIT) or before it did (at DATA, never answering 250)."""

    def __init__(self, server: SmtpServer, stall_at: str) -> None:
        self.server = server
        self.stall_at = stall_at
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._done = False

    async def _stall(self) -> bool:
        if self._done:
            return False
        self._done = True
        self.stalled.set()
        for _ in range(1200):  # at most a minute; the client is killed long before
            if self.release.is_set():
                break
            await asyncio.sleep(0.05)
        return True

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        if self.stall_at == "data" and await self._stall():
            return "451 try again later"  # never reached by the killed client
        content = envelope.original_content or envelope.content or b""
        self.server.messages.append(content if isinstance(content, bytes) else content.encode())
        return "250 OK"

    async def handle_QUIT(self, _server: SMTP, _session: Session, _envelope: Envelope) -> str:
        if self.stall_at == "quit":
            await self._stall()
        return "221 Bye"


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


def customer_mail() -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "Ann Smith <ann@customer.test>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = "Printer broken"
    msg["Message-ID"] = "<printer@customer.test>"
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg.set_content("My printer is broken.\n")
    return msg.as_bytes()


def outbox(lane: Lane) -> list[dict[str, object]]:
    done = lane.run("outbox", "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


def kill_while_sending(lane: Lane, stalling: StallingServer) -> None:
    """``inbox sync --once`` until the SMTP server holds the first reply, then SIGKILL."""
    proc = subprocess.Popen(
        lane.command("sync", "--once"),
        env=lane.env,
        cwd=lane.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert stalling.stalled.wait(60), "the sync never reached the SMTP server"
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _out, err = proc.communicate(timeout=60)
        lane.log.append(err)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("stall_at", "decision"),
    [("quit", "mark-sent"), ("data", "resend")],
    ids=["accepted-then-killed-mark-sent", "killed-before-accepted-resend"],
)
def test_replies_held_behind_an_uncertain_one_say_why_and_go_once_it_is_decided(
    tmp_path: Path, dovecot: DovecotServer, stall_at: str, decision: str
) -> None:
    smtp = SmtpServer(host=HOST, port=free_port())
    stalling = StallingServer(smtp, stall_at)
    lane = Lane(tmp_path / "lane", "held")
    account = local_account(dovecot.port, smtp.port)
    lane.add_account(account, {"password": dovecot.password})
    dovecot.append(customer_mail())
    with serving_smtp(smtp, stalling):
        assert lane.run("sync", "--once").returncode == 0
        store = Store.open(lane.db)
        [cid] = store.open_conversation_ids()
        store.close()
        ids = []
        for n in (1, 2, 3):
            done = lane.run("reply", str(cid), "--text", f"Answer number {n}")
            assert done.returncode == 0, done.stderr
            ids.append(done.stdout.strip())

        kill_while_sending(lane, stalling)
        assert [(r["id"], r["state"]) for r in outbox(lane)] == [
            (ids[0], "sending"),
            (ids[1], "queued"),
            (ids[2], "queued"),
        ]
        stalling.release.set()

        # The next sync finds no copy in Sent: "may have been sent", never sent blindly; the two
        # later replies wait for it, and say so. A person must decide: exit status 1.
        assert lane.run("sync", "--once").returncode == 1
        rows = outbox(lane)
        assert [(r["id"], r["state"]) for r in rows] == [
            (ids[0], "uncertain"),
            (ids[1], "queued"),
            (ids[2], "queued"),
        ]
        assert rows[0]["reason"] == rows[0]["error"] and "may have been sent" in str(rows[0]["reason"])
        for row in rows[1:]:
            assert (row["attempts"], row["waiting_for"], row["reason"]) == (0, ids[0], HELD)
        table = lane.run("outbox").stdout
        assert table.count(HELD[:40]) == 2 and "1 to decide: inbox outbox mark-sent|resend|drop" in table
        accepted_before = len(smtp.messages)
        assert accepted_before == (1 if stall_at == "quit" else 0)

        done = lane.run("outbox", decision, ids[0])
        assert done.returncode == 0, done.stderr
        assert lane.run("sync", "--once").returncode == 0

    assert outbox(lane) == []
    store = Store.open(lane.db)
    states = {i.draft.local_id: i.state for i in store.outbox_items(tuple(OutboxState))}
    store.close()
    assert states == dict.fromkeys(ids, OutboxState.SENT)
    received = Counter(
        email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"].strip("<>")
        for raw in smtp.messages
    )
    assert received == Counter(ids), "each reply reached the server exactly once"
    bodies = [email.message_from_bytes(raw, policy=email.policy.default) for raw in smtp.messages]
    order = [b.get_body(("plain",)).get_content().splitlines()[0] for b in bodies]  # type: ignore[union-attr]
    assert order == [f"Answer number {n}" for n in (1, 2, 3)]  # in the order they were written
