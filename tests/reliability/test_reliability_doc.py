"""docs/RELIABILITY.md shows the figures the test code is configured for (regenerate it with
``INBOX_UPDATE_RELIABILITY=1 pytest tests/reliability`` after changing a constant)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.reliability import figures
from tests.reliability.conftest import render_table, rewrite_doc


def _block() -> str:
    text = figures.DOC.read_text("utf-8")
    start, end = text.index(figures.START), text.index(figures.END)
    return text[start:end]


def test_the_document_matches_the_configured_constants() -> None:
    configured = dict(re.findall(r"^\| (\w+) \| (\d+) \|$", _block(), re.MULTILINE))
    expected = {name: str(value) for name, value in figures.CONFIGURED.items()}
    assert {k: configured.get(k) for k in expected} == expected, (
        "docs/RELIABILITY.md is older than the test constants: run "
        "INBOX_UPDATE_RELIABILITY=1 pytest tests/reliability"
    )


def test_the_document_has_every_required_measured_figure() -> None:
    measured = set(re.findall(r"^\| (\w+) \| ", _block(), re.MULTILINE))
    assert set(figures.REQUIRED) <= measured
    assert re.search(r"^\| secrets_found \| 0 \|$", _block(), re.MULTILINE)


def test_rewriting_replaces_only_the_block() -> None:
    text = f"intro\n{figures.START}\nold\n{figures.END}\noutro\n"
    block = render_table({"x": "1"}, datetime(2026, 1, 1, tzinfo=UTC))
    out = rewrite_doc(text, block)
    assert out.startswith("intro\n") and out.endswith("\noutro\n") and "old" not in out
    assert "| x | 1 |" in out and f"| seed | {figures.SEED} |" in out
