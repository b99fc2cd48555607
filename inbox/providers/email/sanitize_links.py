"""Where the links of an e-mail really go, for the UI to show beside the text that names them.

Phishing mail writes one address and links to another (``<a href="https://evil.example">
https://bank.example</a>``). :func:`link_targets` lists every link as (visible text, real
target) and :func:`misleading` says when the text names a different host than the target.
Pure functions of the HTML; safe on any input (they never raise and never fetch anything).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

MAX_LINKS = 500
MAX_TEXT = 300

_UNTERMINATED_TAG = re.compile(r"<(?![^<>]*>)")
_HOST_IN_TEXT = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]*://)?(?:[^\s/@]+@)?((?:[a-z0-9-]+\.)+[a-z]{2,63})(?::\d+)?(?:[/?#]|$)"
)


def neutralize_unterminated(html: str) -> str:
    """``html`` with every ``<`` that opens no complete tag, and every comment opener that no
    ``-->`` closes, written as ``&lt;``: text to a browser, and linear work for
    :class:`html.parser.HTMLParser`, which rescans such input to the end each time (quadratic:
    10,000 ``<a href='x'`` took 36 s)."""
    html = _UNTERMINATED_TAG.sub("&lt;", html)
    last = html.rfind("-->")
    cut = last + 3 if last >= 0 else 0
    return html[:cut] + html[cut:].replace("<!--", "&lt;!--")


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._open: list[tuple[str, list[str]]] = []  # (href, text parts) of open <a>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = next((value or "" for name, value in attrs if name == "href"), None)
            if href is not None:
                self._open.append((href, []))
            else:
                self._open.append(("", []))  # an anchor without target: closed but not listed
        elif tag == "img" and self._open:
            alt = next((value or "" for name, value in attrs if name == "alt"), "")
            self._open[-1][1].append(f"[{alt}]" if alt else "[image]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._close()

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def _close(self) -> None:
        href, parts = self._open.pop()
        if not href.strip() or len(self.links) >= MAX_LINKS:
            return
        text = " ".join("".join(parts).split())[:MAX_TEXT]
        self.links.append((text, href.strip()))

    def finish(self) -> list[tuple[str, str]]:
        while self._open:  # unclosed anchors still count
            self._close()
        return self.links


def link_targets(html: str) -> list[tuple[str, str]]:
    """Every link of ``html`` in document order as (visible text, href), whitespace folded.

    An image inside a link shows as ``[alt]`` (or ``[image]``); anchors without ``href`` are
    left out; at most ``MAX_LINKS`` links, texts cut at ``MAX_TEXT`` characters.
    """
    collector = _LinkCollector()
    try:
        collector.feed(neutralize_unterminated(html))
        collector.close()
    except Exception:  # HTMLParser is lenient; keep whatever was collected before a failure
        pass
    return collector.finish()


def _host(href: str) -> str:
    try:
        host = urlsplit(href.strip()).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def misleading(text: str, href: str) -> bool:
    """True when ``text`` names a host (``bank.example``, ``https://bank.example/login``) that
    is not the host ``href`` leads to (nor a parent domain of it)."""
    match = _HOST_IN_TEXT.search(text.strip())
    if match is None:
        return False
    shown = match.group(1).lower().rstrip(".")
    target = _host(href)
    if href.strip().lower().startswith("mailto:"):
        return False
    return not target or not (target == shown or target.endswith("." + shown))
