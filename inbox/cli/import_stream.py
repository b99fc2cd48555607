"""A maildir imported as a stream: its files in batches, parsed in worker processes (one per
core), stored by this process (the one writer) in transactions of a few thousand messages.

Memory stays bounded at any size: at most ``IN_FLIGHT`` batches of files are being parsed or
waiting, and the importer holds one transaction's messages. Each transaction also records its
files (path, size, modification time), so importing the maildir again skips them unread, and a
crash loses only the files in flight, which the next import takes again.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from inbox.models import Attachment, Author, Channel, Direction, IdentityKind, Message, Rejection, Surface
from inbox.providers.email import sources as mail_sources
from inbox.store.imported_files import ImportedFile

log = logging.getLogger(__name__)

FILES_PER_BATCH = 200  # files a worker parses per task: large enough to hide the hand-over
IN_FLIGHT_PER_WORKER = 16  # batches queued per worker: more files than one transaction stores, so the
# workers go on parsing while the importer stores (2 kept them idle for most of each transaction)
#: Parsers run this much below the writer, which then keeps a whole core (with two busy parsers
#: at its own priority it got two thirds of one, and the import waited on it).
WORKER_NICENESS = 10
#: Fewer files than this are parsed in this process: starting workers costs more than it saves.
PARALLEL_FROM = 1_000


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What one mail file gave: its messages or why it was rejected."""

    file: ImportedFile
    messages: tuple[Message, ...]
    rejections: tuple[Rejection, ...]


@dataclass
class MaildirPlan:
    """A maildir's files split into those to parse and those already stored unchanged."""

    to_parse: list[ImportedFile]
    skipped_files: int = 0
    skipped_messages: int = 0


def plan(root: Path, known: dict[str, ImportedFile]) -> MaildirPlan:
    """List the maildir's files in import order and set aside those whose path, size and
    modification time are those of a file already imported (their messages are all stored)."""
    found = MaildirPlan(to_parse=[])
    for name in mail_sources.mail_files(root):
        try:
            st = os.stat(name)
            current = ImportedFile(name, st.st_size, st.st_mtime_ns)
        except OSError:
            current = ImportedFile(name, -1, -1)  # the parser reports why it cannot be read
        before = known.get(name)
        if before is not None and (before.size, before.mtime_ns) == (current.size, current.mtime_ns):
            found.skipped_files += 1
            found.skipped_messages += before.messages
        else:
            found.to_parse.append(current)
    return found


def parser_bug(path: Path | str, exc: Exception) -> Rejection:
    """A parser raised what it never should: that file is rejected, never the files after it."""
    log.error("importing %s failed", path, exc_info=exc)
    return Rejection(str(path), f"not imported: unexpected {type(exc).__name__} while reading it (a bug)")


def parse_files(files: list[ImportedFile], fallback_time: datetime) -> list[ParsedFile]:
    """Parse mail files one by one, as ``inbox import`` parses a maildir (runs in a worker)."""
    parsed = []
    for file in files:
        try:
            batch = mail_sources.import_mail(Path(file.path), fallback_time)
        except Exception as exc:  # a parser's bug costs this file only
            parsed.append(ParsedFile(file, (), (parser_bug(file.path, exc),)))
            continue
        parsed.append(ParsedFile(file, batch.messages, batch.rejections))
    return parsed


# What a worker hands over: plain tuples of strings, numbers and datetimes, which pickle and
# unpickle in C. Pickling the dataclasses themselves costs twice as much per message (70 us in
# all): their slots are restored attribute by attribute in Python, and each enum member is looked
# up again by calling its class.
PackedAuthor = tuple[str, str, str, str, int | None, str | None]
PackedMessage = tuple[Any, ...]
PackedFile = tuple[str, int, int, tuple[PackedMessage, ...], tuple[tuple[str, str], ...]]

_CHANNELS = {member.value: member for member in Channel}
_SURFACES = {member.value: member for member in Surface}
_DIRECTIONS = {member.value: member for member in Direction}
_KINDS = {member.value: member for member in IdentityKind}


def _pack_author(a: Author) -> PackedAuthor:
    return (a.kind.value, a.key, a.handle, a.display_name, a.followers, a.avatar_url)


def _unpack_author(a: PackedAuthor) -> Author:
    return Author(_KINDS[a[0]], a[1], a[2], a[3], a[4], a[5])


def _pack_attachment(a: Attachment) -> tuple[Any, ...]:
    return (a.filename, a.content_type, a.size, a.url, a.content_id, a.data)


