"""Blocking IMAP operations on :mod:`imaplib`, run by the provider in worker threads.

Every function here may raise imaplib/socket/ssl exceptions; the provider maps them through
:func:`inbox.providers.failures.provider_failures`. IDLE (RFC 2177) is done by hand because
imaplib gained it only in Python 3.14. CONDSTORE (RFC 7162) is used where the server offers
it: ``EXAMINE ... (CONDSTORE)`` reports HIGHESTMODSEQ, ``UID FETCH ... (CHANGEDSINCE n)`` lists
the messages whose flags changed since a known modseq.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import re
import select
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from inbox.errors import PermanentError
from inbox.providers.email.oauth import SERVICE, sasl_string
from inbox.providers.failures import server_text

#: How long one blocking socket operation may take before the server counts as unreachable.
SOCKET_TIMEOUT = 30.0
#: How long a short exchange that proves the server is alive (NOOP, the answer to IDLE's DONE,
#: opening the IDLE connection) may take; a server silent for longer counts as unreachable.
LIVENESS_TIMEOUT = 4.0
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)", re.IGNORECASE)
_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)", re.IGNORECASE)
_EXISTS = re.compile(rb"^\* \d+ EXISTS", re.IGNORECASE)
_LIST = re.compile(rb'^\(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.+)$', re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach a mail server (IMAP or SMTP); never holds the password."""

    host: str
    port: int
    security: str  # "ssl" | "starttls" | "none"
    username: str
    timeout: float = SOCKET_TIMEOUT


@dataclass(frozen=True, slots=True)
class MailboxState:
    """What EXAMINE reported. ``highestmodseq`` is None without CONDSTORE or when the server
    answered NOMODSEQ (the mailbox keeps no permanent mod-sequences)."""

    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None = None


@dataclass(frozen=True, slots=True)
class FlagChange:
    """A message whose flags (or other metadata) changed after a given mod-sequence."""

    uid: int
    flags: frozenset[str]
    modseq: int | None


@dataclass(frozen=True, slots=True)
class FetchedMail:
    uid: int
    raw: bytes
    internal_date: datetime | None


class ImapFailure(imaplib.IMAP4.error):
    """A command the server answered with NO or BAD."""


class ServerSilent(imaplib.IMAP4.abort):
    """The server stopped answering (a dead host, a network that drops everything): the
    connection is open but nothing comes back within :data:`LIVENESS_TIMEOUT`."""


def encode_mailbox(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): "Envoyés" -> "Envoy&AOk-s"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def sent_folder(conn: imaplib.IMAP4) -> str | None:
    """The folder the server marks as ``\\Sent`` (RFC 6154), already encoded; None if none."""
    typ, data = conn.list()
    if typ != "OK":
        return None
    for line in data:
        if not isinstance(line, bytes):
            continue  # a literal name: rare, and only a preference is lost
        found = _LIST.match(line)
        if found and b"\\sent" in found.group(1).lower().split():
            name = found.group(2).decode("utf-8", "replace")
            if name.startswith('"') and name.endswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            return name
    return None


