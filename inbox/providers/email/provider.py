"""The live e-mail provider: IMAP in (with IDLE), SMTP out, the copy kept in the Sent folder.
Its cursor (UIDVALIDITY, last UID, CONDSTORE modseq) is :mod:`.cursor`; its setup form :mod:`.setup`.

The setting ``auth`` chooses the sign-in: ``password`` (the default) or ``oauth2``, an OAuth 2.0
access token presented with XOAUTH2 to both servers and refreshed as :mod:`.oauth` describes.
"""

from __future__ import annotations

import asyncio
import imaplib
import itertools
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import ClassVar, Self, TypeVar

import httpx

from inbox.errors import AuthError, PermanentError
from inbox.models import Account, Draft, Message, ParsedBatch
from inbox.providers.email import compose, imap, oauth, smtp
from inbox.providers.email.cursor import Cursor
from inbox.providers.email.parse import parse_email
from inbox.providers.email.setup import EMAIL_SETUP
from inbox.providers.failures import provider_failures
from inbox.providers.webform.mail_rule import file_form_mail
from inbox.secrets import SecretStore
from inbox.sync.contract import FetchResult, ProviderInfo

log = logging.getLogger(__name__)
SERVICE = "email"
INBOX = "INBOX"
DEFAULT_SENT = "Sent"
_SECURITY = ("ssl", "starttls", "none")
_AUTH = ("password", "oauth2")
T = TypeVar("T")
#: How long a dropped IDLE connection is retried (a quick server restart goes unnoticed) before
#: the wait fails as transient and the account shows offline.
RECONNECT_WINDOW = 4.0
#: IDLE is ended (DONE, answered within imap.LIVENESS_TIMEOUT) and restarted this often, so a
#: server that went silent shows as offline within about IDLE_ROUND + LIVENESS_TIMEOUT seconds.
IDLE_ROUND = 4.0


