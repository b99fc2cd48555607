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
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from inbox.models import Message, Rejection
from inbox.providers.email import sources as mail_sources
from inbox.store.imported_files import ImportedFile

log = logging.getLogger(__name__)

FILES_PER_BATCH = 200  # files a worker parses per task: large enough to hide the hand-over
IN_FLIGHT_PER_WORKER = 16  # batches queued per worker: more files than one transaction stores, so the
# workers go on parsing while the importer stores (2 kept them idle for most of each transaction)
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
    # forkserver: workers start from a clean process, not a fork of one that may hold threads
    # and locks (the app, a test runner); the parsers are imported once, in the server.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        pending: deque[Future[list[ParsedFile]]] = deque()
        for files, fallback_time in queued:
            pending.append(pool.submit(parse_files, files, fallback_time))
            if len(pending) >= count * IN_FLIGHT_PER_WORKER:
                break
        while pending:
            done = pending.popleft().result()
            next_batch = next(queued, None)
            if next_batch is not None:
                pending.append(pool.submit(parse_files, *next_batch))
            yield from done


def _batches(groups: Iterable[tuple[list[ImportedFile], datetime]]) -> Iterator[tuple[list[ImportedFile], datetime]]:
    for files, fallback_time in groups:
        for start in range(0, len(files), FILES_PER_BATCH):
            yield files[start : start + FILES_PER_BATCH], fallback_time