def pack(parsed: ParsedFile) -> PackedFile:
    """``parsed`` as plain tuples, to cross from a worker to the writer (see :func:`unpack`)."""
    messages = tuple(
        (
            m.provider_id, m.channel.value, m.surface.value, m.direction.value, _pack_author(m.author),
            m.text, m.sent_at, m.subject, m.html, tuple(map(_pack_author, m.recipients)),
            tuple(map(_pack_attachment, m.attachments)), m.thread_key, m.reply_to_id, m.references,
            m.automated, m.private, dict(m.meta),
        )
        for m in parsed.messages
    )  # fmt: skip
    rejections = tuple((r.source, r.reason) for r in parsed.rejections)
    return (parsed.file.path, parsed.file.size, parsed.file.mtime_ns, messages, rejections)


def unpack(packed: PackedFile) -> ParsedFile:
    path, size, mtime_ns, messages, rejections = packed
    return ParsedFile(
        ImportedFile(path, size, mtime_ns),
        tuple(
            Message(
                m[0], _CHANNELS[m[1]], _SURFACES[m[2]], _DIRECTIONS[m[3]], _unpack_author(m[4]),
                m[5], m[6], m[7], m[8], tuple(map(_unpack_author, m[9])),
                tuple(Attachment(*a) for a in m[10]), m[11], m[12], m[13], m[14], m[15], m[16],
            )
            for m in messages
        ),
        tuple(Rejection(source, reason) for source, reason in rejections),
    )  # fmt: skip


def parse_packed(files: list[ImportedFile], fallback_time: datetime) -> list[PackedFile]:
    """:func:`parse_files` in a worker, its result packed for the hand-over."""
    return [pack(parsed) for parsed in parse_files(files, fallback_time)]


def parsed_files(
    groups: Iterable[tuple[list[ImportedFile], datetime]], workers: int | None = None
) -> Iterator[ParsedFile]:
    """Every file parsed, in the order given: ``groups`` are the files of each maildir with the
    time a message without a date takes, read lazily (a maildir is listed when its turn comes).
    One pool of worker processes parses them all when there are many files, so the parsing of
    a maildir goes on while the messages of the one before are being stored."""
    batches = _batches(groups)
    count = workers if workers is not None else (os.cpu_count() or 1)
    first: list[tuple[list[ImportedFile], datetime]] = []
    if count >= 1 and workers is None:  # few files in all: parsed here, no workers started
        seen = 0
        for batch in batches:
            first.append(batch)
            seen += len(batch[0])
            if seen >= PARALLEL_FROM:
                break
        if seen < PARALLEL_FROM:
            count = 0
    queued = itertools.chain(first, batches)
    if count < 1:
        for files, fallback_time in queued:
            yield from parse_files(files, fallback_time)
        return
    context = multiprocessing.get_context(start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload([__name__])  # the parsers imported once, in the server
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_start_worker) as pool:
        pending: deque[Future[list[PackedFile]]] = deque()
        for files, fallback_time in queued:
            pending.append(pool.submit(parse_packed, files, fallback_time))
            if len(pending) >= count * IN_FLIGHT_PER_WORKER:
                break
        while pending:
            done = pending.popleft().result()
            next_batch = next(queued, None)
            if next_batch is not None:
                pending.append(pool.submit(parse_packed, *next_batch))
            yield from map(unpack, done)


def start_method() -> str:
    """How the parser workers start. ``fork`` when this process has no other thread (``inbox
    import`` on the command line): the workers exist at once, with the parsers imported (a fifth
    of the time of importing 9,000 mails went to starting them). Otherwise ``forkserver`` (the
    app, a test runner): a fork of a process whose other threads hold locks can deadlock, so the
    workers start from a clean server process. The workers never touch the importer's store and
    leave with ``os._exit``, so a fork does not carry the SQLite connection into use."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _threads() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _threads() -> int:
    """This process's threads, those Python did not start included (the kernel's list)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # no /proc: not known, as if several
        return 2


def _start_worker() -> None:
    """A parser runs at a lower priority than the writer (the importer), and leaves when the
    importer is gone: killed, it cannot tell its workers to stop, and they would wait for work
    for ever (holding the store's files open when they were forked)."""
    os.nice(WORKER_NICENESS)
    importer = multiprocessing.parent_process()
    if importer is not None:
        threading.Thread(target=_leave_with, args=(importer,), name="importer-watch", daemon=True).start()


def _leave_with(importer: BaseProcess) -> None:
    importer.join()  # returns when the importer's end of the link closes: it exited or was killed
    os._exit(1)  # nothing to finish: a parser holds only files being parsed, which are read again


def _batches(groups: Iterable[tuple[list[ImportedFile], datetime]]) -> Iterator[tuple[list[ImportedFile], datetime]]:
    for files, fallback_time in groups:
        for start in range(0, len(files), FILES_PER_BATCH):
            yield files[start : start + FILES_PER_BATCH], fallback_time
