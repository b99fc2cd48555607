"""The support-desk domain: channels, accounts, customers, identities, messages, conversations.

Plain frozen dataclasses with no behaviour that needs a database, a window or a network. Parsers
produce :class:`Message`; the store keeps them in :class:`Conversation`\\ s that belong to a
:class:`Customer`; every change is an :class:`ConversationEvent` with its instant and author.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class Channel(StrEnum):
    """Where a conversation happens."""

    TWITTER = "twitter"
    FACEBOOK = "facebook"
    EMAIL = "email"
    WEBFORM = "webform"


class Surface(StrEnum):
    """The place within a channel a message was posted; replies go back on the same surface."""

    MENTION = "mention"  # a public post on X (mention or reply)
    DM = "dm"  # an X direct message
    MESSENGER = "messenger"  # a Facebook Page Messenger message
    COMMENT = "comment"  # a comment on a Facebook Page post (or its post)
    EMAIL = "email"
    FORM = "form"  # a web-form submission
    NOTE = "note"  # a private note written by an agent; never leaves the app


#: Surfaces seen by the public: a complaint there weighs more than in private.
PUBLIC_SURFACES = frozenset({Surface.MENTION, Surface.COMMENT})


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    SOLVED = "solved"  # a new customer message reopens it
    CLOSED = "closed"  # final: a new message starts a new conversation


#: Every status but closed: what the views column's tags and each tag's view count.
NOT_CLOSED = frozenset(s for s in Status if s is not Status.CLOSED)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_RANK: Mapping[Priority, int] = {
    Priority.URGENT: 0,
    Priority.HIGH: 1,
    Priority.NORMAL: 2,
    Priority.LOW: 3,
}


class IdentityKind(StrEnum):
    """The namespace of an identity's stable key."""

    TWITTER = "twitter"  # key: the X user id; handle: @screen_name
    FACEBOOK = "facebook"  # key: the page-scoped id (PSID) or user id
    EMAIL = "email"  # key: the lower-cased address
    PHONE = "phone"  # key: digits with a leading +


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message, as the payload tells it (not yet linked to a customer)."""

    kind: IdentityKind
    key: str
    handle: str = ""
    display_name: str = ""
    followers: int | None = None
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of an attached file; content is fetched or opened on demand, never rendered blindly."""

    filename: str
    content_type: str
    size: int | None = None
    url: str | None = None
    content_id: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)  # the file, when the parser kept it


