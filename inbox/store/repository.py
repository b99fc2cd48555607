"""The repository: the one interface the rest of the app uses to read and change the store.

Everything it takes and gives is a core dataclass. :class:`Store` composes one part per concern,
each in its own module over :class:`inbox.store.base.StoreBase` (the connection, the lock that
serialises calls from the UI's worker threads and the sync service, ``_rows``/``_write``):
accounts (:mod:`~inbox.store.accounts`), the queue and a conversation's content
(:mod:`~inbox.store.queue_reads`), changes written with their events (:mod:`~inbox.store.changes`),
SLA inputs and cache (:mod:`~inbox.store.sla_cache`), search (:mod:`~inbox.store.search`), drafts
and settings (:mod:`~inbox.store.drafts`), the outbox (:mod:`~inbox.store.outbox_items`) and
customers (:mod:`~inbox.store.customers`). Storing fetched and imported messages stays here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from inbox.models import Account, Message, Rejection
from inbox.store import attachments, imported_files, outbox_store
from inbox.store import ingest as ingest_module
from inbox.store.accounts import AccountRepository
from inbox.store.changes import ConversationChanges
from inbox.store.customers import CustomerRepository
from inbox.store.database import Database, connect
from inbox.store.drafts import DraftRepository
from inbox.store.outbox_items import OutboxRepository
from inbox.store.search import SearchRepository
from inbox.store.sla_cache import SLA_EVENT_MARK, SlaCache, SlaCacheRow, SlaInput
from inbox.triage.rules import TRIAGE_ACTOR

__all__ = ["SLA_EVENT_MARK", "TRIAGE_ACTOR", "SlaCacheRow", "SlaInput", "Store"]


class Store(
    AccountRepository,
    ConversationChanges,
    SlaCache,
    DraftRepository,
    SearchRepository,
    OutboxRepository,
    CustomerRepository,
):
    """The local SQLite store (offline cache and, in single-agent mode, the source of truth)."""

    @classmethod
    def open(cls, path: Path | str) -> Store:
        return cls(connect(path), str(path))

    # -- ingest -------------------------------------------------------------------------------

    def ingest(
        self,
        account: Account,
        messages: Sequence[Message],
        *,
        cursor: str | None = None,
        files: Sequence[imported_files.ImportedFile] = (),
        now: datetime | None = None,
    ) -> ingest_module.IngestResult:
        """The one way messages are stored (import, demo, sync): a batch, the account's new cursor
        and the imported files it came from in one transaction; a message that cannot be stored
        is rolled back alone and listed in ``rejections``. The batch is stored in one piece first;
        only when a message fails is it stored again with each message in a savepoint of its own
        (``ingest.ingest``). A crash loses (and the next import or fetch takes again) exactly the
        batch in flight."""
        when = now or datetime.now(UTC)

        def write(db: Database, isolated: bool) -> ingest_module.IngestResult:
            result = ingest_module.ingest(
                db, account, messages, own_reply=outbox_store.own_reply(db, when), isolated=isolated
            )
            attachments.save_files(db, account.id, messages, self.files_dir)
            if files:
                imported_files.record(db, account.id, files)
            if cursor is not None:
                db.execute("UPDATE accounts SET cursor = ? WHERE id = ?", [cursor, account.id])
            return result

        try:
            return self._write(lambda db: write(db, False))
        except Exception as exc:  # rolled back: a broken message is found by storing one at a time
            if not ingest_module.is_message_fault(exc):
                raise
        return self._write(lambda db: write(db, True))

    def known_imported_files(self, account_id: str, root: Path) -> dict[str, imported_files.ImportedFile]:
        """Files under the folder ``root`` whose messages are stored for ``account_id``, by path."""
        with self._guard() as db:
            return imported_files.known(db, account_id, str(root))


    # -- a fetched page -------------------------------------------------------------------------

    def ingest_fetched(
        self, account: Account, messages: Sequence[Message], *, cursor: str | None, now: datetime
    ) -> tuple[ingest_module.IngestResult, list[Rejection]]:
        """``ingest`` in the shape of the sync port (``SyncStore``)."""
        result = self.ingest(account, messages, cursor=cursor, now=now)
        return result, result.rejections

