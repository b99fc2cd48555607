"""CONDSTORE (RFC 7162) in the e-mail provider, against a real Dovecot on 127.0.0.1.

What reaches the server is read on the wire: the provider talks through a ``CuttingProxy`` (never
cutting) that records every byte the client sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from inbox.providers.email import imap
from inbox.providers.email.cursor import Cursor
from inbox.providers.email.provider import EmailProvider
from inbox.store.repository import Store
from inbox.sync.contract import FetchResult
from tests.providers.email.servers import CuttingProxy, DovecotServer, running_dovecot
from tests.providers.email.test_provider import _ids, _mail, _provider

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]
T = TypeVar("T")
#: Dovecot's post-login list without CONDSTORE and QRESYNC: a server that does not offer them.
NO_CONDSTORE = "imap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE UIDPLUS\n"
#: An in-memory index keeps no permanent mod-sequences: EXAMINE answers [NOMODSEQ].
NOMODSEQ = "mail_location = maildir:{dir}/mail/%u:INDEX=MEMORY\n"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _commands(proxy: CuttingProxy) -> list[str]:
    """The commands the client sent, by name only (never their arguments: LOGIN carries the
    password), with the CONDSTORE parameters they carried."""
    names: list[str] = []
    for line in bytes(proxy.from_client).split(b"\r\n"):
        parts = line.upper().split()
        if len(parts) < 2:
            continue  # an empty line or a SASL continuation
        name = parts[1].decode()
        if name == "UID" and len(parts) > 2:
            name += " " + parts[2].decode()
        if name in ("EXAMINE", "UID FETCH") and b"(CONDSTORE)" in line.upper():
            name += " (CONDSTORE)"
        if b"CHANGEDSINCE" in line.upper():
            name += " CHANGEDSINCE"
        names.append(name)
    return names


async def _fetch_recorded(
    provider: EmailProvider, proxy: CuttingProxy, cursor: str | None
) -> tuple[FetchResult, list[str]]:
    proxy.from_client.clear()
    result = await provider.fetch(cursor)
    return result, _commands(proxy)


def _store_flags(server: DovecotServer, uid: int, flag: str) -> None:
    """Another client (a webmail, a phone) marks a message."""
    conn = server.client()
    try:
        conn.select("INBOX")
        typ, _ = conn.uid("STORE", str(uid), "+FLAGS", f"({flag})")
        assert typ == "OK"
    finally:
        conn.logout()


@pytest.fixture
def proxy(dovecot_server: DovecotServer) -> Any:
    relay = CuttingProxy(dovecot_server.port)
    yield relay
    relay.close()


def test_the_cursor_keeps_modseq_and_reads_old_cursors() -> None:
    old = Cursor.parse('{"uidvalidity": 7, "last_uid": 41}')
    assert old == Cursor(7, 41) and old.modseq is None and old.uidnext is None
    new = Cursor(7, 41, modseq=90, uidnext=42)
    assert Cursor.parse(new.dump()) == new
    same = imap.MailboxState(uidvalidity=7, uidnext=42, exists=3, highestmodseq=90)
    assert new.unchanged(same)
    # A renumbered mailbox can show the same UIDNEXT and HIGHESTMODSEQ: still a change.
    assert not new.unchanged(imap.MailboxState(8, 42, 3, 90))
    assert not new.unchanged(imap.MailboxState(7, 43, 4, 90))
    assert not new.unchanged(imap.MailboxState(7, 42, 3, 91))
    assert not new.unchanged(imap.MailboxState(7, 42, 3, None))  # NOMODSEQ now
    assert not old.unchanged(same)  # an old cursor proves nothing about modseqs


def test_condstore_is_read_from_the_capabilities_after_sign_in(
    dovecot_server: DovecotServer,
) -> None:
    dovecot_server.append(_mail(1))
    endpoint = imap.Endpoint(dovecot_server.host, dovecot_server.port, "none", dovecot_server.user)
    conn = imap.connect(endpoint, dovecot_server.password)
    try:
        # Dovecot's greeting lists no CONDSTORE; only the answer to the sign-in does.
        assert imap.has_condstore(conn)
        state = imap.examine(conn, "INBOX", condstore=True)
        assert state.highestmodseq is not None and state.highestmodseq > 0
        assert imap.examine(conn, "INBOX").highestmodseq is None  # not asked: not read
    finally:
        imap.close(conn)
    with running_dovecot(extra_config=NO_CONDSTORE) as plain:
        conn = imap.connect(
            imap.Endpoint(plain.host, plain.port, "none", plain.user), plain.password
        )
        try:
            assert not imap.has_condstore(conn)
            assert "IDLE" in conn.capabilities
        finally:
            imap.close(conn)


def test_a_poll_with_nothing_new_sends_no_search(
    dovecot_server: DovecotServer, proxy: CuttingProxy
) -> None:
    dovecot_server.append(_mail(1))
    dovecot_server.append(_mail(2))

    async def scenario() -> None:
        async with _provider(dovecot_server, imap_port=proxy.port) as provider:
            first, sent = await _fetch_recorded(provider, proxy, None)
            assert len(first.batch.messages) == 2
            assert "EXAMINE (CONDSTORE)" in sent and "UID SEARCH" in sent
            cursor = json.loads(first.cursor or "")
            assert cursor["modseq"] == int(first.info["highestmodseq"])
            assert cursor["uidnext"] == 3

            again, sent = await _fetch_recorded(provider, proxy, first.cursor)
            assert again.batch.messages == () and not again.more
            assert again.cursor == first.cursor
            assert again.info["unchanged"] == "uidnext and highestmodseq"
            assert "EXAMINE (CONDSTORE)" in sent
            assert not [name for name in sent if "SEARCH" in name or "FETCH" in name]

    run(scenario())


def test_new_mail_is_still_fetched_by_uid(
    dovecot_server: DovecotServer, proxy: CuttingProxy
) -> None:
    dovecot_server.append(_mail(1))

    async def scenario() -> None:
        async with _provider(dovecot_server, imap_port=proxy.port) as provider:
            first = await provider.fetch(None)
            await asyncio.to_thread(dovecot_server.append, _mail(2))
            second, sent = await _fetch_recorded(provider, proxy, first.cursor)
            assert _ids(second.batch.messages) == ["q2@customer.example"]
            assert "UID SEARCH" in sent and "unchanged" not in second.info
            assert second.info["flags_changed"] == "0"  # the new mail is not a flag change
            assert json.loads(second.cursor or "")["uidnext"] == 3
            third, sent = await _fetch_recorded(provider, proxy, second.cursor)
            assert third.batch.messages == () and "UID SEARCH" not in sent

    run(scenario())


def test_a_flag_change_elsewhere_is_seen_through_the_modseq(
    dovecot_server: DovecotServer, proxy: CuttingProxy
) -> None:
    uids = [dovecot_server.append(_mail(n)) for n in range(1, 4)]

    async def scenario() -> None:
        async with _provider(dovecot_server, imap_port=proxy.port) as provider:
            first = await provider.fetch(None)
            await asyncio.to_thread(_store_flags, dovecot_server, uids[1], r"\Seen")
            second, sent = await _fetch_recorded(provider, proxy, first.cursor)
            assert second.batch.messages == ()
            assert second.info["flags_changed"] == "1"
            assert "UID FETCH CHANGEDSINCE" in sent
            assert int(second.info["highestmodseq"]) > json.loads(first.cursor or "")["modseq"]
            # Reported once: the next poll starts from the new modseq and finds nothing.
            third, sent = await _fetch_recorded(provider, proxy, second.cursor)
            assert "unchanged" in third.info and "flags_changed" not in third.info
            assert not [name for name in sent if "SEARCH" in name or "FETCH" in name]

    run(scenario())


def test_changed_since_lists_the_changed_messages_and_their_flags(
    dovecot_server: DovecotServer,
) -> None:
    uids = [dovecot_server.append(_mail(n)) for n in range(1, 4)]
    endpoint = imap.Endpoint(dovecot_server.host, dovecot_server.port, "none", dovecot_server.user)
    conn = imap.connect(endpoint, dovecot_server.password)
    try:
        before = imap.examine(conn, "INBOX", condstore=True).highestmodseq
        assert before is not None
        _store_flags(dovecot_server, uids[0], r"\Flagged")
        _store_flags(dovecot_server, uids[2], r"\Seen")
        imap.examine(conn, "INBOX", condstore=True)
        changes = imap.changed_since(conn, uids[2], before)
        assert [c.uid for c in changes] == [uids[0], uids[2]]
        assert r"\Flagged" in changes[0].flags and r"\Seen" in changes[1].flags
        assert all(c.modseq is not None and c.modseq > before for c in changes)
        assert [c.uid for c in imap.changed_since(conn, uids[1], before)] == [uids[0]]
    finally:
        imap.close(conn)


def test_a_cursor_written_before_condstore_still_works(
    dovecot_server: DovecotServer, proxy: CuttingProxy
) -> None:
    uids = [dovecot_server.append(_mail(n)) for n in range(1, 4)]
    conn = dovecot_server.client()
    try:
        conn.select("INBOX", readonly=True)
        uidvalidity = int(conn.response("UIDVALIDITY")[1][0])
    finally:
        conn.logout()
    old = json.dumps({"uidvalidity": uidvalidity, "last_uid": uids[1]})

    async def scenario() -> None:
        async with _provider(dovecot_server, imap_port=proxy.port) as provider:
            first, sent = await _fetch_recorded(provider, proxy, old)
            assert _ids(first.batch.messages) == ["q3@customer.example"]
            assert "resync" not in first.info and "flags_changed" not in first.info
            assert "UID SEARCH" in sent
            cursor = json.loads(first.cursor or "")
            assert cursor["last_uid"] == uids[2] and "modseq" in cursor
            second, sent = await _fetch_recorded(provider, proxy, first.cursor)
            assert second.info["unchanged"] and "UID SEARCH" not in sent

    run(scenario())


def test_without_condstore_every_poll_searches_as_before() -> None:
    with running_dovecot(extra_config=NO_CONDSTORE) as server:
        uid = server.append(_mail(1))
        proxy = CuttingProxy(server.port)

        async def scenario() -> None:
            async with _provider(server, imap_port=proxy.port) as provider:
                first, sent = await _fetch_recorded(provider, proxy, None)
                assert len(first.batch.messages) == 1
                assert "EXAMINE" in sent and "EXAMINE (CONDSTORE)" not in sent
                assert json.loads(first.cursor or "") == {
                    "uidvalidity": int(first.info["uidvalidity"]),
                    "last_uid": uid,
                }
                await asyncio.to_thread(_store_flags, server, uid, r"\Seen")
                again, sent = await _fetch_recorded(provider, proxy, first.cursor)
                assert again.batch.messages == () and again.cursor == first.cursor
                assert "UID SEARCH" in sent and not [n for n in sent if "CHANGEDSINCE" in n]
                assert set(again.info) == {"uidvalidity"}

        try:
            run(scenario())
        finally:
            proxy.close()


def test_a_mailbox_without_permanent_modseqs_follows_the_old_path() -> None:
    with running_dovecot(extra_config=NOMODSEQ) as server:
        uid = server.append(_mail(1))
        proxy = CuttingProxy(server.port)

        async def scenario() -> None:
            async with _provider(server, imap_port=proxy.port) as provider:
                first, sent = await _fetch_recorded(provider, proxy, None)
                assert "EXAMINE (CONDSTORE)" in sent  # offered, but the mailbox said NOMODSEQ
                assert "highestmodseq" not in first.info
                assert json.loads(first.cursor or "") == {
                    "uidvalidity": int(first.info["uidvalidity"]),
                    "last_uid": uid,
                }
                await asyncio.to_thread(_store_flags, server, uid, r"\Seen")
                # CHANGEDSINCE would be refused with BAD here: it must not be sent.
                again, sent = await _fetch_recorded(provider, proxy, first.cursor)
                assert again.batch.messages == () and "UID SEARCH" in sent
                assert not [n for n in sent if "CHANGEDSINCE" in n]

        try:
            run(scenario())
        finally:
            proxy.close()


def test_a_new_uidvalidity_resyncs_without_duplicates(
    dovecot_server: DovecotServer, tmp_path: Path
) -> None:
    dovecot_server.append(_mail(1))
    dovecot_server.append(_mail(2))
    provider = _provider(dovecot_server)
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(provider.account)
    now = datetime.now(UTC)

    def stored() -> int:
        return int(store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    async def scenario() -> None:
        async with provider:
            first = await provider.fetch(None)
            store.ingest_fetched(provider.account, first.batch.messages, cursor=first.cursor, now=now)
        # Same messages, same UIDNEXT and maybe the same HIGHESTMODSEQ: only UIDVALIDITY differs.
        dovecot_server.rebuild_inbox()
        async with _provider(dovecot_server) as again_provider:
            again = await again_provider.fetch(store.cursor(provider.account.id))
            assert again.info["resync"] == "uidvalidity changed" and "unchanged" not in again.info
            assert _ids(again.batch.messages) == ["q1@customer.example", "q2@customer.example"]
            store.ingest_fetched(provider.account, again.batch.messages, cursor=again.cursor, now=now)
            assert stored() == 2
            after = await again_provider.fetch(store.cursor(provider.account.id))
            assert after.batch.messages == () and "unchanged" in after.info

    try:
        run(scenario())
    finally:
        store.close()
