"""`inbox import`: files and folders in any supported format, detected by content.

Composition: the channel parsers (providers) produce batches, the store ingests them. Each file is
its own transaction, so one broken file never blocks the rest; every rejected file or record is
reported with a one-line reason naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from inbox.cli import import_stream
from inbox.models import Account, Channel, Message, ParsedBatch, Rejection
from inbox.providers import json_input
from inbox.providers import webform as webform_parse
from inbox.providers.email import sources as mail_sources
from inbox.providers.facebook import parse as facebook_parse
from inbox.providers.twitter import parse as twitter_parse
from inbox.providers.webform.mail_rule import file_form_mail
from inbox.store.imported_files import ImportedFile
from inbox.store.ingest import IngestResult
from inbox.store.repository import Store

log = logging.getLogger(__name__)

SKIPPED_NAMES = {".gitattributes", ".DS_Store"}
LICENCE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "AUTHORS", "PSF-LICENSE", "README")


@dataclass
class ImportSummary:
    files: int = 0
    result: IngestResult = field(default_factory=IngestResult)
    rejections: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "added": self.result.added,
            "duplicates": self.result.duplicates,
            "ignored": self.result.ignored,
            "conversations": len(self.result.conversations),
            "rejected": [{"source": r.source, "reason": r.reason} for r in self.rejections],
        }


def iter_inputs(paths: list[Path]) -> Iterator[Path]:
    """Files to import: maildir folders as a unit, other folders walked, licences skipped."""
    for path in paths:
        if path.is_dir():
            if mail_sources.looks_like_mail(path):
                yield path
                continue
            try:
                children = sorted(path.iterdir())
            except OSError:
                yield path  # parse_path names it as unreadable
                continue
            for child in children:
                upper = child.name.upper()
                if child.name.startswith(".") and child.is_dir():
                    continue  # a tool's own folder (.notmuch, .git), not mail
                if child.name in SKIPPED_NAMES or upper.startswith(LICENCE_PREFIXES) or "LICENSE" in upper:
                    continue
                yield from iter_inputs([child])
        else:
            yield path


def parse_path(path: Path, fallback_time: datetime) -> ParsedBatch:
    """Detect the format of one file (or maildir) and parse it; unknown formats are rejected."""
    if not path.exists():
        return ParsedBatch(rejections=(Rejection(str(path), "no such file or folder"),))
    try:
        if path.is_file() and path.stat().st_size == 0:
            return ParsedBatch(rejections=(Rejection(str(path), "empty file"),))
        if path.is_dir():
            if mail_sources.looks_like_mail(path):
                return mail_sources.import_mail(path, _file_time(path, fallback_time))
            return ParsedBatch(rejections=(Rejection(str(path), _unknown_reason(path)),))
        if not path.is_file():  # reading a pipe or a device could wait or run for ever
            return ParsedBatch(rejections=(Rejection(str(path), "not a regular file"),))
        for parser in (twitter_parse.import_file, facebook_parse.import_file, webform_parse.import_file):
            batch = parser(path)
            if batch is not None:
                return batch
        if mail_sources.looks_like_mail(path):
            return mail_sources.import_mail(path, _file_time(path, fallback_time))
    except OSError as exc:
        return ParsedBatch(rejections=(Rejection(str(path), f"cannot read: {exc.strerror or exc}"),))
    return ParsedBatch(rejections=(Rejection(str(path), _unknown_reason(path)),))


def _file_time(path: Path, default: datetime) -> datetime:
    """A mail without a usable date gets its file's time: the same on every import."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return default


def _unknown_reason(path: Path) -> str:
    if path.is_dir():
        try:
            next(path.iterdir(), None)
        except OSError as exc:
            return f"cannot read folder: {exc.strerror or exc}"
        return "folder holds no maildir (cur/ or new/) and no importable files"
    try:
        with path.open("rb") as handle:
            head, data = handle.read(2048), b""
            text = head.decode("utf-8-sig", "replace").lstrip()
            if text.startswith(("{", "[")):
                data = handle.read(json_input.MAX_DOCUMENT_BYTES + 1 - len(head))
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if text.startswith(("{", "[")):
        if len(head) + len(data) > json_input.MAX_DOCUMENT_BYTES:
            limit = json_input.size_text(json_input.MAX_DOCUMENT_BYTES)
            return f"JSON larger than {limit} that is not X JSON lines"
        try:
            json_input.loads((head + data).decode("utf-8-sig"))
        except UnicodeDecodeError:
            return "invalid JSON: not UTF-8"
        except json_input.JsonRefused as exc:
            return exc.reason
        return "JSON that is neither an X API, Graph API nor web-form payload"
    if path.suffix.lower() in {".yaml", ".yml"}:
        return "YAML is not an import format"
    return "not a recognised format (expected mail, mbox, maildir, X or Graph JSON, web form)"


