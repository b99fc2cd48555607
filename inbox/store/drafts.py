"""Drafts being written and the workspace's settings (key, value), kept between sessions."""

from __future__ import annotations

from datetime import datetime

from inbox.store.base import StoreBase
from inbox.store.database import Database, to_db_time


class SettingRepository(StoreBase):
    """The ``settings`` table (a part of :class:`inbox.store.repository.Store`)."""

    def setting(self, key: str, default: str = "") -> str:
        rows = self._rows("SELECT value FROM settings WHERE key = ?", [key])
        return rows[0]["value"] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value]))


class DraftRepository(StoreBase):
    """The ``drafts`` table: one unsent text a conversation (a part of :class:`inbox.store.repository.Store`)."""

    def save_draft(self, conversation_id: int, text: str, at: datetime) -> None:
        def write(db: Database) -> None:
            if text.strip():
                db.execute(
                    "INSERT OR REPLACE INTO drafts (conversation_id, text, updated_at) VALUES (?,?,?)",
                    [conversation_id, text, to_db_time(at)],
                )
            else:
                db.execute("DELETE FROM drafts WHERE conversation_id = ?", [conversation_id])

        self._write(write)

    def draft(self, conversation_id: int) -> str:
        rows = self._rows("SELECT text FROM drafts WHERE conversation_id = ?", [conversation_id])
        return rows[0]["text"] if rows else ""
