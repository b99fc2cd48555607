"""``make bench``: a call-centre workspace generated, imported and measured, each figure beside
its peer: raw SQLite (the machine's limit), notmuch (new, search), the stdlib email parser with
SQLite (the floor of a Python importer), the bare interpreter (the floor of a command).

By default 100,000 messages (``--scale 10``) and a maildir of 100,000 messages;
``BENCH_ARGS="--scale 1"`` measures 1,000,000 of each, ``--scale 100`` is a quick check. Prints a
table and writes bench/out/results.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import measure_cli, measure_ingest, measure_maildir, measure_reads, measure_startup, measure_window
from bench.generate import ANCHOR, existing, generate
from inbox.app.workspace import refresh_sla
from inbox.store.repository import Store

OUT = Path(__file__).resolve().parent / "out"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    parser.add_argument(
        "--scale", type=float, default=10.0, help="run N times smaller than 1M messages (default 10: 100k)"
    )
    parser.add_argument("--maildir-messages", type=int, help="the maildir import bench (default: 1M / scale)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-notmuch", action="store_true", help="skip the notmuch comparison")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the store and the import figures of the last full run at this scale; measure the reads again",
    )
    parser.add_argument("--regenerate", action="store_true", help="write the workspace files again")
    parser.add_argument("--no-maildir", action="store_true", help="skip the maildir import bench")
    args = parser.parse_args(argv)
    scale: float = args.scale
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    tag = f"s{scale:g}"
    data_dir, db_path = out / f"data-{tag}", out / f"inbox-{tag}.db"
    results: dict[str, Any] = {
        "scale": scale,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    results["machine"] = machine()
    wall = time.perf_counter()

    previous = out / f"results-{tag}.json"
    if args.reuse and previous.exists() and db_path.exists():
        before = json.loads(previous.read_text("utf-8"))
        for key in ("generate", "ingest", "raw", "notmuch_new", "statuses", "first_refresh"):
            results[key] = before.get(key)
        store = Store.open(db_path)
    else:
        store = build(args, results, data_dir, db_path)
    step("reads: search, queue, open, customer history, SLA")
    results["search"] = measure_reads.search(store)
    results["search_kinds"] = measure_reads.search_by_kind(store)
    if not args.no_notmuch and results.get("notmuch_new"):
        results["notmuch_search"] = measure_reads.notmuch_search(measure_ingest.notmuch_env(out))
    results["queue"] = measure_reads.queue(store)
    results["open"] = measure_reads.open_conversations(store)
    results["history"] = measure_reads.customer_history(store)
    results["sla"] = measure_reads.sla_figures(store, max(10, round(10_000 / scale)))
    results["size"] = measure_reads.db_size(db_path, int(results["ingest"]["added"]))
    sample = [
        str(r["text"]) for r in store._rows("SELECT text FROM messages WHERE direction = 'in' ORDER BY id LIMIT 2000")
    ]
    store.close()
    step("inbox search / queue / show as whole processes")
    nm_env = measure_ingest.notmuch_env(out) if results.get("notmuch_new") else None
    results["cli"] = measure_cli.measure(db_path, measure_cli.queries(db_path), notmuch_env=nm_env)
    if not args.no_maildir:
        messages = args.maildir_messages or round(1_000_000 / scale)
        step(f"maildir of {messages:,} messages: inbox import, again, notmuch new, stdlib floor")
        results["maildir"] = measure_maildir.measure(messages, out, notmuch=not args.no_notmuch)
    step("cold start (offscreen window, fresh process)")
    results["startup"] = measure_startup.cold_start(db_path)
    results["startup_venv"] = measure_startup.cold_start(db_path, runs=1, bare=False)
    step("the window on Xvfb: mapped, view switches, scroll frames")
    results["window"] = measure_window.measure(db_path)
    step("sentiment throughput")
    results["sentiment"] = sentiment(sample)
    results["wall_s"] = time.perf_counter() - wall
    results["machine"]["load_average_end"] = os.getloadavg()
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str), "utf-8")
    (out / f"results-{tag}.json").write_text(json.dumps(results, indent=2, default=str), "utf-8")
    table = render(results)
    (out / "results.md").write_text(markdown(results, table), "utf-8")
    print()
    print(table)
    return 0


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how busy the machine was."""
    free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "free_h": free,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average_start": os.getloadavg(),
    }


