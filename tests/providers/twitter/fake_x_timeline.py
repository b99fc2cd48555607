"""The timelines the fake X server replays: corpus payloads, real paging and includes."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]


@dataclass
class Timeline:
    """Recorded posts or DM events, newest first, with the expansions they refer to."""

    items: list[Json] = field(default_factory=list)  # newest first
    users: dict[str, Json] = field(default_factory=dict)
    tweets: dict[str, Json] = field(default_factory=dict)
    media: dict[str, Json] = field(default_factory=dict)

    def add_page(self, doc: Json) -> None:
        includes = doc.get("includes", {})
        self.users.update({u["id"]: u for u in includes.get("users", [])})
        self.tweets.update({t["id"]: t for t in includes.get("tweets", [])})
        self.media.update({m["media_key"]: m for m in includes.get("media", [])})
        data = doc.get("data", [])
        self.items.extend(data if isinstance(data, list) else [data])
        self.items.sort(key=lambda item: int(item["id"]), reverse=True)

    def includes_for(self, page: list[Json]) -> Json:
        users: dict[str, Json] = {}
        tweets: dict[str, Json] = {}
        media: dict[str, Json] = {}
        for item in page:
            for key in ("author_id", "in_reply_to_user_id", "sender_id"):
                if item.get(key) in self.users:
                    users[item[key]] = self.users[item[key]]
            for ref in item.get("referenced_tweets", []):
                if ref["id"] in self.tweets:
                    tweet = self.tweets[ref["id"]]
                    tweets[ref["id"]] = tweet
                    if tweet.get("author_id") in self.users:
                        users[tweet["author_id"]] = self.users[tweet["author_id"]]
            for key in item.get("attachments", {}).get("media_keys", []):
                if key in self.media:
                    media[key] = self.media[key]
        block = {
            "users": list(users.values()),
            "tweets": list(tweets.values()),
            "media": list(media.values()),
        }
        return {name: values for name, values in block.items() if values}

    def page(self, query: dict[str, str]) -> Json:
        """One page as X answers it: ``since_id``, ``max_results`` and ``pagination_token``."""
        items = self.items
        if "since_id" in query:
            items = [i for i in items if int(i["id"]) > int(query["since_id"])]
        size = max(1, min(100, int(query.get("max_results", "10"))))
        start = _offset(query.get("pagination_token", "")) or 0
        page = [copy.deepcopy(i) for i in items[start : start + size]]
        meta: Json = {"result_count": len(page)}
        if page and "event_type" not in page[0]:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + size < len(items):
            meta["next_token"] = _page_token(start + size)
        doc: Json = {"meta": meta}
        if page:
            doc["data"] = page
            includes = self.includes_for(page)
            if includes:
                doc["includes"] = includes
        return doc


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(raw.removeprefix("offset:"))
    except ValueError:
        return None


def _read(corpus: Path, relative: str) -> Any:
    return json.loads((corpus / relative).read_text(encoding="utf-8"))


def load_timelines(corpus: Path, own_user: Json) -> tuple[Timeline, Timeline, Timeline]:
    """Mentions (sns mentions timeline + the twarc search page: 105 tweets with includes), our
    own posts (sns ``timeline_tweets.json``) and DM events (sns and tweepy recordings)."""
    mentions = Timeline()
    mentions.add_page(
        _read(corpus, "sns-python-twitter/testdata/apis/timeline/timeline_mentions.json")
    )
    mentions.add_page(_read(corpus, "twarc-csv/test-data/noflat.jsonl"))
    own = Timeline()
    own_page = _read(corpus, "sns-python-twitter/testdata/apis/timeline/timeline_tweets.json")
    for tweet in own_page["data"]:
        tweet.setdefault("author_id", own_user["id"])  # what expansions=author_id adds
    own.add_page(own_page)
    own.users[own_user["id"]] = dict(own_user)
    dms = Timeline()
    dms.add_page(_read(corpus, "sns-python-twitter/testdata/apis/dm_events/events.json"))
    recorded = _read(corpus, "tweepy/decoded/test_manage_and_lookup_direct_messages.bodies.json")
    for exchange in recorded:
        uri = exchange["uri"]
        if exchange["method"] == "GET" and uri.endswith("/dm_events") and "/with/" not in uri:
            dms.add_page(exchange["body"])
    return mentions, own, dms
