"""Mail to import from disk: ``.eml`` files, mbox files, maildir folders, bare RFC 5322 files.

``iter_mail`` walks a file or a folder and yields ``(source label, raw bytes)`` for each message;
a file that cannot be read or is not mail becomes a :class:`~inbox.models.Rejection` in the
optional ``rejections`` list, and the walk goes on. Maildir file names may use ``!`` instead of
``:`` (as on Windows); nothing here depends on the flags part of the name.
"""

from __future__ import annotations

import mailbox
import os
import re
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from inbox.models import Message, ParsedBatch, Rejection
from inbox.providers.email.parse import EPOCH, parse_email
from inbox.providers.json_input import size_text

_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_MAIL_HEADERS = {
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"received",
    b"return-path",
    b"delivered-to",
    b"mime-version",
    b"content-type",
    b"in-reply-to",
    b"references",
    b"sender",
    b"reply-to",
    b"x-mailer",
}
#: Files a mail server keeps next to a maildir's messages.
_MAILDIR_METADATA = {
    "dovecot-uidlist",
    "dovecot-keywords",
    "dovecot-uidvalidity",
    "maildirfolder",
    "subscriptions",
    "courierimapuiddb",
    "courierimapkeywords",
    "courierimapacl",
}
_SNIFF_BYTES = 64 * 1024
#: One message, attachments included: parsing costs about ten times its size in memory, and
#: attachments over 25 MB are kept as metadata only anyway.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
_LINESEP = os.linesep.encode()


def _looks_like_headers(head: bytes) -> bool:
    """The first lines form a header block holding at least one header real mail carries.

    Judged line by line up to the first such header (most mail starts with one), not the whole
    head split into lines: this runs for every file a maildir import reads."""
    start = 0
    for number in range(500):
        end = head.find(b"\n", start)
        if end < 0:
            return False  # the last line may be cut short: not judged
        line = head[start : end - 1] if end > start and head[end - 1] == 13 else head[start:end]
        start = end + 1
        if not line:
            return False  # the end of the header block
        if line[:1] in (b" ", b"\t") and number:
            continue
        if not _HEADER_LINE.match(line):
            return False  # a body without the blank line, or not mail at all
        if line.split(b":", 1)[0].strip().lower() in _MAIL_HEADERS:
            return True
    return False


def _too_large() -> str:
    return f"larger than {size_text(MAX_MESSAGE_BYTES)}: not imported"


def _sniff(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_SNIFF_BYTES)


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and ((path / "cur").is_dir() or (path / "new").is_dir())


def looks_like_mail(path: Path) -> bool:
    """True for a maildir folder, an ``.eml`` file, an mbox file or a bare RFC 5322 file."""
    try:
        if path.is_dir():
            return _is_maildir(path)
        head = _sniff(path)
    except OSError:
        return False
    if not head.strip():
        return False
    if path.suffix.lower() == ".eml" or head.startswith(b"From "):
        return True
    return _looks_like_headers(head)


def _iter_mbox(path: str, reject: Callable[[str, str], None]) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            with box.get_file(key) as handle:  # the message after its "From " line, as get_bytes
                raw = handle.read(MAX_MESSAGE_BYTES + 1)
            if len(raw) > MAX_MESSAGE_BYTES:
                reject(f"{path}#{number}", f"message {_too_large()}")
                continue
            yield f"{path}#{number}", raw.replace(_LINESEP, b"\n")
    finally:
        box.close()


def _iter_file(path: str, mode: int, reject: Callable[[str, str], None]) -> Iterator[tuple[str, bytes]]:
    """The messages of one file whose ``stat`` mode is ``mode``, labelled by its path."""
    if stat.S_ISDIR(mode):
        reject(path, "cannot read folder")
        return
    if not stat.S_ISREG(mode):  # a pipe or a device: could wait for ever
        reject(path, "not a regular file")
        return
    eml = os.path.splitext(path)[1].lower() == ".eml"  # as Path.suffix: ".eml" alone is a name
    try:
        with open(path, "rb") as handle:  # read once: the head says what it is, most mail is all head
            head = handle.read(_SNIFF_BYTES)
            mbox = head.startswith(b"From ") and not eml
            headers = mbox or eml or _looks_like_headers(head)
            rest = len(head) == _SNIFF_BYTES and headers and not mbox
            raw = head + handle.read(max(0, MAX_MESSAGE_BYTES + 1 - len(head))) if rest else head
        if not head.strip():
            reject(path, "empty file")
            return
        if mbox:
            yield from _iter_mbox(path, reject)
            return
        if not headers:
            reject(path, "not an e-mail message (no mail headers at the start)")
            return
        if len(raw) > MAX_MESSAGE_BYTES:
            reject(path, _too_large())
            return
        yield path, raw
    except OSError as exc:
        reject(path, f"cannot read: {exc.strerror or type(exc).__name__}")
    except mailbox.Error as exc:
        reject(path, f"cannot read mailbox: {exc}")


def _walk(root: str) -> Iterator[str]:
    """Files under ``root`` in a stable order (by name), skipping hidden files and maildir
    ``tmp``, as paths in text. ``scandir`` tells folders from files without a stat each, and
    names sort as text: a maildir of 100,000 files was listed in 2 s, most of it comparing and
    making Path objects."""
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        yield root  # reported as unreadable by the caller
        return
    maildir = _is_maildir(Path(root))
    for entry in entries:
        try:
            folder = entry.is_dir()
        except OSError:
            folder = False
        if entry.name.startswith(".") and not (folder and len(entry.name) > 1):
            continue
        if folder:
            if maildir and entry.name == "tmp":
                continue
            yield from _walk(entry.path)
        elif entry.name not in _MAILDIR_METADATA and not entry.name.startswith("dovecot."):
            yield entry.path


def iter_mail(path: Path, rejections: list[Rejection] | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield ``(source, raw)`` for every message under ``path`` (a file or a folder).

    ``source`` is the file path, or ``path#n`` (1-based) for the n-th message of an mbox.
    Unreadable and non-mail files are appended to ``rejections`` when given.
    """

    def reject(source: str, reason: str) -> None:
        if rejections is not None:
            rejections.append(Rejection(source=source, reason=reason))

    name = str(path)
    try:
        mode = os.stat(name).st_mode
    except OSError:
        reject(name, "no such file or folder")
        return
    if not stat.S_ISDIR(mode):
        yield from _iter_file(name, mode, reject)
        return
    for file in _walk(name):
        try:
            mode = os.stat(file).st_mode  # one stat: a walked entry may be gone or unreadable since
        except OSError as exc:
            reject(file, f"cannot read: {exc.strerror or type(exc).__name__}")
            continue
        yield from _iter_file(file, mode, reject)


def import_mail(path: Path, fallback_time: datetime = EPOCH) -> ParsedBatch:
    """Parse every message under ``path``; unreadable files become rejections."""
    rejections: list[Rejection] = []
    messages: list[Message] = []
    for source, raw in iter_mail(path, rejections):
        messages.append(parse_email(raw, source, fallback_time))
    return ParsedBatch(messages=tuple(messages), rejections=tuple(rejections))


def mail_files(path: Path) -> Iterator[str]:
    """The files ``iter_mail`` reads under a folder, in the same order, without reading them:
    an importer can skip the files it already has and parse the others in batches."""
    return _walk(str(path))
