"""What the Graph parsers gather from one payload before it becomes a :class:`ParsedBatch`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from inbox.models import Message, ParsedBatch, Rejection

#: Errors a malformed record may still raise inside a reader; caught per record, never per file.
RECORD_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)


@dataclass
class Collected:
    """Messages, rejections, things deliberately skipped, and the Page ids the payload revealed."""

    source: str
    messages: list[Message] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    pages: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.rejections.append(Rejection(self.source, one_line(reason)))

    def skip(self, what: str) -> None:
        self.skipped[what] += 1

    def page(self, page_id: str) -> None:
        if page_id and page_id not in self.pages:
            self.pages.append(page_id)

    def guarded(self, where: str, read: Callable[[], None]) -> None:
        """Run one record's reader; a failure rejects that record and lets the rest go on."""
        try:
            read()
        except RECORD_ERRORS as exc:
            self.reject(f"{where}: unreadable record ({type(exc).__name__})")

    def batch(self, page_id: str | None, explain_empty: bool) -> ParsedBatch:
        """The batch; ``explain_empty`` turns "nothing here" into a rejection saying why."""
        rejections = list(self.rejections)
        if explain_empty and not self.messages and not rejections and self.skipped:
            parts = ", ".join(f"{count} {what}" for what, count in sorted(self.skipped.items()))
            rejections.append(Rejection(self.source, one_line(f"nothing to import: {parts}")))
        hint = page_id or (self.pages[0] if len(self.pages) == 1 else None)
        return ParsedBatch(
            messages=tuple(self.messages),
            rejections=tuple(rejections),
            account_hint=f"facebook:{hint}" if hint else None,
        )


def one_line(reason: str, limit: int = 240) -> str:
    """A reason on one line, cut to ``limit`` characters."""
    flat = " ".join(reason.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
