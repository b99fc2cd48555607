"""A mail's remote images, fetched only after the agent allows them for that message.

Remote images are how senders learn that (and when, and from where) a mail was read, so the
fetch gives away as little as it can: plain GET requests built here (no cookies in or out, no
Referer, a plain User-Agent, nothing from the client's default headers), only ``http``/``https``
addresses, never a loopback or private-network address written as an IP literal, a time limit
and a size limit per image (streamed, abandoned past the limit), a cap on images per message and
only raster image types Qt can decode. A failure is counted, never raised. Logs name the host
only: an image address often carries a tracking token in its path or query.

The images go through the desktop's one client (:mod:`inbox.app.http`), which keeps no cookie
(so an image host's ``Set-Cookie`` is dropped, never sent anywhere); the requests are built here,
so none of the client's headers, and each carries its own time limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

log = logging.getLogger(__name__)

USER_AGENT = "Mozilla/5.0 (compatible; Inbox mail viewer)"

#: Raster types only: SVG is a document that can itself point at more remote content.
RASTER_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
    }
)


@dataclass(frozen=True)
class ImageLimits:
    """How much one message's remote images may cost."""

    timeout: float = 10.0  # seconds per image, redirects and body included
    max_bytes: int = 5_000_000  # per image
    max_images: int = 50  # per message; the rest are counted as not loaded
    concurrency: int = 4  # images fetched at once (the shared client's pool is not narrowed)
    max_redirects: int = 3
    private_hosts: bool = False  # loopback/private IP literals (tests turn this on)
    types: frozenset[str] = field(default=RASTER_TYPES)


@dataclass(frozen=True)
class FetchedImages:
    """The images that arrived, by the address written in the mail, and how many did not."""

    images: Mapping[str, bytes]
    failed: int


class _Refused(Exception):
    """An image the rules say not to load (kept out of logs except for its short reason)."""


class _ImageSources(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            src = (dict(attrs).get("src") or "").strip()
            if fetch_address(src) is not None and src not in self.found:
                self.found.append(src)


def remote_image_sources(html: str) -> list[str]:
    """The distinct remote ``<img src>`` of HTML sanitised with ``allow_remote=True`` (each
    was a "remote image blocked" marker before), in document order, exactly as written, which
    is also how the text browser asks for them."""
    parser = _ImageSources()
    parser.feed(html)
    parser.close()
    return parser.found


def fetch_address(src: str) -> str | None:
    """The absolute http(s) address to fetch for ``src``, or None if it is not one."""
    lowered = src.lower()
    if lowered.startswith("//"):
        return "https:" + src
    if lowered.startswith(("http://", "https://")):
        return src
    return None


def host_of(url: str) -> str:
    """The host alone, the only part of an image address that goes to the logs."""
    try:
        return httpx.URL(url).host or "?"
    except (httpx.InvalidURL, ValueError):
        return "?"


def _check_host(url: httpx.URL, limits: ImageLimits) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise _Refused("not http(s)")
    if limits.private_hosts:
        return
    host = url.host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise _Refused("local host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: checking what it resolves to is the resolver's business
    if not address.is_global:
        raise _Refused("private address")


async def _download(http: httpx.AsyncClient, address: str, limits: ImageLimits) -> bytes:
    url = httpx.URL(address)
    for _hop in range(limits.max_redirects + 1):
        _check_host(url, limits)
        # Built by hand, not by the client: no client cookies, default headers or Referer.
        request = httpx.Request(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
            extensions={"timeout": httpx.Timeout(limits.timeout).as_dict()},
        )
        response = await http.send(request, stream=True)
        try:
            if response.is_redirect and "location" in response.headers:
                url = url.join(response.headers["location"])
                continue
            if response.status_code != 200:
                raise _Refused(f"HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in limits.types:
                raise _Refused(f"type {kind or 'missing'}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise _Refused("too large")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limits.max_bytes:
                    raise _Refused("too large")
            return bytes(body)
        finally:
            await response.aclose()
    raise _Refused("too many redirects")


async def _fetch_one(http: httpx.AsyncClient, src: str, limits: ImageLimits, gate: asyncio.Semaphore) -> bytes | None:
    address = fetch_address(src)
    if address is None:
        return None
    async with gate:
        try:
            async with asyncio.timeout(limits.timeout):
                return await _download(http, address, limits)
        except _Refused as refused:
            reason = str(refused)
        except TimeoutError:
            reason = "timed out"
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            reason = type(exc).__name__  # never the message: httpx puts the full URL in it
    log.info("remote image from %s not loaded: %s", host_of(address), reason)
    return None


async def fetch_images(
    http: httpx.AsyncClient, sources: Iterable[str], limits: ImageLimits | None = None
) -> FetchedImages:
    """Fetch ``sources`` (``<img src>`` values; any not http(s) is ignored), a few at a time;
    what cannot be loaded, or is beyond the per-message cap, is counted in ``failed``."""
    limits = limits or ImageLimits()
    wanted = [src for src in dict.fromkeys(sources) if fetch_address(src) is not None]
    allowed, beyond = wanted[: limits.max_images], wanted[limits.max_images :]
    if beyond:
        log.info("remote images: %d beyond the cap of %d not loaded", len(beyond), limits.max_images)
    gate = asyncio.Semaphore(max(1, limits.concurrency))
    bodies = await asyncio.gather(*(_fetch_one(http, src, limits, gate) for src in allowed))
    images = {src: body for src, body in zip(allowed, bodies, strict=True) if body is not None}
    return FetchedImages(images, len(wanted) - len(images))
