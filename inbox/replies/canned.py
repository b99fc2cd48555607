"""Canned responses: the company's prepared answers, with placeholders filled per conversation.

A body says ``Bonjour {first_name},`` and :func:`expand` fills it from the conversation's
context. A placeholder with no value stays visible as ``{name}`` so that the agent sees what to
complete before sending, and :func:`expansion` reports which ones. :func:`search` finds responses
by words of their title, body and tags, ignoring case and accents (``remboursement`` finds
``Remboursement effectué``), best matches first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inbox.errors import InputError

#: Languages a response can be written in.
LANGUAGES = ("fr", "en")

#: The placeholders the app fills, with what they stand for (shown in the manager).
PLACEHOLDERS: Mapping[str, str] = {
    "first_name": "the customer's first name",
    "customer_name": "the customer's full name",
    "agent_name": "your name",
    "conversation_number": "the conversation's number",
    "order": "the order number, when the customer gave one",
}

MAX_TITLE = 120
MAX_BODY = 5000
MAX_TAGS = 12

# ``{{`` and ``}}`` are literal braces, as in str.format; ``{name}`` is a placeholder.
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """One prepared answer. ``id`` is the store's (0 before it is stored)."""

    id: int
    title: str
    body: str
    lang: str = "en"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Expansion:
    """A body with its placeholders filled; ``missing`` names those left as ``{name}``."""

    text: str
    missing: tuple[str, ...]


def expansion(body: str, context: Mapping[str, str]) -> Expansion:
    """Fill ``{name}`` from ``context``; names with no value (or an empty one) stay visible."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        value = context.get(name, "").strip()
        if value:
            return value
        if name not in missing:
            missing.append(name)
        return token

    return Expansion(_TOKEN.sub(fill, body), tuple(missing))


def expand(body: str, context: Mapping[str, str]) -> str:
    """The body with its placeholders filled (see :func:`expansion` for what was left)."""
    return expansion(body, context).text


def placeholders(body: str) -> tuple[str, ...]:
    """The placeholder names a body uses, in order of first use."""
    seen: list[str] = []
    for match in _TOKEN.finditer(body):
        name = match.group(1)
        if name and name not in seen:
            seen.append(name)
    return tuple(seen)


def unknown_placeholders(body: str) -> tuple[str, ...]:
    """Names in the body the app never fills (a typo such as ``{frist_name}``)."""
    return tuple(name for name in placeholders(body) if name not in PLACEHOLDERS)


def first_name(full_name: str) -> str:
    """The first word of a display name, or "" when it is an address or a handle."""
    words = full_name.strip().split()
    if not words:
        return ""
    word = words[0].strip(",;")
    if "@" in word or any(ch.isdigit() for ch in word):
        return ""
    return word


def context_for(
    *,
    customer_name: str = "",
    agent_name: str = "",
    conversation_number: int | str | None = None,
    order: str = "",
) -> dict[str, str]:
    """The placeholder values for one conversation (empty values stay visible when expanded)."""
    return {
        "first_name": first_name(customer_name),
        "customer_name": "" if "@" in customer_name else customer_name.strip(),
        "agent_name": agent_name.strip(),
        "conversation_number": "" if conversation_number is None else str(conversation_number),
        "order": order.strip(),
    }


def parse_tags(text: str | Iterable[str]) -> tuple[str, ...]:
    """Tags from "a, b" or a list: trimmed, lower-case, without duplicates or empties."""
    items = text.split(",") if isinstance(text, str) else list(text)
    tags: list[str] = []
    for item in items:
        tag = " ".join(item.split()).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def validated(
    title: str, body: str, lang: str, tags: str | Iterable[str] = (), response_id: int = 0
) -> CannedResponse:
    """A response from what the agent typed; InputError names the field that is wrong."""
    title = " ".join(title.split())
    if not title:
        raise InputError("title", "a response needs a title")
    if len(title) > MAX_TITLE:
        raise InputError("title", f"at most {MAX_TITLE} characters (this one has {len(title)})")
    if not body.strip():
        raise InputError("body", "a response needs a text")
    if len(body) > MAX_BODY:
        raise InputError("body", f"at most {MAX_BODY} characters (this one has {len(body)})")
    lang = lang.strip().lower()
    if lang not in LANGUAGES:
        raise InputError("lang", f"'{lang}' is not one of {', '.join(LANGUAGES)}")
    tag_list = parse_tags(tags)
    if len(tag_list) > MAX_TAGS:
        raise InputError("tags", f"at most {MAX_TAGS} tags")
    return CannedResponse(response_id, title, body.strip("\n"), lang, tag_list)


# -- search ---------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents: "Réponse À" -> "reponse a"; "ß" -> "ss"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _score(
    token: str,
    title_words: Sequence[str],
    title: str,
    tags: Sequence[str],
    body_words: Sequence[str],
    body: str,
) -> int:
    if token in title_words:
        return 10
    if any(w.startswith(token) for w in title_words):
        return 8
    if any(t == token or t.startswith(token) for t in tags):
        return 6
    if token in title:
        return 5
    if any(w.startswith(token) for w in body_words):
        return 2
    if token in body:
        return 1
    return 0


def search(
    responses: Iterable[CannedResponse], query: str, lang: str | None = None
) -> list[CannedResponse]:
    """Responses in ``lang`` (all when None) matching every word of ``query``, best first.

    A word found at the start of a title word weighs most, then tags, then the body. An empty
    query lists every response of the language by title.
    """
    tokens = _WORD.findall(fold(query))
    ranked: list[tuple[int, str, int, CannedResponse]] = []
    for response in responses:
        if lang is not None and response.lang != lang:
            continue
        # placeholder names are not words of the text: "first" must not match every response
        title, body = fold(response.title), fold(_TOKEN.sub(" ", response.body))
        title_words, body_words = _WORD.findall(title), _WORD.findall(body)
        tags = [fold(t) for t in response.tags]
        total = 0
        for token in tokens:
            score = _score(token, title_words, title, tags, body_words, body)
            if score == 0:
                break
            total += score
        else:
            ranked.append((-total, title, response.id, response))
    ranked.sort(key=lambda item: item[:3])
    return [item[3] for item in ranked]
