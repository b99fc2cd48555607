"""``inbox canned list|add|remove`` on a real store file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from inbox.cli import canned_commands
from tests.cli.only import run_only


def cli(*argv: str) -> int:
    """Like ``inbox.cli.main`` with only these commands registered."""
    return run_only(canned_commands.register, *argv)


def listed(db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert cli("canned", "list", "--json", "--db", str(db), *extra) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_a_new_workspace_lists_the_defaults_by_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "inbox.db"
    french = listed(db, capsys, "--lang", "fr")
    assert len(french) >= 5 and {r["lang"] for r in french} == {"fr"}
    assert "Remboursement effectué" in [r["title"] for r in french]
    assert cli("canned", "--lang", "en", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "Refund issued" in out and "Remboursement" not in out


def test_add_then_find_then_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "inbox.db"
    assert (
        cli(
            "canned",
            "add",
            "--db",
            str(db),
            "--title",
            "Échange de taille",
            "--lang",
            "fr",
            "--body",
            "Bonjour {first_name}, l'échange est lancé.",
            "--tags",
            "Échange, taille",
        )
        == 0
    )
    new_id = int(capsys.readouterr().out.strip())
    [hit] = listed(db, capsys, "--search", "echange")
    assert (hit["id"], hit["tags"]) == (new_id, ["échange", "taille"])
    assert cli("canned", "remove", "--db", str(db), str(new_id)) == 0
    assert listed(db, capsys, "--search", "echange") == []
    assert cli("canned", "remove", "--db", str(db), str(new_id)) == 2
    assert f"canned response {new_id}: no such response" in capsys.readouterr().out


def test_add_refuses_bad_input_and_warns_on_a_typo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "inbox.db"
    assert cli("canned", "add", "--db", str(db), "--title", " ", "--lang", "en", "--body", "x") == 2
    assert "title: a response needs a title" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("Hi {frist_name},\nsecond line\n"))
    assert cli("canned", "add", "--db", str(db), "--title", "T", "--lang", "en", "--body", "-") == 0
    captured = capsys.readouterr()
    assert "{frist_name}" in captured.err
    [row] = [r for r in listed(db, capsys) if r["title"] == "T"]
    assert row["body"] == "Hi {frist_name},\nsecond line"