def resolve_account(store: Store, batch: ParsedBatch, forced: Account | None, channel: Channel) -> Account:
    if forced is not None:
        return forced
    if batch.account_hint:
        known = store.account(batch.account_hint)
        if known is not None:
            return known
        kind, _, ident = batch.account_hint.partition(":")
        own = frozenset({ident}) if kind in ("twitter", "facebook") else frozenset()
        account = Account(id=batch.account_hint, channel=channel, name=batch.account_hint, own_keys=own)
        store.save_account(account)
        return account
    # Deterministic: data with no account of its own always goes to the channel's import account,
    # so importing it again finds it again (pass --account to file it under a real account).
    return store.ensure_account(f"{channel.value}:import", channel, f"Imported {channel.value}")


TRANSACTION_MESSAGES = 5000  # messages of several small files are stored in one transaction


def import_paths(
    store: Store, paths: list[Path], forced: Account | None = None, *, workers: int | None = None
) -> ImportSummary:
    """Import files and folders; parsed messages are stored per account in transactions of a
    few thousand messages (a file's messages are never split across two). A maildir is streamed
    (``import_stream``): parsed in ``workers`` processes (default: one per core, when it has
    many files), its files recorded with their messages and skipped unread when imported again."""
    summary = ImportSummary()
    now = datetime.now(UTC)
    pending: dict[str, tuple[Account, list[Message], list[ImportedFile]]] = {}
    accounts: dict[tuple[str | None, Channel], Account] = {}

    def flush(account_id: str) -> None:
        account, messages, files = pending.pop(account_id)
        result = store.ingest(account, messages, files=files)
        summary.rejections.extend(result.rejections)  # a message that could not be stored costs only itself
        summary.result.merge(result)

    def take(source: str, batch: ParsedBatch, file: ImportedFile | None = None) -> None:
        summary.rejections.extend(batch.rejections)
        if not batch.messages:
            return
        by_channel: dict[Channel, list[Message]] = {}
        for message in batch.messages:
            by_channel.setdefault(message.channel, []).append(message)
        for channel, messages in by_channel.items():
            if forced is not None and forced.channel is not channel and channel is not Channel.WEBFORM:
                summary.rejections.append(
                    Rejection(source, f"holds {channel.value} messages, not for account {forced.id}")
                )
                continue
            known = accounts.get((batch.account_hint, channel))
            account = known or accounts.setdefault(
                (batch.account_hint, channel), resolve_account(store, batch, forced, channel)
            )  # once per import, not once per file of a maildir (a query each)
            if channel is Channel.EMAIL:
                messages = file_form_mail(account.settings, messages)
            _account, queued, files = pending.setdefault(account.id, (account, [], []))
            queued.extend(messages)
            if file is not None and not batch.rejections and len(by_channel) == 1:
                files.append(ImportedFile(file.path, file.size, file.mtime_ns, len(messages)))
            if len(queued) >= TRANSACTION_MESSAGES:
                flush(account.id)

    def maildir_files(maildirs: list[Path]) -> Iterator[tuple[list[ImportedFile], datetime]]:
        scope = forced.id if forced is not None else f"{Channel.EMAIL.value}:import"
        for path in maildirs:
            found = import_stream.plan(path, store.known_imported_files(scope, path))
            summary.result.duplicates += found.skipped_messages  # all stored: as a re-read finds them
            yield found.to_parse, _file_time(path, now)

    def stream(maildirs: list[Path]) -> None:
        """Consecutive maildirs through one pool of parsers, each listed when its turn comes."""
        for parsed in import_stream.parsed_files(maildir_files(maildirs), workers):
            take(parsed.file.path, ParsedBatch(parsed.messages, parsed.rejections), parsed.file)
        maildirs.clear()

    maildirs: list[Path] = []
    for path in iter_inputs(paths):
        summary.files += 1
        if _streamed(path, forced):
            maildirs.append(path)
            continue
        stream(maildirs)
        try:
            batch = parse_path(path, now)
        except Exception as exc:  # a parser's bug costs this file only, never the files after it
            batch = ParsedBatch(rejections=(import_stream.parser_bug(path, exc),))
        take(str(path), batch)
    stream(maildirs)
    for account_id in list(pending):
        flush(account_id)
    return summary


def _streamed(path: Path, forced: Account | None) -> bool:
    """A maildir imported for the mailbox its messages belong to is streamed file by file."""
    if forced is not None and forced.channel is not Channel.EMAIL:
        return False  # rejected as a whole, as before
    return path.is_dir() and mail_sources.looks_like_mail(path)
