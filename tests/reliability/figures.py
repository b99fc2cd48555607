"""What the reliability tests were configured to do and what they measured.

Tests call :func:`record` with measured figures; ``conftest.py`` rewrites the table between the
markers in ``docs/RELIABILITY.md`` at the end of a session when ``INBOX_UPDATE_RELIABILITY=1``.
``CONFIGURED`` lists the figures fixed by the test code (seeds, kill counts, simulated hours);
``test_reliability_doc.py`` fails when the document shows other values, so a changed constant
forces the document to be regenerated.
"""

from __future__ import annotations

import threading
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "RELIABILITY.md"
START = "<!-- figures:start (written by tests/reliability/conftest.py) -->"
END = "<!-- figures:end -->"

SEED = 20261123
KILLS_INGEST = 120  # SIGKILLs while `inbox sync --once` fetches mail from Dovecot
KILLS_SEND = 90  # SIGKILLs while it sends replies through aiosmtpd, fake X and fake Graph
FLAKY_HOURS = 1  # simulated hours of the flaky-provider run (fake clock)
SEARCH_EXAMPLES = 300  # hypothesis examples per search function

CONFIGURED: dict[str, int] = {
    "seed": SEED,
    "kills_ingest": KILLS_INGEST,
    "kills_send": KILLS_SEND,
    "flaky_hours": FLAKY_HOURS,
    "search_examples": SEARCH_EXAMPLES,
}

_lock = threading.Lock()
MEASURED: dict[str, str] = {}


def record(name: str, value: object) -> None:
    """Keep a measured figure for the report (the last value recorded under a name wins)."""
    with _lock:
        MEASURED[name] = str(value)


def add(name: str, amount: int) -> None:
    """Add to a counted figure (faults injected, inputs fuzzed ...)."""
    with _lock:
        MEASURED[name] = str(int(MEASURED.get(name, "0")) + amount)


#: Figures a full run of tests/reliability measures; the document is rewritten only with all.
REQUIRED: tuple[str, ...] = (
    "store_faults_injected",
    "crash_kills_survived",
    "crash_replies_delivered_twice",
    "provider_faults_injected",
    "flaky_faults_injected",
    "hostile_inputs_imported",
    "hostile_worst_peak_rss_mib",
    "search_queries_fuzzed",
    "secrets_found",
)
