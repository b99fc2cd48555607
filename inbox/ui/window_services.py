"""What the main window is given besides its ports: who the agent is, the clock, and the app's
hooks (SLA details, notices, the slow tick, the dashboard, the windows it opens).

One frozen bundle instead of a long keyword list: the app builds it once (``build_window``), a
test passes only what it exercises, and every field has a default that works without the app
(no dashboard, no settings, the system clock).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.sla.engine import SlaLogEntry, TargetStatus
from inbox.ui.original_view import OriginalSource, RemoteImageSource

if TYPE_CHECKING:  # types only: the app builds the dashboard and passes it
    from inbox.ui.dashboard import Dashboard

Clock = Callable[[], datetime]
SlaDetails = Callable[[int], tuple[list[TargetStatus], list[SlaLogEntry]]]
Notices = Callable[[], list[tuple[str, str, int]]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WindowServices:
    """The main window's collaborators other than the reads, the commands and the translator.

    ``sla_details(conversation_id)`` gives the targets and the SLA history shown in the thread;
    ``notices()`` the new warnings and breaches (once each); ``on_tick()`` refreshes the SLA
    states on the store's writer every 30 s; ``switch_language(lang)`` rebuilds the window in
    that language; ``avatar(customer_id)`` the customer's picture file, if any. ``None`` leaves
    the feature out (a test, team mode where the server computes the SLA)."""

    agent: str = "agent"
    clock: Clock = utc_now
    weighted_length: Callable[[str], int] = len  # X counts some characters twice
    dark: bool = False
    sla_details: SlaDetails | None = None
    notices: Notices | None = None
    on_tick: Callable[[], Future[Any]] | None = None
    dashboard: Dashboard | None = None
    open_settings: Callable[[], None] | None = None
    open_canned_manager: Callable[[], None] | None = None
    original_source: OriginalSource | None = None
    remote_images: RemoteImageSource | None = None
    switch_language: Callable[[str], None] | None = None
    avatar: Callable[[int], Path | None] | None = None
