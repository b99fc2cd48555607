"""Email import of one maildir, beside its peers, in the same minutes:

- ``inbox import`` (``import_paths``: streamed, parsed in worker processes, one writer), timed,
  with the importer's and the workers' peak RSS, in a fresh process as a user runs it;
- the same maildir imported again (unchanged: every file skipped unread);
- ``notmuch new`` on the same maildir (index and thread, from an empty database);
- each of the two twice, interleaved, the faster run counting (``--rounds``), after one read of
  every file so that both read the mail from memory;
- the floor of a Python importer: the standard library's ``email`` parser (compat32) and one
  ``executemany`` per 5,000 rows into SQLite with FTS5, in one process, no threading, no customers.

``python -m bench.measure_maildir --messages 100000`` prints the figures.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import sqlite3
import subprocess
import sys
import time
from email import policy
from pathlib import Path
from typing import Any

from bench import measure_ingest
from bench.generate import SUPPORT_EMAIL, generate_maildir

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

# Runs in a fresh process: a store with the brand's address, import_paths timed, then again;
# peak RSS of this process (VmHWM) and of the worker processes (RUSAGE_CHILDREN).
CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path
from inbox.cli.importing import import_paths
from inbox.models import Account, Channel
from inbox.store.repository import Store

def peak_mb(pid="self"):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0

WORKERS = {}

def descendants():
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parents[int(name)] = int(open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    mine, grew = {os.getpid()}, True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in mine} - mine
        grew, mine = bool(more), mine | more
    return mine - {os.getpid()}

def sample(stop):
    # The parser workers are children of multiprocessing's fork server: their peaks are read
    # while they live (VmHWM), every 0.2 s.
    while not stop.wait(0.2):
        for pid in descendants():
            WORKERS[pid] = max(WORKERS.get(pid, 0.0), peak_mb(pid))

if __name__ == "__main__":
    mail, db, support = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    store = Store.open(db)
    store.save_account(Account("email:import", Channel.EMAIL, "Acme mail", own_keys=frozenset({support})))
    stop = threading.Event()
    threading.Thread(target=sample, args=(stop,), daemon=True).start()
    started = time.perf_counter()
    first = import_paths(store, [mail])
    first_s = time.perf_counter() - started
    first_rss = peak_mb()
    started = time.perf_counter()
    again = import_paths(store, [mail])
    again_s = time.perf_counter() - started
    print(json.dumps({
        "seconds": first_s, "added": first.result.added, "duplicates": first.result.duplicates,
        "rejected": len(first.rejections), "conversations": len(first.result.conversations),
        "again_seconds": again_s, "again_added": again.result.added, "again_duplicates": again.result.duplicates,
        "peak_rss_mb": first_rss, "workers_peak_rss_mb": max(WORKERS.values(), default=0.0),
    }))
"""


def inbox_import(mail: Path, db: Path) -> dict[str, Any]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    script = db.parent / "measure_maildir_child.py"  # in the output folder given, which exists
    script.write_text(CHILD, "utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(mail), str(db), SUPPORT_EMAIL], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average"] = os.getloadavg()
    return result


FLOOR_SCHEMA = """
CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT, sender TEXT, subject TEXT, sent TEXT, text TEXT);
CREATE VIRTUAL TABLE messages_fts USING fts5(subject, text, sender, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, subject, text, sender) VALUES (new.id, new.subject, new.text, new.sender);
END;
"""