def markdown(r: dict[str, Any], table: str) -> str:
    m = r["machine"]
    return (
        f"Run of {r['date']}, scale {r['scale']:g} (`python -m bench.run --scale {r['scale']:g}`)\n\n"
        f"- nproc: {m['nproc']}; Python {m['python']}; SQLite {m['sqlite']}; {m['platform']}\n"
        f"- load average at start / end: {m['load_average_start']} / {m['load_average_end']}\n\n"
        f"```\n{m['free_h']}\n```\n\n```\n{table}\n```\n"
    )


def build(args: argparse.Namespace, results: dict[str, Any], data_dir: Path, db_path: Path) -> Store:
    """Generate, import (timed), raw SQLite and notmuch new (timed), then settle the workspace."""
    out: Path = args.out
    tag = db_path.stem.removeprefix("inbox-")
    started = time.perf_counter()
    data = None if args.regenerate else existing(data_dir, args.scale)
    reused = data is not None
    if data is None:
        step("generating the workspace")
        shutil.rmtree(data_dir, ignore_errors=True)
        data = generate(data_dir, args.scale)
    else:
        step(f"reusing the workspace generated before in {data_dir}")
    results["generate"] = {
        "seconds": time.perf_counter() - started,
        "messages": data.messages,
        "conversations": data.conversations,
        "heavy_messages": data.heavy_messages,
        "reused": reused,
    }

    step("reading the maildir once (the importer and notmuch both read it from memory)")
    results["generate"]["warm_seconds"] = measure_ingest.warm_page_cache(data.mail)
    step(f"importing {data.total_messages:,} messages through inbox.cli.importing")
    store = measure_ingest.fresh_store(db_path)
    results["ingest"] = measure_ingest.ingest(store, data)
    step("raw SQLite: the same rows, same schema and FTS, executemany")
    results["raw"] = measure_ingest.raw_sqlite(store, out / f"raw-{tag}.db")
    if not args.no_notmuch:
        step("notmuch new on the same maildir")
        results["notmuch_new"] = measure_ingest.notmuch_new(data.mail, out)

    step("settling the workspace and the first SLA refresh")
    results["statuses"] = measure_reads.settle_workspace(store)
    started = time.perf_counter()
    results["first_refresh"] = {"conversations": refresh_sla(store, ANCHOR), "seconds": time.perf_counter() - started}
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store


