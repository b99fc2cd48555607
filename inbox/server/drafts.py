"""A reply's :class:`~inbox.models.Draft` as an ``outbox`` row, and back.

The draft itself is composed by the core (:func:`inbox.replies.compose.compose_reply`), as in solo mode.
The row keeps ``message_id`` (the draft's ``local_id``: our Message-ID for email, looked up in
the Sent folder after a crash), ``body`` and ``html``, ``surface``, and everything else the
provider needs to send it in ``target``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbox.models import Draft
from inbox.replies.outbox_rows import draft_fields, draft_from_fields

#: The fields of a draft kept in ``outbox.target`` (the others have columns of their own).
_TARGET_FIELDS = (
    "channel", "recipient", "reply_to_id", "thread_key", "subject", "references", "quoted_text", "quoted_at", "cc",
)  # fmt: skip


def draft_target(draft: Draft) -> dict[str, Any]:
    """The ``outbox.target`` JSON of a draft (what is not in a column of its own)."""
    fields = draft_fields(draft)
    return {name: fields[name] for name in _TARGET_FIELDS}


def draft_from_row(row: Mapping[str, Any]) -> Draft:
    """The draft an ``outbox`` row holds (columns: message_id, account_id, conversation_id,
    surface, body, html, target). A recipient without ``kind`` has its channel's kind."""
    target: Mapping[str, Any] = row.get("target") or {}
    return draft_from_fields(
        {
            **target,
            "local_id": row["message_id"],
            "account_id": row["account_id"],
            "conversation_id": row["conversation_id"],
            "surface": row["surface"],
            "text": row["body"],
            "html": row.get("html"),
        }
    )
