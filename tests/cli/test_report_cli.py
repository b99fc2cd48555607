"""`inbox report`, `agents`, `assign-new`, `triage`, `sentiment`, `alerts`, `dashboard-screenshot`."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.app.demo import build_demo
from inbox.cli import report_commands
from inbox.errors import InboxError
from inbox.models import Priority, QueueFilter, Status
from inbox.store.repository import Store


def run(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="inbox")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--demo", action="store_true")
    report_commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--db", str(db), *argv])
    try:
        code = args.handler(args)
    except InboxError as exc:
        print(f"inbox: {exc}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo(path, datetime.now(UTC))
    return path


@pytest.fixture()
def db(demo_file: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo.db"
    copy.write_bytes(demo_file.read_bytes())
    return copy


def test_report_json_csv_and_table(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = run(capsys, db, "report", "--json")
    data = json.loads(out)
    assert code == 0 and data["by"] == "channel"
    keys = [r["key"] for r in data["rows"]]
    assert keys == ["email", "facebook", "twitter", "webform", "total"]
    total = data["rows"][-1]
    assert total["received"] == sum(r["received"] for r in data["rows"][:-1])
    assert total["first_reply_met"] + total["first_reply_breached"] > 0
    code, out, _ = run(capsys, db, "report", "--by", "agent", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"camille", "sophie", "yanis", "(unassigned)"} <= {r["key"] for r in rows}
    code, out, _ = run(capsys, db, "report", "--by", "day")
    assert code == 0 and "wall / business" in out and "First reply median" in out
    code, out, _ = run(capsys, db, "report", "--monthly", "--json")
    months = json.loads(out)
    assert {m["channel"] for m in months} == {"email", "facebook", "twitter", "webform"}


def test_report_dates_are_checked(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _, err = run(capsys, db, "report", "--from", "2026-13-01")
    assert code == 2 and "--from" in err
    code, _, err = run(capsys, db, "report", "--from", "2026-11-10", "--to", "2026-11-01")
    assert code == 2 and "before" in err
    code, out, _ = run(capsys, db, "report", "--from", "2020-01-01", "--to", "2020-01-31", "--json")
    assert code == 0 and json.loads(out)["rows"][-1]["received"] == 0


def test_agents_and_assignment(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    assert (
        run(
            capsys, db, "agents", "add", "lea", "--channels", "twitter,facebook", "--max-load", "3"
        )[0]
        == 0
    )
    assert run(capsys, db, "agents", "add", "marc", "--channels", "email")[0] == 0
    code, _, err = run(capsys, db, "agents", "add", "zed", "--channels", "fax")
    assert code == 2 and "fax" in err
    code, out, _ = run(capsys, db, "agents", "list", "--json")
    assert [a["name"] for a in json.loads(out)] == ["lea", "marc"]
    code, out, _ = run(capsys, db, "assign-new", "--strategy", "round-robin", "--json")
    result = json.loads(out)
    assert code == 0 and result["assigned"]
    store = Store.open(db)
    lea = [cid for cid, agent in result["assigned"] if agent == "lea"]
    assert len(lea) == 3  # her max load
    assert all(store.conversation(cid).channel.value in ("twitter", "facebook") for cid in lea)
    marc = [cid for cid, agent in result["assigned"] if agent == "marc"]
    assert marc and all(store.conversation(cid).channel.value == "email" for cid in marc)
    assert store.events(marc[0])[-1].actor == "assign-new"
    store.close()


def test_triage_show_load_run_and_agent_priority(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, db, "triage", "show")
    assert code == 0 and "[weights]" in out and "influencer = 25" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[weights]\nvipp = 1\n", "utf-8")
    code, _, err = run(capsys, db, "triage", "load", str(bad))
    assert code == 2 and "vipp" in err
    good = tmp_path / "rules.toml"
    good.write_text("[weights]\npublic = 60\n", "utf-8")
    assert run(capsys, db, "triage", "load", str(good))[0] == 0
    assert "public = 60" in run(capsys, db, "triage", "show")[1]
    run(capsys, db, "sentiment", "--run", "--all")
    store = Store.open(db)
    cid = store.queue(QueueFilter(statuses=frozenset({Status.NEW})), limit=1)[0].id
    store.close()
    assert run(capsys, db, "triage", "set-priority", str(cid), "low")[0] == 0
    code, out, _ = run(capsys, db, "triage", "run", "--json")
    rows = {r["conversation_id"]: r for r in json.loads(out)}
    assert rows[cid]["kept_agent_priority"] is True
    assert any(r["priority"] == "urgent" for r in rows.values())
    store = Store.open(db)
    assert store.conversation(cid).priority is Priority.LOW
    store.close()


def test_sentiment_and_alerts(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:  # the demo comes scored; start from unscored messages
        conn.execute("UPDATE messages SET sentiment = NULL, lang = NULL")
    code, out, _ = run(capsys, db, "sentiment", "--run", "--batch", "50", "--json")
    assert code == 0 and json.loads(out)["scored_now"] == 50
    code, out, _ = run(capsys, db, "sentiment", "--run", "--all", "--json")
    assert json.loads(out)["negative_conversations"]
    code, out, err = run(capsys, db, "alerts", "--check", "--json")
    assert code == 0 and "no crisis" in err and json.loads(out) == []
    code, _, err = run(capsys, db, "alerts", "--ack", "42")
    assert code == 2 and "42" in err


def test_dashboard_screenshot(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    out_png = tmp_path / "dash.png"
    code, out, _ = run(
        capsys, db, "dashboard-screenshot", str(out_png), "--lang", "fr", "--size", "1200x800"
    )
    assert code == 0 and out.strip() == str(out_png)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out_png.stat().st_size > 20_000


def test_an_acknowledged_alert_holds_for_its_burst(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--ack clears the alert; --check later with nothing new raises nothing for the same burst;
    a burst's worth of new negative messages beyond it raises a new one."""
    from datetime import timedelta

    from tests.factories import T0, X, tweet

    path = tmp_path / "inbox.db"
    store = Store.open(path)
    store.save_account(X)

    def angry(first: int, count: int, minutes: float) -> None:
        store.ingest(X, [tweet(f"t{n}", user=f"u{n}", handle=f"@c{n}", minutes=minutes,
                               text="@Shop outage again, awful") for n in range(first, first + count)])  # fmt: skip
        store._write(lambda db: db.execute("UPDATE messages SET sentiment = -0.8, lang = 'en'"))

    def check(minutes: float) -> list[int]:
        at = (T0 + timedelta(minutes=minutes)).isoformat()
        code, out, _err = run(capsys, path, "alerts", "--check", "--at", at, "--json")
        assert code == 0
        return [a["id"] for a in json.loads(out)]

    angry(0, 10, 0)
    [first] = check(5)
    assert check(6) == [first]  # open: one alert for one burst
    code, _, _ = run(capsys, path, "alerts", "--ack", str(first))
    assert code == 0
    assert check(7) == []  # two minutes later, nothing new: the acknowledgement holds
    angry(10, 2, 8)
    assert check(9) == []  # a couple more is the same burst going on
    angry(12, 5, 10)
    [second] = check(11)  # a burst's worth beyond the acknowledged one: a new alert
    assert second != first
    store.close()
