"""A full session with every provider through ``inbox sync --once`` subprocesses, then a scan of
the store (with its WAL), every other file of the workspace, and the processes' output for
every password and token: none may appear anywhere but the keyring."""

from __future__ import annotations

import base64
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.models import Account, Channel, OutboxState
from inbox.replies.outbox import Outbox
from inbox.store.repository import Store
from tests.providers.email.servers import DovecotServer, SmtpServer
from tests.providers.facebook.fake_graph import FakeGraph
from tests.providers.twitter.fake_x import FakeX
from tests.providers.webform.fake_forms import FormsState, fake_forms, submission
from tests.reliability import figures
from tests.reliability.harness import Lane
from tests.reliability.test_crash import accounts, customer_mail

pytestmark = pytest.mark.servers
FORM_KEY = "sk-live-F0rm-5ecr3t-7731"


def variants(secret: str) -> set[bytes]:
    """The ways a secret could be written down: plain, URL-quoted, base64, UTF-16."""
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
    }
    found = {f.encode() for f in forms}
    found.add(secret.encode("utf-16-le"))
    return found


def scan(blobs: dict[str, bytes], secrets: dict[str, str]) -> list[str]:
    """Where each secret appears: ["<secret name> in <place>", ...]."""
    hits = []
    for place, data in blobs.items():
        for name, secret in secrets.items():
            if any(v in data for v in variants(secret)):
                hits.append(f"{name} in {place}")
    return hits


def workspace_files(lane: Lane) -> dict[str, bytes]:
    skip = {lane.keyring_file, *lane.root.joinpath("stub").rglob("*")}
    return {
        str(path.relative_to(lane.root)): path.read_bytes()
        for path in lane.root.rglob("*")
        if path.is_file() and path not in skip
    }


def test_no_secret_outside_the_keyring(
    tmp_path: Path,
    dovecot_server: DovecotServer,
    smtp_server: SmtpServer,
    fake_x: FakeX,
    fake_graph: FakeGraph,
) -> None:
    for n in range(5):
        dovecot_server.append(customer_mail(7000 + n))
    forms = FormsState(api_key=FORM_KEY, submissions=[submission(n, n) for n in range(1, 5)])
    lane = Lane(tmp_path / "lane", "secrets")
    secrets: dict[str, str] = {}
    with fake_forms(forms) as url:
        form = Account("webform:contact-fr", Channel.WEBFORM, "Contact", settings={"url": url})
        for account, values in [
            *accounts(dovecot_server, smtp_server, fake_x, fake_graph),
            (form, {"api_key": FORM_KEY}),
        ]:
            lane.add_account(account, values)
            secrets |= {f"{account.id}:{k}": v for k, v in values.items() if k != "expires_at"}
        first = lane.run("sync", "--once")
        assert first.returncode == 0, first.stdout + first.stderr[-2000:]
        assert first.stdout.count("up_to_date") == 4, first.stdout
        store = Store.open(lane.db)
        try:
            outbox = Outbox(store, clock=lambda: datetime.now(UTC))
            for channel in (Channel.EMAIL, Channel.TWITTER, Channel.FACEBOOK):
                [cid] = [
                    r["id"]
                    for r in store._rows(
                        "SELECT c.id FROM conversations c WHERE c.channel = ? AND EXISTS (SELECT 1 "
                        "FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in' "
                        "AND m.surface IN ('email', 'mention', 'comment')) ORDER BY c.id LIMIT 1",
                        [channel.value],
                    )
                ]
                outbox.reply(cid, f"Thanks, we are on it ({channel.value})")
        finally:
            store.close()
        holder = Store.open(lane.db)  # an open reader keeps the WAL on disk, to be scanned
        try:
            second = lane.run("sync", "--once")
            lane.env["INBOX_DEBUG"] = "1"  # a pass with debug output, as support would ask
            debug = lane.run("sync", "--once")
            assert second.returncode == 0 and "outbox: 3 sent" in second.stdout, second.stdout
            assert debug.returncode == 0
            states = {i.state for i in holder.outbox_items(tuple(OutboxState))}
            assert states == {OutboxState.SENT}
            blobs = workspace_files(lane)
        finally:
            holder.close()
    assert blobs.get("inbox.db") and blobs.get("inbox.db-wal")
    blobs |= {f"output {n}": text.encode() for n, text in enumerate(lane.log)}
    assert lane.keyring_file.exists()
    keyring_hits = scan({"keyring": lane.keyring_file.read_bytes()}, secrets)
    assert len(keyring_hits) == len(secrets)  # the scanner does see them where they belong
    hits = scan(blobs, secrets)
    figures.record("secrets_checked", len(secrets))
    figures.record("secrets_scanned_places", len(blobs))
    figures.record("secrets_scanned_bytes", sum(len(b) for b in blobs.values()))
    figures.record("secrets_found", len(hits))
    assert hits == []