def quote(value: str) -> str:
    """An IMAP quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(result: tuple[str, Sequence[object]], what: str) -> list[object]:
    typ, data = result
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise ImapFailure(f"{what} refused: {detail}"[:300])
    return list(data)


class SignInRefused(ImapFailure):
    """The server refused the XOAUTH2 token (AUTHENTICATE answered NO): worth one refresh."""


def connect(endpoint: Endpoint, password: str, *, oauth: bool = False) -> imaplib.IMAP4:
    """Open a signed-in IMAP connection (TLS per ``endpoint.security``). With ``oauth``,
    ``password`` is an OAuth 2.0 access token presented by ``AUTHENTICATE XOAUTH2``."""
    context = ssl.create_default_context()
    conn: imaplib.IMAP4
    if endpoint.security == "ssl":
        conn = imaplib.IMAP4_SSL(
            endpoint.host, endpoint.port, ssl_context=context, timeout=endpoint.timeout
        )
    else:
        conn = imaplib.IMAP4(endpoint.host, endpoint.port, timeout=endpoint.timeout)
        if endpoint.security == "starttls":
            conn.starttls(context)
    try:
        if oauth:
            _xoauth2(conn, endpoint.username, password)
        elif password.isascii():
            conn.login(endpoint.username, password)
        else:  # imaplib's LOGIN is ASCII-only; SASL PLAIN carries UTF-8
            secret = f"\0{endpoint.username}\0{password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
        _refresh_capabilities(conn)
    except BaseException:
        close(conn)
        raise
    return conn


def _xoauth2(conn: imaplib.IMAP4, username: str, token: str) -> None:
    """``AUTHENTICATE XOAUTH2``. A refusing server first sends an error challenge (JSON, in
    base64) and waits for an empty answer before its NO; that answer is empty here."""
    if "AUTH=XOAUTH2" not in conn.capabilities:
        raise PermanentError(
            f"{SERVICE}: the IMAP server does not offer XOAUTH2 sign-in (no AUTH=XOAUTH2);"
            " use auth=password for this account"
        )
    answers = iter([sasl_string(username, token)])
    try:
        conn.authenticate("XOAUTH2", lambda _challenge: next(answers, b""))
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        # The server's text only: imaplib never echoes what we sent.
        raise SignInRefused(f"XOAUTH2 sign-in refused: {server_text(exc)}"[:300]) from None


def _refresh_capabilities(conn: imaplib.IMAP4) -> None:
    """Read the capabilities as they are after sign-in (RFC 3501 §6.2.2): servers announce more
    then (Dovecot lists CONDSTORE only once signed in). Most put them in the sign-in answer,
    which costs nothing; otherwise ask once."""
    _typ, data = conn.response("CAPABILITY")
    line = next((d for d in reversed(data or []) if isinstance(d, bytes) and d.strip()), None)
    if line is None:
        typ, data = conn.capability()
        line = next((d for d in reversed(data or []) if isinstance(d, bytes) and d.strip()), None)
        if typ != "OK" or line is None:
            return  # keep what the greeting said
    conn.capabilities = tuple(line.decode("ascii", "replace").upper().split())


def has_condstore(conn: imaplib.IMAP4) -> bool:
    """Whether the server offers CONDSTORE (QRESYNC requires it, RFC 7162 §3.2)."""
    return "CONDSTORE" in conn.capabilities or "QRESYNC" in conn.capabilities


def close(conn: imaplib.IMAP4 | None) -> None:
    """Log out if possible, close the socket in any case; never raises."""
    if conn is None:
        return
    try:
        conn.logout()
    except Exception:  # the connection may already be gone
        try:
            conn.shutdown()
        except Exception:  # nothing more to do for a dead socket
            pass


def alive(conn: imaplib.IMAP4, timeout: float = LIVENESS_TIMEOUT) -> bool:
    """NOOP answered OK within ``timeout`` (a silent server is not waited for 30 s)."""
    try:
        with _answer_within(conn, timeout):
            return conn.noop()[0] == "OK"
    except Exception:  # any failure means: reconnect
        return False


@contextlib.contextmanager
def _answer_within(conn: imaplib.IMAP4, timeout: float) -> Iterator[None]:
    """Reads on ``conn`` time out after ``timeout`` inside the block (ServerSilent)."""
    sock = conn.socket()
    previous = sock.gettimeout()
    sock.settimeout(timeout)
    try:
        yield
    except TimeoutError as exc:
        raise ServerSilent(f"no answer from the server within {timeout:g} s") from exc
    finally:
        sock.settimeout(previous)


def _number(conn: imaplib.IMAP4, name: str) -> int | None:
    _typ, values = conn.response(name)
    for value in reversed(values or []):
        if isinstance(value, bytes) and value.strip().isdigit():
            return int(value)
    return None


def examine(conn: imaplib.IMAP4, folder: str, *, condstore: bool = False) -> MailboxState:
    """Select ``folder`` read-only and report UIDVALIDITY, UIDNEXT and the message count.

    With ``condstore`` (only when :func:`has_condstore`), EXAMINE carries the CONDSTORE
    parameter (RFC 7162 §3.1.8), which enables CONDSTORE for the session and makes the server
    report HIGHESTMODSEQ, or NOMODSEQ for a mailbox without permanent mod-sequences."""
    mailbox = quote(folder) + (" (CONDSTORE)" if condstore else "")
    data = _ok(conn.select(mailbox, readonly=True), f"EXAMINE {folder}")
    uidvalidity = _number(conn, "UIDVALIDITY")
    if uidvalidity is None:
        raise ImapFailure(f"EXAMINE {folder}: the server sent no UIDVALIDITY")
    exists = int(data[0]) if data and isinstance(data[0], bytes) and data[0].isdigit() else 0
    highest = None
    if condstore and all(value is None for value in conn.response("NOMODSEQ")[1]):
        highest = _number(conn, "HIGHESTMODSEQ")  # absent [NOMODSEQ] reads as [None]
    return MailboxState(uidvalidity, _number(conn, "UIDNEXT"), exists, highest)


def imap_date(when: datetime) -> str:
    return f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year}"


def search_uids(conn: imaplib.IMAP4, after_uid: int, since: datetime | None) -> list[int]:
    """UIDs greater than ``after_uid`` (and dated from ``since``), ascending."""
    criteria = [f"UID {after_uid + 1}:*"]
    if since is not None:
        criteria += ["SINCE", imap_date(since)]
    data = _ok(conn.uid("SEARCH", *criteria), "UID SEARCH")
    uids: set[int] = set()
    for line in data:
        if isinstance(line, bytes):
            uids.update(int(token) for token in line.split() if token.isdigit())
    # "n:*" always matches the highest UID, even when it is below n.
    return sorted(uid for uid in uids if uid > after_uid)


def changed_since(conn: imaplib.IMAP4, last_uid: int, modseq: int) -> list[FlagChange]:
    """Messages with UIDs up to ``last_uid`` changed after ``modseq`` (RFC 7162 §3.1.4.1),
    by UID. Only for a mailbox examined with CONDSTORE that reported HIGHESTMODSEQ: the server
    rejects CHANGEDSINCE with BAD after NOMODSEQ."""
    if last_uid < 1:
        return []
    data = _ok(
        conn.uid("FETCH", f"1:{last_uid}", "(UID FLAGS)", f"(CHANGEDSINCE {modseq})"),
        "UID FETCH CHANGEDSINCE",
    )
    found: dict[int, FlagChange] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue  # None: nothing changed
        uid = _UID.search(line)
        flags = _FLAGS.search(line)
        if uid is None or flags is None or int(uid.group(1)) > last_uid:
            continue  # an unsolicited FETCH about another message, or one without its UID
        seq = _MODSEQ.search(line)
        found[int(uid.group(1))] = FlagChange(
            int(uid.group(1)),
            frozenset(flags.group(1).decode("ascii", "replace").split()),
            int(seq.group(1)) if seq else None,
        )
    return [found[uid] for uid in sorted(found)]


def _internal_date(meta: bytes) -> datetime | None:
    found = _INTERNALDATE.search(meta)
    if not found:
        return None
    try:
        return datetime.strptime(found.group(1).decode(), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None


def fetch_mail(conn: imaplib.IMAP4, uids: list[int]) -> list[FetchedMail]:
    """Raw bytes of the given UIDs (ones expunged meanwhile are simply absent), by UID."""
    if not uids:
        return []
    data = _ok(
        conn.uid("FETCH", ",".join(map(str, uids)), "(UID INTERNALDATE BODY.PEEK[])"),
        "UID FETCH",
    )
    found: dict[int, FetchedMail] = {}
    for item in data:
        if not (isinstance(item, tuple) and len(item) == 2):
            continue
        meta, raw = item
        uid = _UID.search(meta) if isinstance(meta, bytes) else None
        if uid and isinstance(raw, bytes):
            found[int(uid.group(1))] = FetchedMail(int(uid.group(1)), raw, _internal_date(meta))
    return [found[uid] for uid in sorted(found)]


def append(conn: imaplib.IMAP4, folder: str, raw: bytes, when: datetime) -> None:
    """Store ``raw`` in ``folder`` as read, creating the folder when the server asks to."""
    stamp = imaplib.Time2Internaldate(when.timestamp())
    typ, data = conn.append(quote(folder), r"(\Seen)", stamp, raw)
    if typ != "OK" and b"TRYCREATE" in b" ".join(d for d in data if isinstance(d, bytes)):
        conn.create(quote(folder))
        typ, data = conn.append(quote(folder), r"(\Seen)", stamp, raw)
    _ok((typ, data), f"APPEND {folder}")


def contains_message_id(conn: imaplib.IMAP4, folder: str, message_id: str) -> bool | None:
    """Whether ``folder`` holds a message with this Message-ID; None if the folder is missing."""
    typ, _data = conn.select(quote(folder), readonly=True)
    if typ != "OK":
        return None
    wanted = "<" + message_id.strip().strip("<>") + ">"
    data = _ok(conn.uid("SEARCH", "HEADER", "Message-ID", quote(wanted)), "UID SEARCH")
    return any(isinstance(line, bytes) and line.split() for line in data)


def _buffered(conn: imaplib.IMAP4) -> bool:
    """Whether imaplib's reader already holds received bytes (select() cannot see those:
    Dovecot sends a pending EXISTS in the same packet as the IDLE continuation)."""
    sock = conn.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    peek = getattr(conn.file, "peek", None)
    if peek is None:
        return False
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # a non-blocking peek returns what is buffered or already arrived
    try:
        return bool(peek(1))
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    finally:
        sock.settimeout(timeout)


def _readable(conn: imaplib.IMAP4, wait: float) -> bool:
    if _buffered(conn):
        return True
    ready, _, _ = select.select([conn.socket()], [], [], wait)
    return bool(ready)


def _line(conn: imaplib.IMAP4) -> bytes:
    line = conn.readline()
    if not line:
        raise imaplib.IMAP4.abort("connection closed by the server during IDLE")
    if line.startswith(b"* BYE"):
        raise imaplib.IMAP4.abort("server said BYE during IDLE")
    return line


def idle(
    conn: imaplib.IMAP4,
    timeout: float,
    stop: threading.Event,
    tag: bytes,
    answer_timeout: float = LIVENESS_TIMEOUT,
) -> bool:
    """IDLE on the selected mailbox until new mail (EXISTS), ``timeout`` seconds or ``stop``.

    Any EXISTS seen before the continuation or while ending IDLE counts too, so mail that
    arrives in a race with the start or the end of IDLE is never missed. The server must answer
    IDLE and DONE within ``answer_timeout``, else :class:`ServerSilent`: ending IDLE every few
    seconds (the caller's ``timeout``) is how a server that went silent is noticed.
    """
    changed = False
    with _answer_within(conn, answer_timeout):
        conn.send(tag + b" IDLE\r\n")
        while True:
            line = _line(conn)
            if line.startswith(b"+"):
                break
            if line.startswith(tag + b" "):
                raise ImapFailure(f"IDLE refused: {line.decode('utf-8', 'replace').strip()}"[:300])
            changed = changed or bool(_EXISTS.match(line))
    deadline = time.monotonic() + timeout
    while not changed and not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if _readable(conn, min(remaining, 0.5)):
            with _answer_within(conn, answer_timeout):  # the rest of a line that began
                changed = bool(_EXISTS.match(_line(conn)))
    with _answer_within(conn, answer_timeout):
        conn.send(b"DONE\r\n")
        while True:
            line = _line(conn)
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                    raise ImapFailure(f"IDLE ended badly: {line.decode('utf-8', 'replace')}"[:300])
                return changed
            changed = changed or bool(_EXISTS.match(line))