class EmailProvider:
    """A mailbox over IMAP and SMTP. Implements ``Provider``, ``SupportsPush`` (IDLE) and
    ``SupportsDeliveryCheck`` (the Sent folder)."""

    info: ClassVar[ProviderInfo] = EMAIL_SETUP

    def __init__(
        self,
        account: Account,
        secrets: SecretStore,
        http: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
        chunk_size: int = 200,
    ) -> None:
        """``http`` (the shared client) is used only to refresh an OAuth 2.0 token."""
        self._account = account
        self._secrets = secrets
        self._clock = clock
        self._tokens = oauth.MailTokens(account, secrets, http, clock)
        self._chunk_size = max(1, chunk_size)
        self._conn: imaplib.IMAP4 | None = None
        self._conn_lock = asyncio.Lock()
        self._idle_conn: imaplib.IMAP4 | None = None
        self._idle_lock = asyncio.Lock()
        self._idle_uidnext: int | None = None
        self._fetched_uidnext: int | None = None  # UIDNEXT when a fetch had read everything
        self._idle_stop = threading.Event()
        self._closing = False
        self._idle_future: asyncio.Future[bool] | None = None
        self._tags = itertools.count(1)

    def __repr__(self) -> str:
        return f"EmailProvider({self._account.id!r})"

    @property
    def account(self) -> Account:
        return self._account

    # -- configuration --------------------------------------------------------------------

    def _setting(self, name: str) -> str:
        default = next((f.default for f in self.info.fields if f.name == name), "")
        return (self._account.settings.get(name) or default).strip()

    def _int(self, name: str) -> int:
        try:
            return int(self._setting(name))
        except ValueError:
            raise PermanentError(f"{SERVICE}: setting {name} must be a whole number") from None

    def _endpoint(self, kind: str) -> imap.Endpoint:
        host = self._setting(f"{kind}_host") or (
            self._setting("imap_host") if kind == "smtp" else ""
        )
        security = self._setting(f"{kind}_security").lower()
        if not host:
            raise PermanentError(f"{SERVICE}: setting {kind}_host is empty")
        if security not in _SECURITY:
            raise PermanentError(f"{SERVICE}: {kind}_security must be ssl, starttls or none")
        return imap.Endpoint(host, self._int(f"{kind}_port"), security, self._setting("username"))

    def _password(self) -> str:
        password = self._secrets.get(self._account.id, "password")
        if not password:
            raise AuthError(f"{SERVICE}: no password stored for {self._account.id}")
        return password

    def _oauth(self) -> bool:
        """Whether this account signs in with an OAuth 2.0 token (``auth=oauth2``)."""
        auth = self._setting("auth").lower()
        if auth not in _AUTH:
            raise PermanentError(f"{SERVICE}: setting auth must be password or oauth2")
        return auth == "oauth2"

    def _secret(self) -> str:
        """What signs in: the password, or the stored OAuth access token (blocking)."""
        return self._tokens.current() if self._oauth() else self._password()

    def _address(self) -> str:
        """Our address: the ``address`` setting, else the account id's, else the user name."""
        _kind, _, rest = self._account.id.partition(":")
        for candidate in (
            self._account.settings.get("address", ""),
            rest,
            self._setting("username"),
        ):
            if "@" in candidate:
                return candidate.strip()
        raise PermanentError(f"{SERVICE}: no e-mail address known for {self._account.id}")

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        self._idle_stop.set()
        if self._idle_future is not None:
            await asyncio.wait([self._idle_future])
        conns = (self._conn, self._idle_conn)
        self._conn = self._idle_conn = None
        for conn in conns:
            await asyncio.to_thread(imap.close, conn)

    def _connection(self) -> imaplib.IMAP4:
        """The signed-in main connection, reconnecting when the old one died."""
        if self._conn is not None and not imap.alive(self._conn):
            imap.close(self._conn)
            self._conn = None
        if self._conn is None:
            self._conn = imap.connect(self._endpoint("imap"), self._secret(), oauth=self._oauth())
        return self._conn

    async def _run(self, work: Callable[[], T]) -> T:
        """Run blocking IMAP work on the main connection; a failure drops the connection.

        With OAuth, a token about to expire is renewed before signing in, and a token the
        server refuses is refreshed and the work run once more: every piece of work signs in
        (``_connection``) before doing anything, so nothing ran twice."""
        async with self._conn_lock:
            with provider_failures(SERVICE):
                if self._conn is None and self._oauth():
                    await self._tokens.fresh()
                try:
                    return await self._in_thread(work)
                except imap.SignInRefused:
                    log.info("email: the IMAP server refused the OAuth token, refreshing it")
                await self._tokens.fresh(force=True)
                try:
                    return await self._in_thread(work)
                except imap.SignInRefused as exc:
                    raise AuthError(f"{SERVICE}: sign-in refused ({exc}): needs sign-in") from exc

    async def _in_thread(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except BaseException:
            conn, self._conn = self._conn, None
            await asyncio.to_thread(imap.close, conn)
            raise

    async def _smtp(self, call: Callable[[str, bool], None]) -> None:
        """Run a blocking SMTP ``call(secret, oauth)`` signed in with the password or the OAuth
        token; a refused token is refreshed and the call made once more (the server refuses
        before MAIL FROM, so nothing was sent)."""
        with provider_failures(SERVICE):
            if not self._oauth():
                await asyncio.to_thread(call, self._password(), False)
                return
            token = await self._tokens.fresh()
            try:
                await asyncio.to_thread(call, token, True)
                return
            except smtplib.SMTPAuthenticationError:
                log.info("email: the SMTP server refused the OAuth token, refreshing it")
            await asyncio.to_thread(call, await self._tokens.fresh(force=True), True)

    # -- contract -----------------------------------------------------------------------------

    async def check(self) -> None:
        """Sign in to IMAP (and open INBOX) and to SMTP; raises the mapped error otherwise."""
        if self._oauth():
            await asyncio.to_thread(self._tokens.validate)  # names a missing secret or setting
        await self._run(lambda: imap.examine(self._connection(), INBOX))
        endpoint = self._endpoint("smtp")
        await self._smtp(lambda secret, oauth: smtp.check(endpoint, secret, oauth=oauth))

    async def fetch(self, cursor: str | None) -> FetchResult:
        return await self._run(lambda: self._fetch_sync(Cursor.parse(cursor)))

    def _fetch_sync(self, previous: Cursor | None) -> FetchResult:
        conn = self._connection()
        state = imap.examine(conn, INBOX, condstore=imap.has_condstore(conn))
        info = {"uidvalidity": str(state.uidvalidity)}
        if state.highestmodseq is not None:
            info["highestmodseq"] = str(state.highestmodseq)
        if previous is not None and previous.unchanged(state):
            self._fetched_uidnext = state.uidnext
            info["unchanged"] = "uidnext and highestmodseq"
            return FetchResult(ParsedBatch(), previous.dump(), info=info)
        resync = previous is not None and previous.uidvalidity != state.uidvalidity
        if previous is not None and not resync:
            changes = self._flag_changes(conn, previous, state)
            if changes is not None:
                info["flags_changed"] = str(len(changes))
        if previous is None or resync:
            days = max(0, self._int("initial_days"))
            since: date | None = (self._now() - timedelta(days=days)).date()
            last_uid = 0
        else:
            since, last_uid = previous.since, previous.last_uid
        since_dt = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        uids = imap.search_uids(conn, last_uid, since_dt)
        chunk, rest = uids[: self._chunk_size], uids[self._chunk_size :]
        fetched = imap.fetch_mail(conn, chunk)
        now = self._now()
        messages: list[Message] = file_form_mail(
            self._account.settings,
            [
                parse_email(mail.raw, f"imap:{INBOX}/{mail.uid}", mail.internal_date or now)
                for mail in fetched
            ],
        )
        new_last = max([last_uid, *chunk])
        if not rest and since is not None:
            # The first sync is complete: older mail outside the window stays behind us.
            new_last = max(new_last, (state.uidnext or 1) - 1)
            since = None
        complete = not rest and since is None and state.highestmodseq is not None
        if not rest:
            self._fetched_uidnext = state.uidnext
        cursor = Cursor(
            state.uidvalidity,
            new_last,
            since,
            modseq=state.highestmodseq,
            uidnext=state.uidnext if complete else None,
        )
        if resync:
            info["resync"] = "uidvalidity changed"
        return FetchResult(
            ParsedBatch(messages=tuple(messages)), cursor.dump(), more=bool(rest), info=info
        )

    @staticmethod
    def _flag_changes(
        conn: imaplib.IMAP4, previous: Cursor, state: imap.MailboxState
    ) -> list[imap.FlagChange] | None:
        """Known messages (UIDs up to the cursor) changed since the cursor's modseq; None when
        there is nothing to ask (no CONDSTORE, NOMODSEQ, no modseq yet, or none spent)."""
        if previous.modseq is None or state.highestmodseq is None:
            return None
        if state.highestmodseq == previous.modseq or state.exists == 0:
            return None
        return imap.changed_since(conn, previous.last_uid, previous.modseq)

    async def send(self, draft: Draft) -> str:
        """Submit the reply over SMTP, keep a copy in the Sent folder; return its Message-ID."""
        msg = compose.build_reply(
            draft,
            from_address=self._address(),
            from_name=self._account.name,
            now=self._now(),
            quoted_at=draft.quoted_at,
        )
        to = compose.recipients(draft)
        if not to:
            raise PermanentError(f"{SERVICE}: the reply has no recipient")
        raw = msg.as_bytes()
        endpoint, sender = self._endpoint("smtp"), self._address()
        await self._smtp(
            lambda secret, oauth: smtp.submit(endpoint, secret, sender, to, raw, oauth=oauth)
        )
        message_id = draft.local_id.strip().strip("<>")
        try:
            await self._run(lambda: self._save_sent(raw))
        except Exception as exc:  # the mail went out: a missing copy must not make us resend
            log.warning("email: sent %s but could not store it in Sent (%s)", message_id, exc)
        return message_id

    def _sent_folder(self, conn: imaplib.IMAP4) -> str:
        """The configured Sent folder; for the default name, the server's own ``\\Sent``
        folder when it marks one (Gmail's "[Gmail]/Sent Mail", Outlook's "Sent Items")."""
        configured = self._setting("sent_folder") or DEFAULT_SENT
        if configured == DEFAULT_SENT:
            return imap.sent_folder(conn) or DEFAULT_SENT
        return imap.encode_mailbox(configured)

    def _save_sent(self, raw: bytes) -> None:
        conn = self._connection()
        host = self._setting("imap_host").lower()
        if "X-GM-EXT-1" in conn.capabilities or host.endswith(("gmail.com", "googlemail.com")):
            return  # Gmail files what its SMTP server sends by itself
        imap.append(conn, self._sent_folder(conn), raw, self._now())

    async def was_delivered(self, draft: Draft) -> bool | None:
        """True when the Sent folder holds this draft's Message-ID, else None ("may have been
        sent"): a process can die after the SMTP server accepted a reply and before its copy
        reached Sent, so a missing copy never proves the reply did not go out."""

        def search() -> bool | None:
            conn = self._connection()
            return imap.contains_message_id(conn, self._sent_folder(conn), draft.local_id) or None

        return await self._run(search)

    # -- push -------------------------------------------------------------------------------

    async def wait_for_changes(self, timeout: float) -> bool:
        """IMAP IDLE on INBOX: True as soon as new mail arrives, False after ``timeout``.

        A dropped connection is re-opened (for up to RECONNECT_WINDOW seconds); mail that came
        while it was down counts as a change. Raises TransientError when the server stays
        unreachable or stops answering (IDLE is renewed every IDLE_ROUND seconds to find out)."""
        async with self._idle_lock:
            previous = self._idle_future
            if previous is not None and not previous.done():  # a cancelled wait still idling
                self._idle_stop.set()
                await asyncio.wait([previous])
            if self._closing:
                return False
            self._idle_stop.clear()
            if self._idle_conn is None:
                with provider_failures(SERVICE):
                    if self._oauth():
                        await self._tokens.fresh()  # renew one about to expire first
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(None, self._idle_sync, timeout)
            self._idle_future = future
            try:
                with provider_failures(SERVICE):
                    try:
                        return await asyncio.shield(future)
                    except imap.SignInRefused:
                        # Refresh now; the caller fetches (a change may have been missed) and
                        # the next wait signs in with the new token.
                        log.info("email: the IMAP server refused the OAuth token, refreshing it")
                        await self._tokens.fresh(force=True)
                        return True
            except asyncio.CancelledError:
                self._idle_stop.set()  # the worker thread ends within half a second
                raise

    def _idle_open(self) -> bool:
        """(Re)open the IDLE connection; True when UIDNEXT moved since we last looked."""
        imap.close(self._idle_conn)
        self._idle_conn = None
        # Opening and every exchange on this connection are short: a silent server must not
        # hold the wait for SOCKET_TIMEOUT.
        endpoint = replace(self._endpoint("imap"), timeout=imap.LIVENESS_TIMEOUT)
        conn = imap.connect(endpoint, self._secret(), oauth=self._oauth())
        state = imap.examine(conn, INBOX)
        self._idle_conn = conn
        # Mail delivered between the last complete fetch and this IDLE connection's EXAMINE is
        # a change too: compare with what the fetch saw when there is no earlier IDLE view.
        baseline = self._idle_uidnext if self._idle_uidnext is not None else self._fetched_uidnext
        moved = baseline is not None and state.uidnext != baseline
        self._idle_uidnext = state.uidnext
        return moved

    def _idle_reconnect(self, deadline: float) -> None:
        """Re-open the IDLE connection, retrying while a restarting server comes back."""
        while True:
            try:
                self._idle_open()
                return
            except imap.ServerSilent:
                raise  # it accepts connections but says nothing: not a restart
            except (imaplib.IMAP4.abort, OSError):
                if time.monotonic() >= deadline or self._idle_stop.wait(0.5):
                    raise

    def _idle_sync(self, timeout: float) -> bool:
        if self._idle_conn is None and self._idle_open():
            return True
        assert self._idle_conn is not None  # set by _idle_open
        if "IDLE" not in self._idle_conn.capabilities:
            # No push on this server: wait, then let the caller poll.
            return not self._idle_stop.wait(timeout)
        deadline = time.monotonic() + timeout
        try:
            while True:  # rounds of IDLE_ROUND: each DONE proves the server still answers
                tag = f"IDLE{next(self._tags)}".encode()
                left = deadline - time.monotonic()
                changed = imap.idle(self._idle_conn, min(left, IDLE_ROUND), self._idle_stop, tag)
                if changed or self._idle_stop.is_set() or left <= IDLE_ROUND:
                    return changed
        except imap.ServerSilent:
            log.info("email: the IMAP server stopped answering during IDLE")
            self._drop_idle()
            raise
        except (imaplib.IMAP4.abort, OSError):
            log.info("email: IDLE connection dropped, reconnecting")
            self._drop_idle()
            self._idle_reconnect(deadline=time.monotonic() + min(timeout, RECONNECT_WINDOW))
            return True
        except BaseException:
            self._drop_idle()
            raise

    def _drop_idle(self) -> None:
        conn, self._idle_conn = self._idle_conn, None
        if conn is not None:
            try:
                conn.shutdown()  # no LOGOUT: the server is gone or silent
            except Exception:  # already closed
                pass
