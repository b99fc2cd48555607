"""An outbox item as a row of fields, and back: the one mapping both stores use.

The solo store keeps a draft as one JSON text (:mod:`inbox.store.outbox_store`); the team server
keeps some fields in columns and the rest in a ``target`` JSON (:mod:`inbox.server.drafts`). Each
adapter gathers its row into the flat fields of :func:`draft_fields` and reads them back with
:func:`draft_from_fields`; :func:`outbox_item_from_row` builds the :class:`OutboxItem` of a row.
Plain data in, plain data out: no database here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from inbox.models import Author, Channel, Draft, IdentityKind, OutboxItem, OutboxState, Surface

#: The identity kind of a recipient whose fields do not name one: its channel's.
RECIPIENT_KIND = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.WEBFORM: IdentityKind.EMAIL,
    Channel.TWITTER: IdentityKind.TWITTER,
    Channel.FACEBOOK: IdentityKind.FACEBOOK,
}


def draft_fields(draft: Draft) -> dict[str, Any]:
    """A draft as JSON-ready fields (the instant of the quote as ISO text)."""
    recipient = draft.recipient
    return {
        "local_id": draft.local_id,
        "account_id": draft.account_id,
        "conversation_id": draft.conversation_id,
        "channel": draft.channel.value,
        "surface": draft.surface.value,
        "text": draft.text,
        "recipient": None
        if recipient is None
        else {
            "kind": recipient.kind.value,
            "key": recipient.key,
            "handle": recipient.handle,
            "display_name": recipient.display_name,
        },
        "reply_to_id": draft.reply_to_id,
        "thread_key": draft.thread_key,
        "subject": draft.subject,
        "references": list(draft.references),
        "quoted_text": draft.quoted_text,
        "html": draft.html,
        "cc": list(draft.cc),
        "quoted_at": draft.quoted_at.isoformat() if draft.quoted_at else None,
    }


def draft_from_fields(data: Mapping[str, Any]) -> Draft:
    """The draft of :func:`draft_fields`' fields. A missing ``channel`` is the account's (the
    part of its id before ``:``); a recipient without a key is none, one without ``kind`` has
    its channel's kind."""
    account_id = str(data["account_id"])
    channel = Channel(data.get("channel") or account_id.partition(":")[0])
    raw = data.get("recipient")
    recipient = (
        None
        if not isinstance(raw, Mapping) or not raw.get("key")
        else Author(
            IdentityKind(raw.get("kind") or RECIPIENT_KIND[channel]),
            str(raw["key"]),
            raw.get("handle") or "",
            raw.get("display_name") or "",
        )
    )
    return Draft(
        local_id=str(data["local_id"]),
        account_id=account_id,
        conversation_id=int(data["conversation_id"]),
        channel=channel,
        surface=Surface(data["surface"]),
        text=str(data["text"]),
        recipient=recipient,
        reply_to_id=data.get("reply_to_id"),
        thread_key=data.get("thread_key"),
        subject=data.get("subject"),
        references=tuple(data.get("references") or ()),
        quoted_text=data.get("quoted_text") or "",
        quoted_at=datetime.fromisoformat(data["quoted_at"]) if data.get("quoted_at") else None,
        html=data.get("html"),
        cc=tuple(data.get("cc") or ()),
    )


def outbox_item_from_row(
    row: Mapping[str, Any],
    draft: Draft,
    *,
    read_state: Callable[[str], OutboxState] = OutboxState,
    read_time: Callable[[Any], datetime],
) -> OutboxItem:
    """The outbox item of a row (columns state, attempts, last_error, provider_id, created_at,
    updated_at) holding ``draft``; ``read_state`` and ``read_time`` read the store's state names
    and instants."""
    return OutboxItem(
        draft=draft,
        state=read_state(row["state"]),
        attempts=int(row["attempts"]),
        last_error=row["last_error"] or "",
        provider_id=row["provider_id"],
        created_at=read_time(row["created_at"]),
        updated_at=read_time(row["updated_at"]),
    )
