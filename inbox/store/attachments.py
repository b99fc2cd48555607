"""Attachment files: kept beside the store, content-addressed, with a size limit, so an agent
can open them later (offline too). Only files the parser handed over are saved; a larger one
stays metadata ("too large to keep") and nothing is ever rendered from here."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from inbox.conversations.arrival import content_hash
from inbox.models import AttachmentFile, Message
from inbox.store.database import Database

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


def save_files(db: Database, account_id: str, messages: Sequence[Message], files_dir: Path | None) -> int:
    """Write the attachments of just-stored messages (inside the caller's transaction for the
    rows; the files are content-addressed, so a rolled-back batch leaves only harmless copies)."""
    if files_dir is None:
        return 0
    saved = 0
    for message in messages:
        parts = [a for a in message.attachments if a.data is not None and len(a.data) <= MAX_ATTACHMENT_BYTES]
        if not parts:
            continue
        row = db.conn.execute(
            """SELECT id FROM messages WHERE account_id = ? AND content_hash = ?
               AND (provider_id = ? OR provider_id LIKE ?) ORDER BY id DESC LIMIT 1""",
            [account_id, content_hash(message), message.provider_id, message.provider_id + "#%"],
        ).fetchone()
        if row is None:
            continue
        message_id = int(row[0])
        if db.conn.execute("SELECT 1 FROM attachment_files WHERE message_id = ?", [message_id]).fetchone():
            continue
        for part in parts:
            assert part.data is not None
            digest = hashlib.sha256(part.data).hexdigest()
            relative = Path(digest[:2]) / digest
            target = files_dir / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_suffix(".part")
                fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(part.data)
                os.replace(temporary, target)
            db.conn.execute(
                "INSERT INTO attachment_files (message_id, filename, content_type, size, path) VALUES (?,?,?,?,?)",
                [message_id, part.filename, part.content_type, len(part.data), str(relative)],
            )
            saved += 1
    return saved


def files_of(rows: Sequence[dict[str, object]], files_dir: Path) -> list[AttachmentFile]:
    return [
        AttachmentFile(int(str(r["id"])), int(str(r["message_id"])), str(r["filename"]), str(r["content_type"]),
                       int(str(r["size"])), files_dir / str(r["path"]))
        for r in rows
    ]
