"""A reply's :class:`~inbox.models.Draft` as an ``outbox`` row, and back.

The draft itself is composed by the core (:func:`inbox.replies.outbox.compose_reply`), as in solo mode.
The row keeps ``message_id`` (the draft's ``local_id``: our Message-ID for email, looked up in
the Sent folder after a crash), ``body`` and ``html``, ``surface``, and everything else the
provider needs to send it in ``target``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from inbox.models import Author, Channel, Draft, IdentityKind, Surface

_KIND = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.WEBFORM: IdentityKind.EMAIL,
    Channel.TWITTER: IdentityKind.TWITTER,
    Channel.FACEBOOK: IdentityKind.FACEBOOK,
}


def draft_target(draft: Draft) -> dict[str, Any]:
    """The ``outbox.target`` JSON of a draft (what is not in a column of its own)."""
    recipient = draft.recipient
    return {
        "channel": draft.channel.value,
        "recipient": None
        if recipient is None
        else {"kind": recipient.kind.value, "key": recipient.key, "handle": recipient.handle,
              "display_name": recipient.display_name},
        "reply_to_id": draft.reply_to_id,
        "thread_key": draft.thread_key,
        "subject": draft.subject,
        "references": list(draft.references),
        "quoted_text": draft.quoted_text,
        "quoted_at": draft.quoted_at.isoformat() if draft.quoted_at else None,
        "cc": list(draft.cc),
    }  # fmt: skip


def draft_from_row(row: Mapping[str, Any]) -> Draft:
    """The draft an ``outbox`` row holds (columns: message_id, account_id, conversation_id,
    surface, body, html, target). A recipient without ``kind`` has its channel's kind."""
    target: Mapping[str, Any] = row.get("target") or {}
    account_id = str(row["account_id"])
    channel = Channel(target.get("channel") or account_id.partition(":")[0])
    raw = target.get("recipient")
    recipient = (
        None
        if not isinstance(raw, Mapping) or not raw.get("key")
        else Author(IdentityKind(raw.get("kind") or _KIND[channel]), str(raw["key"]), raw.get("handle") or "",
                    raw.get("display_name") or "")
    )  # fmt: skip
    return Draft(
        local_id=str(row["message_id"]),
        account_id=account_id,
        conversation_id=int(row["conversation_id"]),
        channel=channel,
        surface=Surface(row["surface"]),
        text=str(row["body"]),
        recipient=recipient,
        reply_to_id=target.get("reply_to_id"),
        thread_key=target.get("thread_key"),
        subject=target.get("subject"),
        references=tuple(target.get("references") or ()),
        quoted_text=target.get("quoted_text") or "",
        quoted_at=datetime.fromisoformat(target["quoted_at"]) if target.get("quoted_at") else None,
        html=row.get("html"),
        cc=tuple(target.get("cc") or ()),
    )
