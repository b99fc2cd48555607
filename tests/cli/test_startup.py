"""The read commands an agent types all day start without the app's heavy parts.

`inbox queue`, `inbox search` and `inbox show` run in a fresh interpreter, as a user runs them;
the modules they loaded are then compared with what only the app, the sync engine, sentiment or
migrations need. (How fast they answer is measured by ``bench/measure_cli.py``, not here.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inbox.store.repository import Store
from tests.factories import MAILBOX, mail

#: Imported by none of the read commands: the window (Qt), the network (httpx, providers, the sync
#: engine, asyncio), sentiment (textblob), holidays and the SLA engine, reports, and sqlite-utils
#: (only a store that needs a migration imports it).
HEAVY = (
    "PySide6",
    "qasync",
    "textblob",
    "httpx",
    "keyring",
    "nh3",
    "asyncio",
    "holidays",
    "sqlite_utils",
    "inbox.ui",
    "inbox.app.shell",
    "inbox.providers",
    "inbox.app.workspace",
    "inbox.sla.engine",
    "inbox.sla.reports",
    "inbox.triage.sentiment_textblob",
    "inbox.store.analytics",
)

PROBE = """
import json, sys
from inbox.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
raise SystemExit(code)
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("startup") / "inbox.db"
    store = Store.open(path)
    store.save_account(MAILBOX)
    store.ingest(MAILBOX, [mail("a@x", text="My parcel arrived broken"), mail("b@x", refs=("a@x",), minutes=3)])
    store.close()
    return path


def _run(db: Path, *argv: str) -> tuple[str, set[str]]:
    env = {k: v for k, v in os.environ.items() if k != "INBOX_DB"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--db", str(db), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out, _, modules = done.stdout.rpartition("\nMODULES ")
    return out, set(json.loads(modules))


@pytest.mark.parametrize(
    "argv",
    [("queue", "--json"), ("queue",), ("search", "parcel", "--json"), ("search", "lea@example.fr"), ("show", "1")],
)
def test_read_commands_load_no_heavy_module(db: Path, argv: tuple[str, ...]) -> None:
    out, modules = _run(db, *argv)
    assert out.strip()  # it answered
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert loaded == []


def test_the_probe_sees_heavy_modules_when_a_command_uses_them(db: Path) -> None:
    """The check above can fail: `inbox sla` does load the SLA engine and the workspace."""
    _out, modules = _run(db, "sla", "--json")
    assert {"inbox.sla.engine", "inbox.app.workspace"} <= modules


def test_read_commands_answer_the_same_as_in_process(db: Path) -> None:
    out, _ = _run(db, "queue", "--json")
    [row] = json.loads(out)
    assert row["message_count"] == 2 and row["customer_name"] == "Léa Martin"
    out, _ = _run(db, "show", str(row["id"]), "--json")
    assert [m["text"] for m in json.loads(out)["messages"]] == ["My parcel arrived broken", "Hello"]


def test_report_groupings_registered_without_the_reports_module_are_the_reports_ones() -> None:
    from inbox.cli import report_commands
    from inbox.sla import reports

    assert report_commands.GROUPINGS == reports.GROUPINGS


def test_a_command_parsed_alone_parses_as_in_the_whole_command_line(db: Path) -> None:
    """Only the command being run gets its parser built; every command still parses the same."""
    from inbox.cli import _commands, build_parser

    whole = build_parser()
    for name in sorted(_commands(whole)):
        alone = build_parser(name)
        assert _commands(alone) == {name}
        sub = next(a for a in alone._actions if isinstance(a, argparse._SubParsersAction))
        full = next(a for a in whole._actions if isinstance(a, argparse._SubParsersAction))
        assert sub.choices[name].format_help() == full.choices[name].format_help()


def test_a_mistyped_command_is_named_with_every_real_one(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inbox.cli import main

    with pytest.raises(SystemExit):
        main(["--db", str(db), "quue"])
    err = capsys.readouterr().err
    assert "invalid choice: 'quue'" in err and "'queue'" in err and "'dashboard-screenshot'" in err
    assert main(["--db", str(db), "account", "remove", "email:nobody"]) == 2  # account: two modules register it


def test_the_read_commands_are_all_registered_by_the_commands_module() -> None:
    """`inbox queue|search|show|customer` register nothing but inbox.cli.commands' parsers."""
    from inbox.cli import READ_COMMANDS, commands

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    commands.register(sub)
    assert set(READ_COMMANDS) <= set(sub.choices)
