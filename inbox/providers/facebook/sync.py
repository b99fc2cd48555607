"""Incremental reading of a Page: Messenger conversations and the comments of its feed.

Two streams, each read a page (of 25 conversations or posts) per ``fetch`` through
``paging.cursors.after`` while ``paging.next`` exists. A stream's high-water mark (``since``)
moves only when a pass over it has ended, so a failure in the middle of a pass loses nothing:
the caller keeps the old cursor and the same page is read again.

Exactly once: a message is new when it is younger than ``since`` minus :data:`OVERLAP` and its
id is not among the ids already seen in that overlap. The overlap absorbs the Graph API's
eventual consistency (a message that shows up a few seconds after a younger one) and ties on
one second. Comments on posts older than :data:`FEED_LOOKBACK` before the mark are not read
again (the feed is filtered by post creation time); webhooks would be needed for those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from inbox.models import Message, Rejection
from inbox.providers.facebook.graph import GraphClient
from inbox.providers.facebook.parse import paging_of, parse_items
from inbox.providers.facebook.payload import ident, obj, objs, parse_time

OVERLAP = timedelta(minutes=15)
FEED_LOOKBACK = timedelta(days=7)
MAX_NESTED_PAGES = 100
MESSAGE_FIELDS = "id,message,from,to,created_time,attachments,sticker,shares"
COMMENT_FIELDS = "id,message,from,created_time,parent{id},attachment,comment_count,permalink_url"
CONVERSATION_FIELDS = f"participants,updated_time,link,messages.limit(25){{{MESSAGE_FIELDS}}}"
FEED_FIELDS = (
    "id,message,story,from,created_time,updated_time,permalink_url,"
    f"comments.filter(stream).order(reverse_chronological).limit(50){{{COMMENT_FIELDS}}}"
)
STREAMS = ("conversations", "feed")


@dataclass
class Stream:
    """One stream's place: the mark, the ids seen near it, and the page reached in a pass."""

    since: datetime | None = None
    recent: dict[str, str] = field(default_factory=dict)  # id -> ISO instant, within OVERLAP
    after: str | None = None
    newest: datetime | None = None  # the newest instant seen in the current pass

    def floor(self) -> datetime | None:
        return self.since - OVERLAP if self.since else None

    def take(self, message: Message) -> bool:
        """Whether ``message`` is new; remembers it either way."""
        floor = self.floor()
        if floor is not None and message.sent_at < floor:
            return False
        if message.provider_id in self.recent:
            return False
        self.recent[message.provider_id] = message.sent_at.isoformat()
        if self.newest is None or message.sent_at > self.newest:
            self.newest = message.sent_at
        return True

    def kept(self) -> dict[str, str]:
        """The remembered ids worth keeping in the cursor: those within OVERLAP of the mark
        (or, in a first pass, of the newest message seen), so the cursor stays small."""
        mark = self.since or self.newest
        if mark is None:
            return dict(self.recent)
        floor = mark - OVERLAP
        return {k: v for k, v in self.recent.items() if (parse_time(v) or floor) >= floor}

    def finish_pass(self) -> None:
        if self.newest is not None and (self.since is None or self.newest > self.since):
            self.since = self.newest
        self.recent = self.kept()
        self.after, self.newest = None, None


@dataclass
class SyncCursor:
    """The opaque cursor of :meth:`FacebookProvider.fetch`, as JSON."""

    streams: dict[str, Stream]

    @classmethod
    def load(cls, raw: str | None, start: datetime | None) -> SyncCursor:
        """The cursor; a missing or unreadable one starts over from ``start`` (None: all)."""
        try:
            doc = obj(json.loads(raw)) if raw else {}
        except ValueError:
            doc = {}
        streams: dict[str, Stream] = {}
        for name in STREAMS:
            recent = obj(obj(doc.get("recent")).get(name))
            streams[name] = Stream(
                since=parse_time(doc.get(f"{name}_since")) if doc else start,
                recent={k: v for k, v in recent.items() if isinstance(v, str)},
                after=ident(obj(doc.get("after")).get(name)) or None,
                newest=parse_time(obj(doc.get("newest")).get(name)),
            )
        return cls(streams)

    def dump(self) -> str:
        doc: dict[str, object] = {
            f"{name}_since": s.since.isoformat() if s.since else None
            for name, s in self.streams.items()
        }
        doc["after"] = {name: s.after for name, s in self.streams.items()}
        doc["newest"] = {
            n: s.newest.isoformat() if s.newest else None for n, s in self.streams.items()
        }
        doc["recent"] = {name: s.kept() for name, s in self.streams.items()}
        return json.dumps(doc, sort_keys=True)


