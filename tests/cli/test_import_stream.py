"""`inbox import` of a maildir as a stream: parsed in worker processes, stored in transactions that
record their files, re-imported without reading unchanged files, and a crash loses only the batch
in flight. What is stored and printed is what the whole-maildir import stored and printed."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from inbox.cli import import_stream, importing, main
from inbox.cli.importing import import_paths
from inbox.models import Attachment, Author, Channel, Direction, IdentityKind, Message, Rejection, Surface
from inbox.store import imported_files
from inbox.store.imported_files import ImportedFile
from inbox.store.repository import Store
from tests.factories import T0
from tests.providers.email.servers import process_running

TABLES = {
    "messages": "SELECT provider_id, conversation_id, direction, author_key, subject, text, sent_at, refs FROM messages",
    "conversations": "SELECT id, subject, status, message_count, last_message_at, customer_id FROM conversations",
    "identities": "SELECT kind, key, customer_id FROM identities",
    "thread_keys": "SELECT key, conversation_id FROM thread_keys",
    "events": "SELECT conversation_id, kind, at, value FROM events",
}


def write_maildir(root: Path, threads: int = 6, replies: int = 3) -> Path:
    """A maildir of ``threads`` threads of 1 + ``replies`` messages, a broken file and a
    dovecot file; names sort so that replies come before their thread's first message sometimes."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for t in range(threads):
        for r in range(replies + 1):
            mid = f"<t{t}.r{r}@example.org>"
            refs = " ".join(f"<t{t}.r{i}@example.org>" for i in range(r))
            when = format_datetime(T0.replace(day=1 + t, hour=1 + r))
            head = [f"From: Customer {t} <c{t}@example.org>" if r % 2 == 0 else "From: Support <support@shop.example>",
                    "To: support@shop.example", f"Subject: {'Re: ' if r else ''}Parcel {t}", f"Date: {when}",
                    f"Message-ID: {mid}"]  # fmt: skip
            if refs:
                head += [f"In-Reply-To: <t{t}.r{r - 1}@example.org>", f"References: {refs}"]
            name = f"{(t * 7 + r * 3) % 100:03d}.{t}.{r}:2,S"
            (root / "cur" / name).write_text("\n".join(head) + f"\n\nMessage {r} about parcel {t}.\n", "utf-8")
    (root / "cur" / "999.broken:2,").write_bytes(b"\x00\x01 not a mail at all \xff")
    (root / "dovecot-uidlist").write_text("3 V1 N1\n")
    return root


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    store = Store.open(db)
    try:
        return {name: sorted(tuple(r) for r in store._rows(sql)) for name, sql in TABLES.items()}
    finally:
        store.close()


