"""The command line as an admin or a script uses it, on a real store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbox.cli import main
from tests.corpus import corpus_dir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_whole_corpus_imports_or_is_rejected_with_reasons_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = corpus_dir()
    db = str(tmp_path / "c.db")
    code, out, err = run(capsys, "--db", db, "import", "--json", str(corpus))
    first = json.loads(out)
    assert code == 1  # some files are not importable, and say why
    assert first["added"] > 1000
    for rejection in first["rejected"]:
        assert rejection["reason"] and "\n" not in rejection["reason"]
        assert rejection["source"].startswith(str(corpus))
    code, out, _ = run(capsys, "--db", db, "import", "--json", str(corpus))
    second = json.loads(out)
    assert second["added"] == 0
    assert second["duplicates"] == first["added"] + first["duplicates"]
    assert len(second["rejected"]) == len(first["rejected"])


def test_queue_show_customer_search_and_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.db")
    lkml = corpus_dir("chatwoot", "spec", "fixtures", "files")
    run(capsys, "--db", db, "import", str(lkml / "in_reply_to.eml"), str(lkml / "only_text.eml"))
    code, out, _ = run(capsys, "--db", db, "queue", "--json")
    rows = json.loads(out)
    assert code == 0 and rows
    assert set(rows[0]) >= {"id", "channel", "subject", "status", "customer_id", "customer_name", "message_count",
                            "first_message_at", "last_message_at"}
    assert rows[0]["first_message_at"].endswith("Z")
    cid = rows[0]["id"]
    code, out, _ = run(capsys, "--db", db, "show", str(cid), "--json")
    thread = json.loads(out)
    assert thread["messages"] and set(thread["messages"][0]) >= {"id", "direction", "channel", "surface", "author", "sent_at", "text"}
    assert run(capsys, "--db", db, "tag", str(cid), "refund")[0] == 0
    assert run(capsys, "--db", db, "set-status", str(cid), "pending", "--at", "2026-11-20T10:00:00Z")[0] == 0
    code, out, _ = run(capsys, "--db", db, "queue", "--status", "pending", "--json")
    assert [r["id"] for r in json.loads(out)] == [cid]
    code, _, err = run(capsys, "--db", db, "set-status", str(cid), "open", "--at", "2026-11-20T10:00:00")
    assert code == 2 and "--at" in err and "timezone" in err
    code, out, _ = run(capsys, "--db", db, "customer", str(rows[0]["customer_id"]), "--json")
    assert json.loads(out)["conversations"]
    code, out, _ = run(capsys, "--db", db, "search", 'AND( "quoted', "--json")
    assert code == 0 and json.loads(out) == []


def test_crm_import_links_identities_and_reports_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.db")
    csv = tmp_path / "crm.csv"
    csv.write_text(
        "customer_number,name,emails,phones,twitter,vip\n"
        "C-1,Léa Martin,lea@example.fr;lea.m@work.example,06 12 34 56 78,@leamartin,yes\n"
        ",Nobody,x@example.com,,,\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "--db", db, "customers", "import", str(csv))
    assert code == 1 and "line 3" in err and "customer_number" in err
    assert "1 customers created" in out
    code, out, _ = run(capsys, "--db", db, "customer", "email:lea.m@work.example", "--json")
    data = json.loads(out)
    assert data["crm_number"] == "C-1" and data["vip"] is True
    kinds = {i["kind"] for i in data["identities"]}
    assert kinds == {"email", "phone", "twitter"}
    assert {"kind": "phone", "key": "+33612345678", "handle": "+33612345678", "name": ""} in data["identities"]


def test_sla_command_reports_targets_as_of_an_instant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.db")
    mail = tmp_path / "m.eml"
    mail.write_bytes(
        b"From: Lea <lea@example.fr>\r\nTo: support@shop.example\r\nSubject: Late order\r\n"
        b"Date: Fri, 20 Nov 2026 16:30:00 +0100\r\nMessage-ID: <a1@example.fr>\r\n\r\nWhere is it?\r\n"
    )
    run(capsys, "--db", db, "import", str(mail))
    code, out, _ = run(capsys, "--db", db, "sla", "--at", "2026-11-20T15:40:00Z", "--json")
    rows = json.loads(out)
    assert code == 0
    first = next(r for r in rows if r["target"] == "first_reply")
    assert first["state"] in {"ok", "warning"} and first["due_at"].endswith("Z")
    assert set(first) >= {"conversation_id", "policy", "target", "state", "due_at", "remaining_s", "elapsed_s"}
    code, out, _ = run(capsys, "--db", db, "sla", "--at", "2026-11-20T15:00:00Z", "--json")
    assert json.loads(out) == []  # before the message, nothing runs


def test_newer_store_is_refused_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    db = tmp_path / "c.db"
    run(capsys, "--db", str(db), "queue")
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('inbox', '0999_x', 'x')")
    conn.commit()
    conn.close()
    code, _, err = run(capsys, "--db", str(db), "queue")
    assert code == 2 and "newer version" in err


def test_queue_and_show_reveal_direction_overrides_and_controls_as_the_window_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A right-to-left override in a sender's name or subject is shown, not obeyed (one rule:
    inbox.safe_text.reveal, which the window uses too)."""
    from email.message import EmailMessage

    from inbox.ui.text import one_line as window_one_line

    msg = EmailMessage()
    msg["From"] = "Invoice \u202egpj.exe <lea@example.fr>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = "Order \u202e1144 \u200bnow"
    msg["Message-ID"] = "<rlo@example.fr>"
    msg["Date"] = "Fri, 20 Nov 2026 10:00:00 +0100"
    msg.set_content("Hello \u202eyrgna\x1b[31m red")
    path = tmp_path / "rlo.eml"
    path.write_bytes(msg.as_bytes())
    db = str(tmp_path / "c.db")
    assert run(capsys, "--db", db, "import", str(path))[0] == 0
    code, out, _ = run(capsys, "--db", db, "queue")
    assert code == 0
    assert "\u202e" not in out and "\u200b" not in out
    assert "Invoice ⟦U+202E⟧gpj.exe" in out and "Order ⟦U+202E⟧1144 ⟦U+200B⟧now" in out
    assert window_one_line("Order \u202e1144 \u200bnow") in out  # what the window shows
    code, out, _ = run(capsys, "--db", db, "show", "1")
    assert code == 0 and "\u202e" not in out and "\x1b" not in out
    assert "Hello ⟦U+202E⟧yrgna" in out
    code, out, _ = run(capsys, "--db", db, "queue", "--json")
    assert "\u202e" in json.loads(out)[0]["subject"]  # JSON keeps the data as it is
