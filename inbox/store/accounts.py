"""Channel accounts in the store: their settings, state, rejection counts and fetch cursor."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from inbox.models import Account, Channel
from inbox.store.base import StoreBase
from inbox.store.database import Database, to_db_time


class AccountRepository(StoreBase):
    """The ``accounts`` table (a part of :class:`inbox.store.repository.Store`)."""

    def save_account(self, account: Account) -> None:
        def write(db: Database) -> None:
            db.execute(
                """INSERT INTO accounts (id, channel, name, own_keys, settings, created_at)
                   VALUES (?,?,?,?,?,?)
                   ON CONFLICT(id) DO UPDATE SET name = excluded.name, own_keys = excluded.own_keys,
                     settings = excluded.settings""",
                [
                    account.id,
                    account.channel.value,
                    account.name,
                    json.dumps(sorted(account.own_keys)),
                    json.dumps(dict(account.settings)),
                    to_db_time(datetime.now(UTC)),
                ],
            )

        self._write(write)

    def remove_account(self, account_id: str, *, wipe: bool = False) -> None:
        """Forget an account; with ``wipe`` its conversations and messages go too."""

        def write(db: Database) -> None:
            if wipe:
                ids = [r[0] for r in db.execute("SELECT id FROM conversations WHERE account_id = ?", [account_id])]
                for cid in ids:
                    db.execute("DELETE FROM messages WHERE conversation_id = ?", [cid])
                    db.execute("DELETE FROM outbox WHERE conversation_id = ?", [cid])
                    db.execute("DELETE FROM conversations WHERE id = ?", [cid])
                db.execute("DELETE FROM messages WHERE account_id = ?", [account_id])
                db.execute("DELETE FROM accounts WHERE id = ?", [account_id])
            else:
                db.execute("UPDATE accounts SET state = 'removed' WHERE id = ?", [account_id])

        self._write(write)

    def accounts(self, include_removed: bool = False) -> list[Account]:
        rows = self._rows("SELECT * FROM accounts ORDER BY id")
        return [_account(r) for r in rows if include_removed or r["state"] != "removed"]

    def account(self, account_id: str) -> Account | None:
        rows = self._rows("SELECT * FROM accounts WHERE id = ?", [account_id])
        return _account(rows[0]) if rows else None

    def account_conversation_count(self, account_id: str) -> int:
        """How many conversations the account has in the store (what a wipe would delete)."""
        rows = self._rows("SELECT COUNT(*) AS n FROM conversations WHERE account_id = ?", [account_id])
        return int(rows[0]["n"])

    def account_state(self, account_id: str) -> tuple[str, str]:
        rows = self._rows("SELECT state, state_reason FROM accounts WHERE id = ?", [account_id])
        return (rows[0]["state"], rows[0]["state_reason"]) if rows else ("unknown", "")

    def set_account_state(self, account_id: str, state: str, reason: str = "") -> None:
        self._write(
            lambda db: db.execute(
                "UPDATE accounts SET state = ?, state_reason = ? WHERE id = ?", [state, reason, account_id]
            )
        )

    def add_rejections(self, account_id: str, count: int, last: str) -> None:
        """Count ``count`` more rejected items on the account; ``last`` is the latest reason."""
        self._write(
            lambda db: db.execute(
                "UPDATE accounts SET rejected = rejected + ?, last_rejection = ? WHERE id = ?",
                [count, last, account_id],
            )
        )

    def account_rejections(self, account_id: str) -> tuple[int, str]:
        """How many items the account's fetches rejected so far, and the last reason."""
        rows = self._rows("SELECT rejected, last_rejection FROM accounts WHERE id = ?", [account_id])
        return (int(rows[0]["rejected"]), rows[0]["last_rejection"]) if rows else (0, "")

    def cursor(self, account_id: str) -> str | None:
        rows = self._rows("SELECT cursor FROM accounts WHERE id = ?", [account_id])
        return rows[0]["cursor"] if rows else None

    def ensure_account(self, account_id: str, channel: Channel, name: str | None = None) -> Account:
        existing = self.account(account_id)
        if existing is not None:
            return existing
        account = Account(id=account_id, channel=channel, name=name or account_id)
        self.save_account(account)
        return account


def _account(r: sqlite3.Row) -> Account:
    return Account(
        id=r["id"],
        channel=Channel(r["channel"]),
        name=r["name"],
        own_keys=frozenset(json.loads(r["own_keys"])),
        settings=json.loads(r["settings"]),
    )
