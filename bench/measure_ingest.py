"""Ingest through the real importer, the same rows through raw SQLite, the maildir through notmuch."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.generate import BRAND_X_ID, SUPPORT_EMAIL, Generated
from inbox.cli.importing import ImportSummary, import_paths
from inbox.models import Account, Channel
from inbox.store.database import connect
from inbox.store.repository import Store

RAW_BATCH = 10_000


def fresh_store(path: Path) -> Store:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store.open(path)
    # The brand's own addresses, so that agents' replies in the data are stored as outbound.
    store.save_account(Account("email:import", Channel.EMAIL, "Acme mail", own_keys=frozenset({SUPPORT_EMAIL})))
    store.save_account(Account("twitter:import", Channel.TWITTER, "Acme on X", own_keys=frozenset({BRAND_X_ID})))
    return store


def warm_page_cache(root: Path) -> float:
    """Read every file under ``root`` once, so that the importer and notmuch both read the mail
    from memory: whichever ran first on files not read since the machine started waited for the
    disk, the other did not. Returns the seconds it took."""
    started = time.perf_counter()
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    while handle.read(1 << 20):
                        pass
            except OSError:
                continue
    return time.perf_counter() - started


def ingest(store: Store, data: Generated) -> dict[str, float]:
    """Import the maildir, then the X, Graph and form files; seconds and counts of each."""
    out: dict[str, float] = {}
    started = time.perf_counter()
    mail = import_paths(store, [data.mail])
    out["email_s"] = time.perf_counter() - started
    out["email_added"] = mail.result.added
    started = time.perf_counter()
    rest = import_paths(store, [data.root / "x", data.root / "facebook", data.root / "forms"])
    out["other_s"] = time.perf_counter() - started
    out["other_added"] = rest.result.added
    out["rejected"] = len(mail.rejections) + len(rest.rejections)
    out["seconds"] = out["email_s"] + out["other_s"]
    out["added"] = out["email_added"] + out["other_added"]
    out["conversations"] = len(mail.result.conversations | rest.result.conversations)
    _first_rejections(mail, rest)
    return out


def _first_rejections(*summaries: ImportSummary) -> None:
    for summary in summaries:
        for rejection in summary.rejections[:3]:
            print(f"  rejected: {rejection.source}: {rejection.reason}")


def raw_sqlite(source: Store, target: Path) -> dict[str, float]:
    """The machine's limit: the same message rows inserted with ``executemany`` into a fresh store
    of the same schema (indexes on, the search index written at each commit as the store writes
    it, foreign keys off), one transaction per 10,000 rows. Only the inserts are timed, not
    reading the rows back."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    db = connect(target)
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    columns = [r[1] for r in source.db.conn.execute("PRAGMA table_info(messages)")]
    names = ",".join(columns)
    sql = f"INSERT INTO messages ({names}) VALUES ({','.join('?' * len(columns))})"
    read = source.db.conn.execute(f"SELECT {names} FROM messages ORDER BY id")
    spent, rows = 0.0, 0
    while True:
        batch = read.fetchmany(RAW_BATCH)
        if not batch:
            break
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        db.commit()  # the store's own commit, which writes the search index
        spent += time.perf_counter() - started
        rows += len(batch)
    conn.close()
    return {"seconds": spent, "rows": rows}


def notmuch_new(mail: Path, workdir: Path) -> dict[str, float] | None:
    """``notmuch new`` on the same maildir: index and thread, from an empty database."""
    if shutil.which("notmuch") is None:
        return None
    # The Xapian database lives outside the maildir, so that importing the maildir again does
    # not meet notmuch's own files.
    database = workdir / f"notmuch-{mail.parent.name}"
    shutil.rmtree(database, ignore_errors=True)
    shutil.rmtree(mail / ".notmuch", ignore_errors=True)
    database.mkdir(parents=True)
    config = workdir / "notmuch-config"
    config.write_text(
        f"[database]\npath={database}\nmail_root={mail}\n[new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n"
    )
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    started = time.perf_counter()
    done = subprocess.run(["notmuch", "new", "--quiet"], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(f"  notmuch new failed: {done.stderr.strip()[:200]}")
        return None
    count = subprocess.run(["notmuch", "count", "*"], env=env, capture_output=True, text=True, check=False)
    threads = subprocess.run(
        ["notmuch", "count", "--output=threads", "*"], env=env, capture_output=True, text=True, check=False
    )
    return {
        "seconds": seconds,
        "messages": int(count.stdout.strip() or 0),
        "threads": int(threads.stdout.strip() or 0),
    }


def notmuch_env(workdir: Path) -> dict[str, str]:
    return {**os.environ, "NOTMUCH_CONFIG": str(workdir / "notmuch-config")}