def imported(tmp_path: Path, name: str, maildir: Path, **kwargs: Any) -> tuple[Path, dict[str, Any]]:
    db = tmp_path / f"{name}.db"
    store = Store.open(db)
    summary = import_paths(store, [maildir], **kwargs)
    store.close()
    return db, {**summary.as_dict(), "conversations": len(summary.result.conversations)}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3 files and transactions of 5 messages, so that a small maildir has many."""
    monkeypatch.setattr(import_stream, "FILES_PER_BATCH", 3)
    monkeypatch.setattr(importing, "TRANSACTION_MESSAGES", 5)


def test_worker_processes_store_what_one_process_stores(tmp_path: Path, small_batches: None) -> None:
    maildir = write_maildir(tmp_path / "mail")
    alone, alone_summary = imported(tmp_path, "alone", maildir, workers=0)
    pooled, pooled_summary = imported(tmp_path, "pooled", maildir, workers=2)
    assert alone_summary["added"] == 24 and alone_summary["conversations"] == 6
    assert [r["source"] for r in alone_summary["rejected"]] == [str(maildir / "cur" / "999.broken:2,")]
    assert pooled_summary == alone_summary
    assert dump(pooled) == dump(alone)


def test_importing_again_reads_no_unchanged_file_and_reports_the_same(tmp_path: Path, small_batches: None) -> None:
    maildir = write_maildir(tmp_path / "mail")
    db = tmp_path / "inbox.db"
    store = Store.open(db)
    first = import_paths(store, [maildir], workers=0).as_dict()
    stored = dump(db)
    plan = import_stream.plan(maildir, store.known_imported_files("email:import", maildir))
    assert plan.skipped_files == 24 and [Path(f.path).name for f in plan.to_parse] == ["999.broken:2,"]
    second = import_paths(store, [maildir], workers=0).as_dict()
    assert second["added"] == 0 and second["duplicates"] == first["added"] + first["duplicates"]
    assert second["rejected"] == first["rejected"]
    assert dump(db) == stored
    # a file changed since (same path, new size and time) is read again: its new message is added
    changed = next(p for p in (maildir / "cur").iterdir() if p.name.endswith(".0.0:2,S"))
    changed.write_text(changed.read_text("utf-8").replace("<t0.r0@", "<t0.r0-edited@") + "More.\n", "utf-8")
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    third = import_paths(store, [maildir], workers=0).as_dict()
    assert third["added"] == 1 and third["duplicates"] == 23
    store.close()


def test_a_crash_loses_only_the_transaction_in_flight(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    maildir = write_maildir(tmp_path / "mail")
    whole, _ = imported(tmp_path, "whole", maildir, workers=0)
    db = tmp_path / "crashed.db"
    store = Store.open(db)
    real = imported_files.record
    calls = {"n": 0}

    def crash_on_third(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # the process dies here, inside the third transaction, after its
            raise KeyboardInterrupt  # messages were written and before its files are recorded
        return real(*args)

    monkeypatch.setattr(imported_files, "record", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        import_paths(store, [maildir], workers=0)
    monkeypatch.setattr(imported_files, "record", real)
    kept = len(store._rows("SELECT 1 FROM messages"))
    recorded = len(store._rows("SELECT 1 FROM imported_files"))
    assert kept == 10 and recorded == 10  # two transactions of 5 messages, one message per file
    again = import_paths(store, [maildir], workers=0).as_dict()
    assert again["added"] == 24 - kept and again["duplicates"] == kept
    store.close()
    assert dump(db) == dump(whole)


def test_the_stream_reads_files_as_it_stores_them(tmp_path: Path, small_batches: None) -> None:
    """Files are parsed batch by batch as the importer asks, not all before the first is stored:
    a file removed after the first batch was taken is reported missing, not already parsed."""
    maildir = write_maildir(tmp_path / "mail", threads=3, replies=1)
    files = import_stream.plan(maildir, {}).to_parse
    stream = import_stream.parsed_files([(files, T0)], workers=0)
    first = next(stream)
    assert first.messages
    last = Path(files[-2].path)  # the last mail file (the broken one sorts after)
    last.unlink()
    rest = list(stream)
    [gone] = [p for p in rest if p.file.path == str(last)]
    assert not gone.messages and gone.rejections


def test_inbox_import_prints_and_exits_as_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maildir = write_maildir(tmp_path / "mail")
    db = str(tmp_path / "inbox.db")
    assert main(["--db", db, "import", str(maildir)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "24 messages added, 0 duplicates skipped, 0 ignored, 6 conversations touched, 1 rejected"
    assert err.startswith(f"rejected {maildir / 'cur' / '999.broken:2,'}: ")
    assert main(["--db", db, "import", "--json", str(maildir)]) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["added"], again["duplicates"], len(again["rejected"])) == (0, 24, 1)


def test_the_hand_over_from_a_worker_keeps_every_field() -> None:
    """What a worker sends the writer is rebuilt field for field, attachment bytes included."""
    message = Message(
        provider_id="<a@b.c>", channel=Channel.EMAIL, surface=Surface.EMAIL, direction=Direction.INBOUND,
        author=Author(IdentityKind.EMAIL, "lea@example.org", "lea@example.org", "Léa", 12, "https://a/b.png"),
        text="Bonjour", sent_at=T0, subject="Colis", html="<p>Bonjour</p>",
        recipients=(Author(IdentityKind.EMAIL, "support@shop.example"), Author(IdentityKind.EMAIL, "b@c.d", "b@c.d", "B")),
        attachments=(Attachment("facture.pdf", "application/pdf", 3, None, "cid1", b"%PD"),),
        thread_key="t", reply_to_id="<x@y>", references=("<w@y>", "<x@y>"), automated=True, private=True,
        meta={"source": "/m/cur/1", "auto": "list"},
    )  # fmt: skip
    parsed = import_stream.ParsedFile(
        ImportedFile("/m/cur/1", 10, 20), (message,), (Rejection("/m/cur/2", "not an e-mail message"),)
    )
    packed = import_stream.pack(parsed)
    # A field added to a model must be added to the hand-over too (or it arrives as its default).
    assert len(packed[3][0]) == len(dataclasses.fields(Message))
    assert len(packed[3][0][4]) == len(dataclasses.fields(Author))
    assert len(packed[3][0][10][0]) == len(dataclasses.fields(Attachment))
    back = import_stream.unpack(pickle.loads(pickle.dumps(packed)))
    assert back == parsed
    assert back.messages[0].attachments[0].data == b"%PD"  # not part of equality
    assert type(back.messages[0].channel) is Channel and type(back.messages[0].author.kind) is IdentityKind


FORKED_IMPORT = """
import json, sys, threading, time
from pathlib import Path
from inbox.cli import import_stream, importing
from inbox.store.repository import Store
import_stream.FILES_PER_BATCH, importing.TRANSACTION_MESSAGES = 3, 5
if sys.argv[3] == "thread":
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
method = import_stream.start_method()
store = Store.open(Path(sys.argv[2]))
summary = importing.import_paths(store, [Path(sys.argv[1])], workers=2)
store.close()
print(json.dumps({"method": method, **summary.as_dict(), "conversations": len(summary.result.conversations)}))
"""


@pytest.mark.parametrize(("threads", "method"), [("alone", "fork"), ("thread", "forkserver")])
def test_workers_are_forked_only_from_a_process_without_other_threads(
    tmp_path: Path, small_batches: None, threads: str, method: str
) -> None:
    """``inbox import`` (one thread) forks its parsers; a process with another thread (the app, a
    test runner) starts them from a server. Either way the store holds what one process stores."""
    import subprocess
    import sys

    maildir = write_maildir(tmp_path / "mail")
    alone, alone_summary = imported(tmp_path, "alone", maildir, workers=0)
    db = tmp_path / f"in-a-process-{threads}.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", FORKED_IMPORT, str(maildir), str(db), threads],
                          capture_output=True, text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary.pop("method") == method
    assert summary == alone_summary
    assert dump(db) == dump(alone)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the kernel's process table)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_parser_workers_leave_when_the_import_is_killed(tmp_path: Path) -> None:
    """`inbox import` killed mid-import (SIGKILL: it cannot stop its workers) leaves no parser
    behind waiting for work for ever with the store's files open, and the next import stores
    what the killed one had not."""
    import signal
    import subprocess
    import sys
    import time

    maildir = tmp_path / "mail"  # 2,000 files: more than are parsed without workers
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(2000):
        (maildir / "cur" / f"{n:05d}.mail:2,S").write_text(
            f"From: Customer {n % 300} <c{n % 300}@example.org>\nTo: support@shop.example\n"
            f"Subject: Parcel {n}\nDate: {format_datetime(T0)}\nMessage-ID: <m{n}@example.org>\n\nWhere is parcel {n}?\n",
            "utf-8",
        )
    db = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("INBOX_DB", None)
    command = [sys.executable, "-m", "inbox", "--db", str(db), "import", str(maildir)]
    importer = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    expected = min(2, os.cpu_count() or 1)  # one parser a core
    while len(workers) < expected and importer.poll() is None and time.monotonic() < deadline:
        workers = _children(importer.pid)  # forked: the workers are the importer's children
        time.sleep(0.01)
    assert len(workers) >= expected, "the import did not start its workers"
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    deadline = time.monotonic() + 20
    while any(process_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(process_running(pid) for pid in workers), f"parsers left running: {[p for p in workers if process_running(p)]}"
    again = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    summary = json.loads(again.stdout)
    assert summary["added"] + summary["duplicates"] == 2000
    assert len(dump(db)["messages"]) == 2000
