"""Reliability tests: the local servers' fixtures, and the report of their figures.

With ``INBOX_UPDATE_RELIABILITY=1``, a session that ran every reliability test and passed
rewrites the figures table of ``docs/RELIABILITY.md`` (between the markers) with what it
measured. Without it, nothing is written.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from tests.providers.email.servers import dovecot_server, smtp_server
from tests.providers.facebook.fake_graph import fake_graph
from tests.providers.twitter.fake_x import fake_x
from tests.reliability import figures

__all__ = ["dovecot_server", "fake_graph", "fake_x", "smtp_server"]


def render_table(measured: dict[str, str], when: datetime) -> str:
    """The block between the markers: configured values, then measured ones, sorted."""
    lines = [
        figures.START,
        f"Last written by the test suite on {when:%Y-%m-%d %H:%M} UTC.",
        "",
        "| configured (test code constants) | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in figures.CONFIGURED.items()),
        "",
        "| measured (last full run) | value |",
        "|---|---|",
        *(f"| {name} | {measured[name]} |" for name in sorted(measured)),
        figures.END,
    ]
    return "\n".join(lines)


def rewrite_doc(text: str, block: str) -> str:
    head, start, rest = text.partition(figures.START)
    _old, end, tail = rest.partition(figures.END)
    if not start or not end:
        raise ValueError("docs/RELIABILITY.md has lost its figures markers")
    return head + block + tail


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("INBOX_UPDATE_RELIABILITY") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    missing = sorted(set(figures.REQUIRED) - set(figures.MEASURED))
    if exitstatus != 0 or missing:
        if reporter is not None:
            reporter.write_line(
                f"RELIABILITY.md not updated (failed run or figures missing: {missing})"
            )
        return
    text = figures.DOC.read_text("utf-8")
    block = render_table(dict(figures.MEASURED), datetime.now(UTC))
    figures.DOC.write_text(rewrite_doc(text, block), "utf-8")
    if reporter is not None:
        reporter.write_line(f"RELIABILITY.md figures updated ({len(figures.MEASURED)} measured)")
