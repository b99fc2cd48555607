"""How a reply is composed for its channel and surface (pure): from a conversation and its
messages, the :class:`Draft` for the surface the customer used (email headers and quote, a web
form answered by email, a public reply or a DM on X, Messenger, a comment), the outbound message
a draft becomes, and an internal note."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from inbox.conversations import routing
from inbox.errors import InputError
from inbox.models import (
    Account,
    Author,
    Channel,
    Conversation,
    Direction,
    Draft,
    IdentityKind,
    Message,
    StoredMessage,
    Surface,
)
from inbox.replies.outbox_rows import RECIPIENT_KIND
from inbox.replies.subject import reply_subject

_KIND = RECIPIENT_KIND
_DEDUP_SUFFIX = re.compile(r"#[0-9a-f]{12}$")  # the store's suffix for a reused Message-ID


def account_key(account: Account) -> str:
    """Our own key on the account's channel: the mailbox address, X user id or Page id."""
    for name in ("address", "email", "user_id", "page_id"):
        value = account.settings.get(name, "").strip()
        if value:
            return value.lower() if "@" in value else value
    _channel, _sep, own = account.id.partition(":")
    if own:
        return own.lower() if "@" in own else own
    return min(account.own_keys) if account.own_keys else account.id


def our_author(account: Account) -> Author:
    key = account_key(account)
    return Author(_KIND[account.channel], key, handle=key, display_name=account.name)


def new_local_id(account: Account, uid: str | None = None) -> str:
    """Our id for a reply: ``inbox.<uuid4>@<mailbox domain>`` for email (its Message-ID)."""
    uid = uid or uuid.uuid4().hex
    if account.channel is Channel.EMAIL:
        domain = account_key(account).rpartition("@")[2] or "inbox.invalid"
        return f"inbox.{uid}@{domain}"
    return f"inbox.{uid}"


def _last_inbound(messages: Sequence[StoredMessage]) -> StoredMessage:
    inbound = [
        m
        for m in messages
        if m.direction is Direction.INBOUND and not m.private and m.surface is not Surface.NOTE
    ]
    human = [m for m in inbound if not m.automated] or inbound
    if not human:
        raise InputError("conversation", "it has no customer message to answer")
    return max(human, key=lambda m: (m.sent_at, m.id))


def _message_id(provider_id: str) -> str | None:
    """The RFC 5322 Message-ID a stored email carries, if it had one."""
    if provider_id.startswith(("sha256:", "form:")) or "@" not in provider_id:
        return None
    return _DEDUP_SUFFIX.sub("", provider_id)


def _email_draft(
    conversation: Conversation, last: StoredMessage, sender: Account, text: str, local_id: str
) -> Draft:
    address = (last.meta.get("reply_to") or last.author_key).strip()
    if "@" not in address:
        raise InputError("reply", f"the customer left no email address (from: {address or '?'})")
    recipient = Author(IdentityKind.EMAIL, address.lower(), address, last.author_name)
    own = _message_id(last.provider_id) if last.channel is Channel.EMAIL else None
    references = tuple(dict.fromkeys((*last.references, *((own,) if own else ()))))
    return Draft(
        local_id=local_id,
        account_id=sender.id,
        conversation_id=conversation.id,
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        text=text,
        recipient=recipient,
        reply_to_id=own,
        subject=reply_subject(last.subject or conversation.subject),
        references=references,
        quoted_text=last.text,
        quoted_at=last.sent_at,
    )


def _form_sender(conversation: Conversation, accounts: Sequence[Account]) -> Account:
    mailboxes = [a for a in accounts if a.channel is Channel.EMAIL]
    form = next((a for a in accounts if a.id == conversation.account_id), None)
    wanted = form.settings.get("reply_account", "") if form is not None else ""
    chosen = next((a for a in mailboxes if a.id == wanted), None) or (
        mailboxes[0] if mailboxes else None
    )
    if chosen is None:
        raise InputError("reply", "web forms are answered by email: add an email account first")
    return chosen


def compose_reply(
    conversation: Conversation,
    messages: Sequence[StoredMessage],
    accounts: Sequence[Account],
    text: str,
    *,
    dm: bool = False,
    uid: str | None = None,
) -> Draft:
    """The reply to ``conversation`` on the surface its customer used (``dm``: move a public X
    post to DM, or answer a Facebook comment privately in Messenger)."""
    if not text.strip():
        raise InputError("reply", "the reply is empty")
    last = _last_inbound(messages)
    own = next((a for a in accounts if a.id == conversation.account_id), None)
    if conversation.channel is Channel.WEBFORM:
        if dm:
            raise InputError("--dm", "web forms are answered by email")
        sender = _form_sender(conversation, accounts)
        draft = _email_draft(conversation, last, sender, text, new_local_id(sender, uid))
        return replace(draft, channel=Channel.WEBFORM)
    if own is None:
        raise InputError("reply", f"account {conversation.account_id} is not configured")
    local_id = new_local_id(own, uid)
    if conversation.channel is Channel.EMAIL:
        if dm:
            raise InputError("--dm", "email conversations are private already")
        return _email_draft(conversation, last, own, text, local_id)
    customer = Author(_KIND[own.channel], last.author_key, last.author_handle, last.author_name)
    base = Draft(local_id, own.id, conversation.id, own.channel, last.surface, text, customer)
    if own.channel is Channel.TWITTER:
        if dm or last.surface is Surface.DM:
            same = last.surface is Surface.DM and last.thread_key
            thread = last.thread_key if same else routing.x_dm_thread_key(account_key(own), last.author_key)
            return replace(base, surface=Surface.DM, thread_key=thread)
        return replace(base, reply_to_id=last.provider_id, thread_key=last.thread_key)
    if last.surface is Surface.MESSENGER:
        return replace(base, thread_key=last.thread_key)
    if dm:
        # A private reply: Messenger to the commenter, addressed by the comment (Graph's
        # recipient.comment_id); no thread key, since no Messenger thread exists yet.
        return replace(base, surface=Surface.MESSENGER, reply_to_id=last.provider_id, thread_key=None)
    return replace(base, reply_to_id=last.provider_id, thread_key=last.thread_key)


def outbound_message(draft: Draft, sender: Account, now: datetime) -> Message:
    """The message row that shows a queued reply in its conversation until (and after) it goes."""
    return Message(
        provider_id=draft.local_id,
        channel=draft.channel,
        surface=draft.surface,
        direction=Direction.OUTBOUND,
        author=our_author(sender),
        text=draft.text,
        sent_at=now,
        subject=draft.subject,
        recipients=() if draft.recipient is None else (draft.recipient,),
        thread_key=draft.thread_key,
        reply_to_id=draft.reply_to_id,
        references=draft.references,
    )


def compose_note(
    conversation: Conversation, text: str, actor: str, now: datetime, *, uid: str | None = None
) -> Message:
    """A private note: stored as an outbound message on the NOTE surface, never sent."""
    if not text.strip():
        raise InputError("note", "the note is empty")
    return Message(
        provider_id=f"note:{uid or uuid.uuid4().hex}",
        channel=conversation.channel,
        surface=Surface.NOTE,
        direction=Direction.OUTBOUND,
        author=Author(_KIND[conversation.channel], actor, handle=actor, display_name=actor),
        text=text,
        sent_at=now,
        private=True,
    )
