"""`inbox search`, `inbox queue` and `inbox show` timed as whole processes, as an agent or a
script runs them: interpreter start, imports, opening the store, the query, printing.

Peers in the same minutes: the interpreter alone (``python -c pass``, the floor no Python command
can go under) and ``notmuch search`` on the same maildir (a C program with its own start-up).
The package is byte-compiled first and run with bytecode caching on, as an installed Inbox runs
(a session with ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile ~40 modules every time).

``python -m bench.measure_cli STORE.db`` prints the figures; ``--importtime`` adds the slowest
imports of ``inbox queue --json`` (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 150.0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "INBOX_DB")}
    env["PYTHONPATH"] = str(ROOT)
    return env


CPU: dict[str, list[float]] = {}  # CPU time (user + system) of each process, by what ran


def _time(argv: Sequence[str], env: dict[str, str], kind: str = "") -> float:
    """Wall time of one process in ms; its CPU time goes to ``CPU[kind]`` (the figure the
    machine's other load changes least: on a busy machine the wall time waits for a core)."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    spent = time.perf_counter() - started
    if child.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} failed: {err.decode(errors='replace')[-300:]}")
    CPU.setdefault(kind, []).append((usage.ru_utime + usage.ru_stime) * 1e3)
    return spent * 1e3


def _figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "min_ms": ordered[0],
        "n": len(ordered),
    }


def commands(store_path: Path, searches: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The command lines measured: search (words, an address, a name, a handle, numbers), the
    default queue in both outputs, and three conversations shown."""
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
    conn.close()
    rng = random.Random(5)
    shown = rng.sample(ids, min(3, len(ids)))
    found: list[tuple[str, list[str]]] = [(f"search {q}", ["search", q, "--json"]) for q in searches]
    found += [("queue --json", ["queue", "--json"]), ("queue", ["queue"])]
    found += [(f"show {cid}", ["show", str(cid), "--json"]) for cid in shown]
    return found


def measure(store_path: Path, searches: Sequence[str], rounds: int = 10, notmuch_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Each command ``rounds`` times, interleaved, with the interpreter floor and notmuch between: ten
    rounds give the two queue commands 20 samples, so that their p95 is not simply the slowest one."""
    compileall.compile_dir(str(ROOT / "inbox"), quiet=1)
    env = _env()
    python = sys.executable
    lines = commands(store_path, searches)
    by_kind: dict[str, list[float]] = {"search": [], "queue": [], "show": []}
    floor: list[float] = []
    notmuch: list[float] = []
    use_notmuch = notmuch_env is not None and shutil.which("notmuch") is not None
    _time([python, "-m", "inbox", "--db", str(store_path), "queue"], env)  # warm the file cache
    for _ in range(rounds):
        floor.append(_time([python, "-c", "pass"], env, "python_floor"))
        for _name, argv in lines:
            kind = argv[0]
            by_kind[kind].append(_time([python, "-m", "inbox", "--db", str(store_path), *argv], env, kind))
        if use_notmuch and notmuch_env is not None:
            for query in searches[:3]:
                notmuch.append(
                    _time(["notmuch", "search", "--limit=50", "--output=threads", query], notmuch_env, "notmuch_search")
                )
    every = [x for samples in by_kind.values() for x in samples]
    out: dict[str, Any] = {kind: _figures(samples) for kind, samples in by_kind.items()}
    out["all"] = _figures(every)
    out["python_floor"] = _figures(floor)
    if notmuch:
        out["notmuch_search"] = _figures(notmuch)
    for kind, samples in CPU.items():
        if kind in out:
            out[kind]["cpu_p50_ms"] = statistics.median(samples)
    out["all"]["cpu_p50_ms"] = statistics.median([x for k in by_kind for x in CPU.get(k, [])])
    CPU.clear()
    out["load_average"] = os.getloadavg()
    return out


def slowest_imports(store_path: Path, count: int = 12) -> list[tuple[str, float]]:
    """The modules with the largest cumulative import time in ``inbox queue --json``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "inbox", "--db", str(store_path), "queue", "--json"],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    rows: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if len(name) - len(name.lstrip()) <= 3:  # top-level and first-level imports
                rows.append((name.strip(), int(parts[1]) / 1e3))
    return sorted(rows, key=lambda r: -r[1])[:count]


def queries(store_path: Path) -> list[str]:
    """One query of each kind an agent types (words, an address, a name, a handle, a customer
    number, a conversation number), picked from the store as the in-process search bench does."""
    from bench.measure_reads import agent_queries
    from inbox.store.repository import Store

    store = Store.open(store_path)
    try:
        return [typed[0] for typed in agent_queries(store, each=1).values() if typed]
    finally:
        store.close()


def report(figures: dict[str, Any]) -> str:
    lines = []
    for kind in ("search", "queue", "show", "all"):
        f = figures[kind]
        verdict = "PASS" if f["p95_ms"] <= TARGET_P95_MS else "MISS"
        lines.append(
            f"inbox {kind:6} p50 {f['p50_ms']:6.0f}  p95 {f['p95_ms']:6.0f}  min {f['min_ms']:5.0f} ms"
            f"  cpu p50 {f['cpu_p50_ms']:5.0f} ms  {verdict}"
        )
    for kind, label in (("python_floor", "python -c pass"), ("notmuch_search", "notmuch search")):
        if kind in figures:
            f = figures[kind]
            lines.append(
                f"{label} p50 {f['p50_ms']:6.0f}  p95 {f['p95_ms']:6.0f}  min {f['min_ms']:5.0f} ms"
                f"  cpu p50 {f['cpu_p50_ms']:5.0f} ms"
            )
    lines.append(f"load average {figures['load_average']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.measure_cli", description=__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(args.store, queries(args.store), args.rounds)
    print(report(figures))
    if args.importtime:
        for name, ms in slowest_imports(args.store):
            print(f"  {ms:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
