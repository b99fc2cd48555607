"""The core sync service's store, on PostgreSQL, for one channel account under one lease.

:class:`AccountStore` implements :class:`inbox.sync.service.SyncStore` (and so
:class:`inbox.replies.outbox.OutboxStore`), so the server runs the very sync and outbox logic of the solo
app (:class:`inbox.sync.service.SyncService`, :class:`inbox.replies.outbox.Outbox`: backoff, account states,
"log once when down", queued -> sending -> sent | failed | may have been sent, the delivery check
after a crash, replies in order per conversation). The service calls these methods from worker
threads (``asyncio.to_thread``), hence the blocking psycopg pool.

Every write checks the account's lease in its own transaction (:func:`inbox.server.leases.guard`):
the page with its cursor, an account state, an outbox transition. A refused write raises
:class:`~inbox.server.leases.LeaseLost` and sets :attr:`AccountStore.lost`, which stops the
account's worker. The ``sending`` transition claims the row with ``FOR UPDATE SKIP LOCKED`` and
records the lease epoch, and is committed before the network call. The core's "uncertain" state is
the schema's ``unknown``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from inbox.conversations import arrival, routing
from inbox.errors import InputError, TransientError
from inbox.models import (
    Account,
    Channel,
    Conversation,
    Direction,
    Draft,
    Message,
    OutboxItem,
    OutboxState,
    Priority,
    Rejection,
    Status,
    StoredMessage,
    Surface,
)
from inbox.replies.outbox_rows import outbox_item_from_row
from inbox.server import ingest
from inbox.server.drafts import draft_from_row, draft_target
from inbox.server.leases import Lease, LeaseLost, guard

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[DictRow]]

#: The core's state names and the schema's, where they differ.
_TO_ROW = {OutboxState.UNCERTAIN: "unknown"}
_FROM_ROW = {"unknown": OutboxState.UNCERTAIN}

#: What one broken message raises inside ingest; anything else is the database's (rolls all back).
_MESSAGE_FAULTS = (psycopg.errors.DataError, psycopg.errors.IntegrityError, ValueError, TypeError, KeyError)


def row_state(state: OutboxState) -> str:
    return _TO_ROW.get(state, state.value)


def item_state(value: str) -> OutboxState:
    return _FROM_ROW.get(value) or OutboxState(value)


def account_from_row(row: dict[str, Any]) -> Account:
    settings = {str(k): str(v) for k, v in (row.get("settings") or {}).items()}
    return Account(
        id=row["id"],
        channel=Channel(row["channel"]),
        name=row["name"],
        own_keys=frozenset(str(k) for k in (row.get("own_keys") or [])),
        settings=settings,
    )


def load_account(conn: psycopg.Connection[DictRow], account_id: str) -> Account | None:
    row = conn.execute(
        "SELECT id, channel, name, own_keys, settings FROM accounts WHERE id = %s", [account_id]
    ).fetchone()
    return None if row is None else account_from_row(row)


def _item(row: dict[str, Any]) -> OutboxItem:
    return outbox_item_from_row(row, draft_from_row(row), read_state=item_state, read_time=_instant)


def _instant(value: datetime) -> datetime:
    return value  # psycopg gives timestamptz columns as aware datetimes


class AccountStore:
    """The store of one account's sync service, bound to this process's lease on it."""

    def __init__(self, pool: Pool, lease: Lease, *, actor: str = "system") -> None:
        self._pool = pool
        self.lease = lease
        self.actor = actor
        self.lost = False
        self.refused = 0  # writes refused by the lease guard (for logs and tests)

    @property
    def account_id(self) -> str:
        return self.lease.name

    def _guard(self, conn: psycopg.Connection[DictRow]) -> None:
        try:
            guard(conn, self.lease)
        except LeaseLost:
            self.lost = True
            self.refused += 1
            log.warning("account %s: lease epoch %d lost, write refused", self.account_id, self.lease.epoch)
            raise

    def _changed(self, conn: psycopg.Connection[DictRow], kind: str, conversation_id: int | None,
                 **payload: Any) -> int:  # fmt: skip
        seq = ingest.record_change(
            conn, kind, account_id=self.account_id, conversation_id=conversation_id, actor=self.actor,
            message_ids=payload.pop("message_ids", ()), payload={**payload, "lease_epoch": self.lease.epoch},
        )  # fmt: skip
        ingest.notify_changes(conn, [seq], self.account_id)
        return seq

    # -- SyncStore --------------------------------------------------------------------------

    def cursor(self, account_id: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT cursor FROM accounts WHERE id = %s", [account_id]).fetchone()
        return None if row is None else row["cursor"]

    def set_account_state(self, account_id: str, state: str, reason: str = "") -> None:
        with self._pool.connection() as conn, conn.transaction():
            self._guard(conn)
            # "syncing" between two up-to-date passes is not news: every poll would write and
            # push a change. Only a real change of state is recorded (and pushed).
            row = conn.execute(
                """UPDATE accounts SET state = %s, state_reason = %s WHERE id = %s
                     AND (state, state_reason) IS DISTINCT FROM (%s, %s)
                     AND NOT (%s = 'syncing' AND state = 'up_to_date') RETURNING id""",
                [state, reason, account_id, state, reason, state],
            ).fetchone()
            if row is not None:
                self._changed(conn, "account", None, state=state, reason=reason)

    def add_rejections(self, account_id: str, count: int, last: str) -> None:
        """Count rejected items on the account (the sync service reports each once)."""
        if count <= 0:
            return
        with self._pool.connection() as conn, conn.transaction():
            self._guard(conn)
            conn.execute(
                "UPDATE accounts SET rejected = rejected + %s, last_rejection = %s WHERE id = %s",
                [count, last, account_id],
            )
            self._changed(conn, "account", None, rejected=count, reason=last)

    def ingest_fetched(
        self, account: Account, messages: Sequence[Message], *, cursor: str | None, now: datetime
    ) -> tuple[ingest.IngestResult, list[Rejection]]:
        """The page and the new cursor in one transaction, under the lease guard. A message that
        cannot be stored is rolled back alone (savepoint) and reported."""
        result = ingest.IngestResult(stamp={"lease_epoch": self.lease.epoch})
        rejections: list[Rejection] = []
        try:
            with self._pool.connection() as conn, conn.transaction():
                self._guard(conn)
                ingest.lock_identities(conn, account, messages)
                self._ingest(conn, account, messages, cursor, now, result, rejections)
        except (psycopg.errors.TransactionRollback, psycopg.OperationalError) as exc:
            # A deadlock with another account's page, or the database went away: nothing of
            # the page was kept; the sync service retries it with its backoff.
            raise TransientError(f"the database refused the page for now ({type(exc).__name__})") from None
        return result, rejections

    def _ingest(self, conn: psycopg.Connection[DictRow], account: Account, messages: Sequence[Message],
                cursor: str | None, now: datetime, result: ingest.IngestResult,
                rejections: list[Rejection]) -> None:  # fmt: skip
        for message in messages:
            if self._our_reply(conn, account.id, message.provider_id, now, result):
                result.duplicates += 1
                continue
            try:
                with conn.transaction():
                    ingest.ingest_message(conn, account, message, result, self.actor)
            except _MESSAGE_FAULTS as exc:
                where = f"{account.id} message {message.provider_id[:80]}"
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                rejections.append(Rejection(where, f"not stored ({reason})"))
        if cursor is not None:
            conn.execute("UPDATE accounts SET cursor = %s WHERE id = %s", [cursor, account.id])
        ingest.notify_changes(conn, result.seqs, self.account_id)

    def _our_reply(self, conn: psycopg.Connection[DictRow], account_id: str, provider_id: str, now: datetime,
                   result: ingest.IngestResult) -> bool:  # fmt: skip
        """A fetched copy of one of our replies (Sent folder, our own tweet): a duplicate, and
        proof that a reply whose send was in doubt went out."""
        row = conn.execute(
            """SELECT m.outbox_id, o.state, o.message_id FROM messages m JOIN outbox o ON o.id = m.outbox_id
               WHERE m.account_id = %s AND m.provider_id IN (%s, '<' || %s || '>')""",
            [account_id, provider_id, provider_id],
        ).fetchone()
        if row is None:
            return False
        if row["state"] in ("sending", "unknown"):
            log.info("reply %s found on the channel: it was sent", row["outbox_id"])
            self._mark_sent(conn, row["message_id"], provider_id, now)
        return True

    # -- OutboxStore: reads -----------------------------------------------------------------

    def conversation(self, conversation_id: int) -> Conversation:
        with self._pool.connection() as conn:
            row = conn.execute(
                """SELECT c.*, coalesce(cu.display_name, '') AS customer_name,
                          coalesce((SELECT array_agg(tag ORDER BY tag) FROM conversation_tags t
                                    WHERE t.conversation_id = c.id), '{}') AS tags
                   FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.id = %s""",
                [conversation_id],
            ).fetchone()
        if row is None:
            raise InputError("conversation", f"no conversation with id {conversation_id}")
        return Conversation(
            id=int(row["id"]), channel=Channel(row["channel"]), account_id=row["account_id"], subject=row["subject"],
            status=Status(row["status"]), priority=Priority(row["priority"]), customer_id=row["customer_id"],
            created_at=row["created_at"], last_message_at=row["last_message_at"],
            message_count=int(row["message_count"]), assignee=row["assignee"], tags=tuple(row["tags"]),
            surface=Surface(row["surface"]) if row["surface"] else None, customer_name=row["customer_name"],
            preview=row["preview"], sla_due_at=row["sla_due_at"], sla_state=row["sla_state"],
        )  # fmt: skip

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                """SELECT m.*, o.state AS outbox_state, o.last_error AS outbox_error FROM messages m
                   LEFT JOIN outbox o ON o.id = m.outbox_id WHERE m.conversation_id = %s ORDER BY m.sent_at, m.id""",
                [conversation_id],
            ).fetchall()
        return [
            StoredMessage(
                id=int(r["id"]), conversation_id=int(r["conversation_id"]), account_id=r["account_id"],
                provider_id=r["provider_id"], channel=Channel(r["channel"]), surface=Surface(r["surface"]),
                direction=Direction(r["direction"]), author_key=r["author_key"], author_name=r["author_name"],
                author_handle=r["author_handle"], subject=r["subject"], text=r["text"], html=r["html"],
                sent_at=r["sent_at"], automated=bool(r["automated"]), private=bool(r["private"]),
                reply_to_id=r["reply_to_id"], references=tuple(r["refs"] or ()), thread_key=r["thread_key"],
                meta={str(k): str(v) for k, v in (r["meta"] or {}).items()},
                outbox_state=item_state(r["outbox_state"]) if r["outbox_state"] else None,
                outbox_error=r["outbox_error"] or "",
            )
            for r in rows
        ]  # fmt: skip

    def accounts(self, include_removed: bool = False) -> list[Account]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT id, channel, name, own_keys, settings FROM accounts ORDER BY id").fetchall()
        return [account_from_row(r) for r in rows]

    def outbox_items(self) -> list[OutboxItem]:
        """This account's replies waiting to go (queued, or left in sending), oldest first."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                """SELECT * FROM outbox WHERE account_id = %s AND state IN ('queued', 'sending')
                   ORDER BY id""",
                [self.account_id],
            ).fetchall()
        return [_item(r) for r in rows]

    def outbox_item(self, item_id: str) -> OutboxItem | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT * FROM outbox WHERE message_id = %s", [item_id]).fetchone()
        return None if row is None else _item(row)

    # -- OutboxStore: writes ----------------------------------------------------------------

    def set_outbox_state(
        self,
        item_id: str,
        state: OutboxState,
        now: datetime,
        *,
        error: str = "",
        attempts: int | None = None,
    ) -> None:
        """Move an item; ``sending`` claims it (``FOR UPDATE SKIP LOCKED``) with the lease epoch,
        committed before the caller's network call. Raises LeaseLost, or InputError when another
        transaction holds the row or it is no longer waiting to be sent."""
        with self._pool.connection() as conn, conn.transaction():
            self._guard(conn)
            row = conn.execute(
                """SELECT id, conversation_id, state FROM outbox WHERE message_id = %s AND account_id = %s
                   FOR UPDATE SKIP LOCKED""",
                [item_id, self.account_id],
            ).fetchone()
            if row is None:
                raise InputError("outbox id", f"{item_id} is busy in another transaction or gone")
            if state is OutboxState.SENDING and row["state"] not in ("queued", "sending"):
                raise InputError("outbox id", f"{item_id} is {row['state']}; not sending it")
            conn.execute(
                """UPDATE outbox SET state = %s, last_error = %s, attempts = coalesce(%s, attempts),
                       lease_epoch = CASE WHEN %s = 'sending' THEN %s ELSE lease_epoch END, updated_at = now()
                   WHERE id = %s""",
                [row_state(state), error, attempts, row_state(state), self.lease.epoch, row["id"]],
            )
            self._changed(conn, "outbox", int(row["conversation_id"]), outbox_id=int(row["id"]),
                          state=row_state(state))  # fmt: skip

    def mark_outbox_sent(self, item_id: str, provider_id: str, now: datetime) -> None:
        with self._pool.connection() as conn, conn.transaction():
            self._guard(conn)
            self._mark_sent(conn, item_id, provider_id, now)

    def _mark_sent(self, conn: psycopg.Connection[DictRow], item_id: str, provider_id: str, now: datetime) -> None:
        """The reply went out as ``provider_id``: the outbox row, its message in the conversation
        (created if the queueing code did not) and its thread keys, with the change, at once."""
        row = conn.execute("SELECT * FROM outbox WHERE message_id = %s FOR UPDATE", [item_id]).fetchone()
        if row is None:
            raise InputError("outbox id", f"no outbox item {item_id}")
        conn.execute(
            """UPDATE outbox SET state = 'sent', provider_id = %s, last_error = '', updated_at = now()
               WHERE id = %s""",
            [provider_id, row["id"]],
        )
        draft = draft_from_row(row)
        message = conn.execute("SELECT id, provider_id FROM messages WHERE outbox_id = %s", [row["id"]]).fetchone()
        conversation_id = int(row["conversation_id"])
        conn.execute("SELECT id FROM conversations WHERE id = %s FOR UPDATE", [conversation_id])
        if message is None:
            message_id = self._insert_reply(conn, draft, int(row["id"]), row["created_by"], provider_id, now)
        else:
            message_id = int(message["id"])
            if message["provider_id"] != provider_id:
                # Our own message may have come back from a fetch before the send was recorded.
                conn.execute(
                    """DELETE FROM messages WHERE account_id = %s AND provider_id = %s AND id <> %s
                         AND outbox_id IS NULL""",
                    [row["account_id"], provider_id, message_id],
                )
                conn.execute("UPDATE messages SET provider_id = %s WHERE id = %s", [provider_id, message_id])
        if draft.channel is Channel.EMAIL or draft.surface is Surface.EMAIL:
            conn.execute(
                "INSERT INTO thread_keys (key, conversation_id) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                [routing.message_id_key(provider_id), conversation_id],
            )
        self._changed(conn, "outbox", conversation_id, outbox_id=int(row["id"]), state="sent",
                      message_ids=[message_id])  # fmt: skip

    def _insert_reply(self, conn: psycopg.Connection[DictRow], draft: Draft, outbox_id: int, agent: str,
                      provider_id: str, now: datetime) -> int:  # fmt: skip
        """The sent reply as an outbound message of its conversation, with its event."""
        from dataclasses import replace

        from inbox.replies.compose import outbound_message

        account = load_account(conn, draft.account_id)
        if account is None:
            raise InputError("outbox", f"account {draft.account_id} is gone")
        message = replace(outbound_message(draft, account, now), provider_id=provider_id)
        return insert_outbound(conn, draft.account_id, draft.conversation_id, message, agent, outbox_id, "sent")

    def queue_reply(self, draft: Draft, message: Message, now: datetime) -> None:
        """Commit a reply (queued) with its outbound message row, as the solo store does.
        Not under the lease: any process (an agent's intent) may queue."""
        with self._pool.connection() as conn, conn.transaction():
            queue_reply(conn, draft, message, self.actor)

    def add_note(self, account_id: str, conversation_id: int, message: Message) -> int:
        """A private note in its conversation (an agent's intent; not under the lease)."""
        with self._pool.connection() as conn, conn.transaction():
            return insert_outbound(conn, account_id, conversation_id, message, message.author.key, None)

    def drop_outbox_item(self, item_id: str) -> None:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT * FROM outbox WHERE message_id = %s FOR UPDATE", [item_id]).fetchone()
            if row is None:
                raise InputError("outbox id", f"no outbox item {item_id}")
            if row["state"] in ("sent", "sending"):
                raise InputError("outbox id", f"{item_id} is {row['state']}; it cannot be dropped")
            conn.execute("DELETE FROM messages WHERE outbox_id = %s", [row["id"]])
            conn.execute("DELETE FROM outbox WHERE id = %s", [row["id"]])
            self._changed(conn, "outbox", int(row["conversation_id"]), outbox_id=int(row["id"]), state="dropped")


def queue_reply(conn: psycopg.Connection[DictRow], draft: Draft, message: Message, agent: str,
                idempotency_key: str | None = None) -> int:  # fmt: skip
    """Insert a queued reply and its outbound message (provider id = the draft's local id) in
    the caller's transaction, with the change; returns the outbox id. NOTIFY inbox_outbox with
    the account id wakes the process that holds the account's lease."""
    row = conn.execute(
        """INSERT INTO outbox (conversation_id, account_id, idempotency_key, message_id, body, html, surface,
               target, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        [draft.conversation_id, draft.account_id, idempotency_key or draft.local_id, draft.local_id, draft.text,
         draft.html, draft.surface.value, Jsonb(draft_target(draft)), agent],
    ).fetchone()  # fmt: skip
    assert row is not None
    outbox_id = int(row["id"])
    insert_outbound(conn, draft.account_id, draft.conversation_id, message, agent, outbox_id)
    conn.execute("SELECT pg_notify('inbox_outbox', %s)", [draft.account_id])
    return outbox_id


def insert_outbound(conn: psycopg.Connection[DictRow], account_id: str, conversation_id: int, message: Message,
                    agent: str, outbox_id: int | None, state: str = "queued") -> int:  # fmt: skip
    """An outbound message (a reply, or a private note) into a given conversation, locked first,
    with its thread keys, counts, events and change, in the caller's transaction; returns its id."""
    if conn.execute("SELECT id FROM conversations WHERE id = %s FOR UPDATE", [conversation_id]).fetchone() is None:
        raise InputError("conversation", f"no conversation with id {conversation_id}")
    author = message.author
    created = conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction,
               author_key, author_name, author_handle, author_agent, subject, text, html, sent_at, reply_to_id,
               refs, recipients, private, content_hash, thread_key, outbox_id)
           VALUES (%s,%s,%s,%s,%s,'out',%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id""",
        [account_id, message.provider_id, conversation_id, message.channel.value, message.surface.value,
         author.key, author.display_name or author.handle or author.key, author.handle, agent, message.subject,
         message.text, message.html, message.sent_at, message.reply_to_id, Jsonb(list(message.references)),
         Jsonb([ingest.author_json(a) for a in message.recipients]), message.private, arrival.content_hash(message),
         message.thread_key, outbox_id],
    ).fetchone()  # fmt: skip
    assert created is not None
    message_id = int(created["id"])
    if not message.private:
        for key in routing.thread_keys(account_id, message):
            conn.execute(
                "INSERT INTO thread_keys (key, conversation_id) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                [key, conversation_id],
            )
    status = conn.execute(
        """UPDATE conversations SET message_count = message_count + 1,
               last_message_at = greatest(last_message_at, %s), last_message_id = greatest(last_message_id, %s),
               preview = %s, updated_at = now()
           WHERE id = %s RETURNING status""",
        [message.sent_at, message_id, ingest.first_line(message.text, 160), conversation_id],
    ).fetchone()
    assert status is not None
    ingest.record_events(conn, conversation_id, message, Direction.OUTBOUND, str(status["status"]))
    payload = {} if outbox_id is None else {"outbox_id": outbox_id, "state": state}
    seq = ingest.record_change(conn, "message" if outbox_id is None else "outbox", account_id=account_id,
                               conversation_id=conversation_id, actor=agent, message_ids=[message_id],
                               payload=payload)  # fmt: skip
    ingest.notify_changes(conn, [seq])
    return message_id