def _text(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def stdlib_floor(mail: Path, db: Path) -> dict[str, Any]:
    """Parse every file with ``email`` (compat32) and insert sender, subject, date and the plain
    text into SQLite with FTS5, 5,000 rows per transaction: what any Python importer pays."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(FLOOR_SCHEMA)
    sql = "INSERT INTO messages (message_id, sender, subject, sent, text) VALUES (?,?,?,?,?)"
    started = time.perf_counter()
    rows: list[tuple[str, str, str, str, str]] = []
    count = 0
    for folder, _dirs, names in sorted(os.walk(mail)):
        if not folder.endswith(("/cur", "/new")):
            continue
        for name in sorted(names):
            with open(os.path.join(folder, name), "rb") as handle:
                message = email.message_from_binary_file(handle, policy=policy.compat32)
            rows.append(
                (str(message["Message-ID"]), str(message["From"]), str(message["Subject"]), str(message["Date"]), _text(message))
            )
            if len(rows) >= 5_000:
                conn.execute("BEGIN")
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
                count += len(rows)
                rows = []
    if rows:
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        count += len(rows)
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "messages": count, "load_average": os.getloadavg()}


def measure(messages: int, out: Path = OUT, notmuch: bool = True, rounds: int = 2) -> dict[str, Any]:
    """Each importer ``rounds`` times, interleaved (inbox, notmuch, inbox, notmuch), each from an
    empty database; the faster round of each is the figure (a round slowed by other work on the
    machine says nothing about the importer), every round is kept under ``*_rounds``."""
    mail = generate_maildir(out / f"maildir-{messages}", messages)
    results: dict[str, Any] = {"messages": messages, "warm_seconds": measure_ingest.warm_page_cache(mail)}
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for _round in range(max(1, rounds)):
        ours.append(inbox_import(mail, out / f"maildir-{messages}.db"))
        found = measure_ingest.notmuch_new(mail, out) if notmuch else None
        if found is not None:
            theirs.append(found)
    results["inbox"] = min(ours, key=lambda r: float(r["seconds"]))
    results["inbox_rounds"] = [round(float(r["seconds"]), 2) for r in ours]
    if theirs:
        results["notmuch_new"] = min(theirs, key=lambda r: float(r["seconds"]))
        results["notmuch_new_rounds"] = [round(float(r["seconds"]), 2) for r in theirs]
    results["stdlib_floor"] = stdlib_floor(mail, out / f"maildir-{messages}-floor.db")
    return results


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(measure, value, target, pass) for bench.run's table."""
    ours = r["inbox"]
    rate = ours["added"] / ours["seconds"]
    found: list[tuple[str, str, str, bool | None]] = [
        (f"maildir import, {ours['added']:,} msgs (msg/s)", f"{rate:,.0f}", ">= 1,500", rate >= 1500)
    ]
    floor = r.get("stdlib_floor")
    if floor:
        floor_rate = floor["messages"] / floor["seconds"]
        found.append(("  peer: stdlib parse + SQLite FTS, 1 process (msg/s)", f"{floor_rate:,.0f}", "", None))
    nm = r.get("notmuch_new")
    if nm:
        nm_rate = nm["messages"] / nm["seconds"]
        found.append(("  peer: notmuch new, same maildir (msg/s)", f"{nm_rate:,.0f}", "", None))
        found.append(("maildir import / notmuch new", f"{rate / nm_rate:.2f}x", ">= 3x", rate >= 3 * nm_rate))
    if r.get("inbox_rounds"):
        each = ", ".join(f"{s:.1f}" for s in r["inbox_rounds"])
        theirs = ", ".join(f"{s:.1f}" for s in r.get("notmuch_new_rounds", []))
        found.append(("  rounds, inbox import / notmuch new (s)", f"{each} / {theirs or '-'}", "", None))
    share = ours["again_seconds"] / ours["seconds"]
    found.append(
        ("maildir import again, unchanged (s, share of first)", f"{ours['again_seconds']:.2f} ({share:.1%})", "< 5%", share < 0.05)
    )
    found.append(("  again: added / duplicates", f"{ours['again_added']:,} / {ours['again_duplicates']:,}", "", None))
    found.append(("peak RSS, importer (MB)", f"{ours['peak_rss_mb']:.0f}", "<= 300", ours["peak_rss_mb"] <= 300))
    found.append(
        ("peak RSS, each parser worker (MB)", f"{ours['workers_peak_rss_mb']:.0f}", "<= 300", ours["workers_peak_rss_mb"] <= 300)
    )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.measure_maildir", description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--no-notmuch", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each importer, interleaved; the faster counts")
    args = parser.parse_args(argv)
    r = measure(args.messages, notmuch=not args.no_notmuch, rounds=args.rounds)
    print(json.dumps(r, indent=2))
    for name, value, target, ok in rows(r):
        print(f"{name:55} {value:>22} {target:>9} {'' if ok is None else ('PASS' if ok else 'MISS')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
