"""The bench's generated workspace is real import data: every file parses, counts are as planned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.generate import HEAVY_EMAIL, generate, plan
from bench.measure_ingest import fresh_store, ingest
from inbox.cli.importing import iter_inputs, parse_path
from inbox.models import Channel, IdentityKind


def test_every_generated_file_parses_into_the_planned_messages(tmp_path: Path) -> None:
    data = generate(tmp_path / "w", scale=2000)
    assert data.total_messages == 500 and data.total_conversations == 50
    parsed: dict[str, int] = {}
    for path in iter_inputs([data.mail, data.root / "x", data.root / "facebook", data.root / "forms"]):
        batch = parse_path(path, datetime.now(UTC))
        assert batch.rejections == (), batch.rejections[:3]
        for message in batch.messages:
            parsed[message.channel.value] = parsed.get(message.channel.value, 0) + 1
    assert parsed == data.messages


def test_the_workspace_imports_into_exactly_the_planned_conversations(tmp_path: Path) -> None:
    data = generate(tmp_path / "w", scale=2000)
    store = fresh_store(tmp_path / "bench.db")
    figures = ingest(store, data)
    assert figures["added"] == data.total_messages
    assert figures["rejected"] == 0
    by_channel = {
        r["channel"]: int(r["n"])
        for r in store._rows("SELECT channel, COUNT(*) AS n FROM conversations GROUP BY channel")
    }
    assert by_channel == {Channel(k).value: v for k, v in data.conversations.items()}
    directions = {r["direction"] for r in store._rows("SELECT DISTINCT direction FROM messages")}
    assert directions == {"in", "out"}  # the agents' replies are recognised as ours
    heavy = store.identity(IdentityKind.EMAIL, HEAVY_EMAIL)
    assert heavy is not None and heavy.customer_id is not None
    history = store.customer_conversations(heavy.customer_id)
    assert sum(c.message_count for c in history) == data.heavy_messages


def test_the_plan_depends_only_on_scale_and_seed() -> None:
    first, again = plan(2000), plan(2000)
    assert [(t.channel, t.order, t.times) for t in first] == [(t.channel, t.order, t.times) for t in again]
    assert [t.order for t in plan(2000, seed=1)] != [t.order for t in first]