def window_rows(w: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """The window on a real X server (bench/measure_window.py)."""
    if not w:
        return []
    if "error" in w:
        return [_row("window on Xvfb", f"error: {w['error']}")]
    return [
        _row("window: mapped on Xvfb (s)", f"{w['mapped_s']:.2f} (worst {w['mapped_worst_s']:.2f})", "<= 1.0 s",
             w["mapped_s"] <= 1.0),
        _row("window: view switch until painted, p50 / p95 (ms)", f"{w['switch_p50_ms']:.0f} / {w['switch_p95_ms']:.0f}", "p95 <= 50",
             w["switch_p95_ms"] <= 50),
        _row("  same, until the thread shows its first conversation (ms)",
             f"{w.get('switch_thread_p50_ms', 0):.0f} / {w.get('switch_thread_p95_ms', 0):.0f}"),
        _row("window: queue scroll frame p50 / p95 / max (ms)",
             f"{w['frame_p50_ms']:.1f} / {w['frame_p95_ms']:.1f} / {w['frame_max_ms']:.1f} ({w['frames']} frames)",
             "max <= 16", w["frame_max_ms"] <= 16),
        _row("  same, CPU time of the window's thread p50 / max (ms)",
             f"{w.get('frame_cpu_p50_ms', 0):.1f} / {w.get('frame_cpu_max_ms', 0):.1f}"
             + (f"; frames over 16 ms: CPU {', '.join(f'{c:.1f}' for c in w['frames_over_16ms_cpu_ms'])}"
                if w.get("frames_over_16ms_cpu_ms") else "")),
    ]  # fmt: skip


def step(text: str) -> None:
    print(f"[bench] {datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def sentiment(texts: list[str]) -> dict[str, Any]:
    """``inbox.triage.sentiment_textblob.analyse`` over a sample of customer messages."""
    try:
        module = importlib.import_module("inbox.triage.sentiment_textblob")
        module.analyse(texts[0] if texts else "warm up")  # loads the lexicons once
        started = time.perf_counter()
        for text in texts:
            module.analyse(text)
        spent = time.perf_counter() - started
    except Exception as exc:  # report, do not stop the bench
        return {"status": f"failed: {type(exc).__name__}: {str(exc)[:120]}"}
    rate = len(texts) / spent if spent else 0.0
    return {"status": f"{rate:,.0f} msg/s ({len(texts):,} messages)", "per_second": rate}


def _row(name: str, value: str, target: str = "", ok: bool | None = None) -> tuple[str, str, str, str]:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    return (name, value, target, verdict)


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The table: measure, value, target, PASS/MISS."""
    ing, raw = r["ingest"], r["raw"]
    ours = ing["added"] / ing["seconds"]
    raw_rate = raw["rows"] / raw["seconds"]
    found = [
        _row("messages imported (conversations)", f"{ing['added']:,.0f} ({ing['conversations']:,.0f})"),
        _row("ingest, all channels (msg/s)", f"{ours:,.0f}"),
        _row("raw SQLite + FTS, same rows (msg/s)", f"{raw_rate:,.0f}"),
        _row("ingest / raw SQLite", f"{ours / raw_rate:.1%}", ">= 30%", ours / raw_rate >= 0.30),
    ]
    email_rate = ing["email_added"] / ing["email_s"]
    found.append(_row("email ingest, maildir (msg/s)", f"{email_rate:,.0f}"))
    nm = r.get("notmuch_new")
    if nm:
        nm_rate = nm["messages"] / nm["seconds"]
        found.append(_row("notmuch new, same maildir (msg/s)", f"{nm_rate:,.0f} ({nm['threads']:,} threads)"))
        found.append(
            _row("email ingest / notmuch new", f"{email_rate / nm_rate:.2f}x", ">= 3x", email_rate >= 3 * nm_rate)
        )
    st = r["startup"]
    if "error" in st:
        found.append(_row("cold start", f"error: {st['error']}", "<= 1.0 s", False))
    else:
        found.append(
            _row(
                "cold start to window with queue (s)",
                f"{st['cold_start_s']:.2f} (worst {st['cold_start_worst_s']:.2f})",
                "<= 1.0 s",
                st["cold_start_s"] <= 1.0,
            )
        )
    found.extend(window_rows(r.get("window")))
    sv = r.get("startup_venv", {})
    if "cold_start_s" in sv:
        found.append(_row("  same, with this venv's pandas+numpy (s)", f"{sv['cold_start_s']:.2f}"))
    s = r["search"]
    found.append(
        _row("search p50 / p95 (ms)", f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f}", "p95 <= 50", s["p95_ms"] <= 50)
    )
    sk = r.get("search_kinds")
    if sk:
        for kind, f in sk.items():
            if kind != "all":
                found.append(_row(f"  search {kind} p50 / p95 (ms)", f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f}"))
        found.append(
            _row(
                "search, every kind of query, p50 / p95 (ms)",
                f"{sk['all']['p50_ms']:.1f} / {sk['all']['p95_ms']:.1f}",
                "p95 <= 20",
                sk["all"]["p95_ms"] <= 20,
            )
        )
    ns = r.get("notmuch_search")
    if ns:
        found.append(
            _row(
                "notmuch search p50 / p95 (ms, incl. process)",
                f"{ns['p50_ms']:.1f} / {ns['p95_ms']:.1f} (start {ns['process_start_ms']:.1f})",
            )
        )
    cli = r.get("cli")
    if cli:
        for kind in ("search", "queue", "show"):
            f = cli[kind]
            found.append(
                _row(f"inbox {kind}, whole process, p50 / p95 (ms)", f"{f['p50_ms']:.0f} / {f['p95_ms']:.0f}",
                     "p95 <= 150", f["p95_ms"] <= 150)  # fmt: skip
            )
        f = cli["python_floor"]
        found.append(_row("  peer: python -c pass, p50 / p95 (ms)", f"{f['p50_ms']:.0f} / {f['p95_ms']:.0f}"))
        if "notmuch_search" in cli:
            f = cli["notmuch_search"]
            found.append(_row("  peer: notmuch search, p50 / p95 (ms)", f"{f['p50_ms']:.0f} / {f['p95_ms']:.0f}"))
    if r.get("maildir"):
        found += [_row(name, value, target, ok) for name, value, target, ok in measure_maildir.rows(r["maildir"])]
    q, o, h = r["queue"], r["open"], r["history"]
    found.append(
        _row("view switch p50 / p95 (ms)", f"{q['p50_ms']:.1f} / {q['p95_ms']:.1f}", "p95 <= 50", q["p95_ms"] <= 50)
    )
    slow = ", ".join(f"{str(name)[:24]} {float(ms):.0f}" for name, ms in q.get("slowest", [])[:3])
    found.append(_row("  slowest views (worst ms)", slow))
    found.append(
        _row(
            "open conversation p50 / p95 (ms)", f"{o['p50_ms']:.1f} / {o['p95_ms']:.1f}", "p95 <= 20", o["p95_ms"] <= 20
        )
    )
    if "error" not in h:
        found.append(_row(f"customer history, {h['messages']:,} msgs (ms)", f"{h['p50_ms']:.1f}"))
    sl = r["sla"]
    found.append(
        _row(
            f"SLA refresh, {sl['conversations']:,} open, nothing changed (ms)",
            f"{sl['refresh_sla_ms']:.1f}",
            "<= 50",
            sl["refresh_sla_ms"] <= 50,
        )
    )
    if "after_activity_ms" in sl:
        found.append(
            _row(
                f"SLA refresh a minute later, {sl['after_activity_replayed']:,} replayed (ms)",
                f"{sl['after_activity_ms']:.1f}",
                "<= 50",
                sl["after_activity_ms"] <= 50,
            )
        )
        found.append(_row(f"SLA full replay, {sl['conversations']:,} open (new policies, ms)", f"{sl['full_replay_ms']:.0f}"))
    found.append(
        _row(
            f"SLA statuses_at, {sl.get('replayed_by_statuses_at', sl['conversations']):,} open (ms)",
            f"{sl['statuses_at_ms']:.0f}",
            "<= 50",
            sl["statuses_at_ms"] <= 50,
        )
    )
    tick = sl["tick"]
    found.append(
        _row(
            f"countdown tick p50 / p95, {tick['statuses']} statuses (ms)",
            f"{tick['p50_ms']:.2f} / {tick['p95_ms']:.2f}",
            "<= 5",
            tick["p95_ms"] <= 5,
        )
    )
    if "error" not in st:
        found.append(
            _row("peak RSS, store open + window (MB)", f"{st['peak_rss_mb']:.0f}", "<= 300", st["peak_rss_mb"] <= 300)
        )
    size = r["size"]
    found.append(
        _row("database on disk (bytes / message)", f"{size['bytes_per_message']:,.0f} ({size['bytes'] / 1e6:,.0f} MB)")
    )
    found.append(_row("sentiment throughput", r["sentiment"]["status"]))
    found.append(_row("whole bench run (s)", f"{r['wall_s']:.0f}"))
    return found


def render(r: dict[str, Any]) -> str:
    table = rows(r)
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    head = ("measure", "value", "target", "")
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