@dataclass(frozen=True, slots=True)
class Message:
    """One message, normalised from any channel.

    ``provider_id`` is unique within an account (tweet id, DM event id, Graph message or comment id,
    RFC 5322 Message-ID or a content hash, form submission id). ``thread_key`` names the provider's
    own thread (X conversation id, DM conversation id, Messenger thread, post id, form submission);
    email threads by ``reply_to_id``/``references`` instead.
    """

    provider_id: str
    channel: Channel
    surface: Surface
    direction: Direction
    author: Author
    text: str
    sent_at: datetime  # timezone-aware, UTC
    subject: str | None = None
    html: str | None = None  # already sanitised
    recipients: tuple[Author, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    thread_key: str | None = None
    reply_to_id: str | None = None
    references: tuple[str, ...] = ()
    automated: bool = False  # auto-reply, bounce, list noise, automatic acknowledgement
    private: bool = False  # an agent's private note
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file or record that could not be imported, and why (one line, naming the file or field)."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """What a parser read from one file or response: messages, rejections, and the account it
    belongs to when the payload says (a Page id in a webhook, the mailbox a form was sent to)."""

    messages: tuple[Message, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    account_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """One of our own presences: an X account, a Facebook Page, a mailbox, a web form.

    ``own_keys`` are the identity keys that are us (our X user id, Page id, mailbox addresses):
    messages authored by them are outbound. ``settings`` holds non-secret configuration only.
    """

    id: str  # "CHANNEL:ID", e.g. "email:support@example.com"
    channel: Channel
    name: str
    own_keys: frozenset[str] = frozenset()
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Identity:
    """A customer's presence on one channel: the stable key and the handle shown."""

    id: int
    kind: IdentityKind
    key: str
    handle: str
    display_name: str
    customer_id: int | None
    followers: int | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    display_name: str
    crm_number: str | None = None
    notes: str = ""
    vip: bool = False


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    channel: Channel
    account_id: str
    subject: str
    status: Status
    priority: Priority
    customer_id: int | None
    created_at: datetime
    last_message_at: datetime
    message_count: int = 0
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    surface: Surface | None = None
    customer_name: str = ""
    preview: str = ""
    sla_due_at: datetime | None = None  # the most urgent running SLA target's deadline
    sla_state: str | None = None  # ok | warning | breached | paused | met
    sentiment: float | None = None  # of the customer's latest message (-1 negative .. 1 positive)


class EventKind(StrEnum):
    """What can happen to a conversation; the SLA engine and reports replay these."""

    MESSAGE_IN = "message_in"  # a customer message (not automated)
    REPLY = "reply"  # a public reply by us (counts for SLA)
    AUTO_REPLY = "auto_reply"  # an automatic message by us (does not count)
    NOTE = "note"  # a private note (does not count)
    STATUS = "status"  # value: the new Status
    PRIORITY = "priority"  # value: the new Priority
    TAG_ADDED = "tag_added"
    TAG_REMOVED = "tag_removed"
    ASSIGNED = "assigned"  # value: the assignee ("" for unassigned)
    CHANNEL = "channel"  # value: the new Channel (a complaint moved to DM stays on its channel)
    CUSTOMER = "customer"  # value: the customer id the conversation now belongs to


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One change to a conversation, with its instant (UTC) and who made it."""

    conversation_id: int
    kind: EventKind
    at: datetime
    actor: str = ""
    value: str = ""


class OutboxState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # a send was started; after a crash it may or may not have gone out
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # "may have been sent": the agent decides to resend or drop


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply ready to go out on the surface the customer used.

    ``local_id`` is ours, created when the reply is queued (for email it is the Message-ID we put
    on the mail), so that a crash between sending and recording can be checked later.
    """

    local_id: str
    account_id: str
    conversation_id: int
    channel: Channel
    surface: Surface
    text: str
    recipient: Author | None = None
    reply_to_id: str | None = None  # tweet, comment or Message-ID we answer
    thread_key: str | None = None
    subject: str | None = None
    references: tuple[str, ...] = ()
    quoted_text: str = ""  # the message we answer, for email quoting
    html: str | None = None
    cc: tuple[str, ...] = ()
    quoted_at: datetime | None = None  # when the quoted message was sent ("On DATE, NAME wrote:")


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as kept in a conversation, with its row id and delivery state."""

    id: int
    conversation_id: int
    account_id: str
    provider_id: str
    channel: Channel
    surface: Surface
    direction: Direction
    author_key: str
    author_name: str
    author_handle: str
    subject: str | None
    text: str
    html: str | None
    sent_at: datetime
    attachments: tuple[Attachment, ...] = ()
    automated: bool = False
    private: bool = False
    reply_to_id: str | None = None
    references: tuple[str, ...] = ()
    thread_key: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    outbox_state: OutboxState | None = None
    outbox_error: str = ""


@dataclass(frozen=True, slots=True)
class LinkSuggestion:
    """A likely link between an identity and another customer, for the agent to accept or reject."""

    id: int
    identity: Identity
    customer_id: int
    customer_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    message_id: int
    conversation_id: int
    channel: Channel
    author_name: str
    subject: str
    snippet: str
    sent_at: datetime


class QueueSort(StrEnum):
    URGENCY = "urgency"  # SLA due first, then priority, then oldest
    NEWEST = "newest"
    OLDEST = "oldest"
    PRIORITY = "priority"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which conversations a queue view shows. Empty fields do not filter."""

    statuses: frozenset[Status] = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.SOLVED})
    channel: Channel | None = None
    tag: str | None = None
    assignee: str | None = None  # "" means unassigned
    sla_states: frozenset[str] = frozenset()
    customer_id: int | None = None
    conversation_ids: tuple[int, ...] | None = None  # from a full-text search
    sentiment_below: float | None = None  # only conversations whose customer sounds unhappy
    channels: frozenset[Channel] = frozenset()  # filter chips: any of these channels
    sort: QueueSort = QueueSort.URGENCY


@dataclass(frozen=True, slots=True)
class OutboxItem:
    draft: Draft
    state: OutboxState
    attempts: int
    last_error: str
    provider_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """An attachment kept on disk beside the store, to be saved or opened by the agent."""

    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    path: Path