@dataclass
class PageRead:
    """What one ``fetch`` read: new messages, rejected records, and whether pages remain."""

    messages: list[Message] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    more: bool = False


class PageSync:
    """Reads the Page's streams one page at a time through a :class:`GraphClient`."""

    def __init__(self, graph: GraphClient, page_id: str, clock: Callable[[], float]) -> None:
        self._graph = graph
        self._page = page_id
        self._clock = clock

    async def read(self, cursor: SyncCursor) -> PageRead:
        """One page of every stream still in its pass (or of all, when a new pass starts)."""
        result = PageRead()
        in_pass = any(s.after for s in cursor.streams.values())
        for name in STREAMS:
            stream = cursor.streams[name]
            if in_pass and not stream.after:
                continue  # this stream ended its pass; it waits for the other one
            reader = self._conversations if name == "conversations" else self._feed
            items, doc, reached_old = await reader(stream)
            batch = parse_items(items, f"Facebook Page {self._page} {name}", self._page, name)
            result.messages += [m for m in batch.messages if stream.take(m)]
            result.rejections += batch.rejections
            paging = paging_of(doc)
            moving = paging.after is not None and paging.after != stream.after
            if paging.has_next and moving and items and not reached_old:
                stream.after = paging.after
                result.more = True
            else:
                stream.finish_pass()
        return result

    async def _conversations(
        self, stream: Stream
    ) -> tuple[list[dict[str, object]], dict[str, object], bool]:
        params = {"platform": "messenger", "fields": CONVERSATION_FIELDS, "limit": "25"}
        floor = stream.floor()
        if floor is not None:
            params["since"] = str(int(floor.timestamp()))
        if stream.after:
            params["after"] = stream.after
        doc = await self._graph.get(f"{self._page}/conversations", params)
        items: list[dict[str, object]] = []
        for conversation in objs(doc.get("data")):
            updated = parse_time(conversation.get("updated_time"))
            if floor is not None and updated is not None and updated < floor:
                return items, doc, True  # newest first: the rest is older than the mark
            nested = await self._complete(
                conversation, "messages", {"fields": MESSAGE_FIELDS, "limit": "25"}, floor
            )
            items.append(conversation | {"messages": {"data": nested}})
        return items, doc, False

    async def _feed(
        self, stream: Stream
    ) -> tuple[list[dict[str, object]], dict[str, object], bool]:
        params = {"fields": FEED_FIELDS, "limit": "25"}
        if stream.since is not None:
            params["since"] = str(int((stream.since - FEED_LOOKBACK).timestamp()))
        if stream.after:
            params["after"] = stream.after
        doc = await self._graph.get(f"{self._page}/feed", params)
        items: list[dict[str, object]] = []
        extra = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": "50",
        }
        for post in objs(doc.get("data")):
            nested = await self._complete(post, "comments", extra, stream.floor())
            items.append(post | {"comments": {"data": nested}})
        return items, doc, False

    async def _complete(
        self,
        parent: dict[str, object],
        edge: str,
        params: dict[str, str],
        floor: datetime | None,
    ) -> list[dict[str, object]]:
        """A nested edge (newest first) followed through its own pages down to ``floor``."""
        block = obj(parent.get(edge))
        found = objs(block)
        paging, seen = paging_of(block), set[str]()
        for _ in range(MAX_NESTED_PAGES):
            oldest = parse_time(found[-1].get("created_time")) if found else None
            if not (paging.has_next and paging.after) or paging.after in seen:
                break
            if floor is not None and oldest is not None and oldest < floor:
                break
            seen.add(paging.after)
            doc = await self._graph.get(
                f"{ident(parent.get('id'))}/{edge}", params | {"after": paging.after}
            )
            found += objs(doc.get("data"))
            paging = paging_of(doc)
        return found


def history_start(days: str, now: float) -> datetime | None:
    """Where a first sync starts: ``days`` back from ``now``; "0" or unreadable: everything."""
    try:
        count = float(days)
    except ValueError:
        return None
    if count <= 0:
        return None
    return datetime.fromtimestamp(now, tz=UTC) - timedelta(days=count) + OVERLAP
