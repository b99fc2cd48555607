"""Cold start and peak memory: a fresh process opens the store and shows the window (offscreen)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Runs in the child. argv: store path, the parent's clock just before it started the process, and
# "bare" to hide pandas and numpy: they are not dependencies of Inbox, but when installed (this
# venv has them for bench/sla_bench.py) sqlite-utils imports both eagerly, ~0.5 s of start-up.
CHILD = r"""
import json, sys, time
path, born = sys.argv[1], float(sys.argv[2])
if sys.argv[3] == "bare":
    sys.modules["pandas"] = None
    sys.modules["numpy"] = None
from PySide6.QtWidgets import QApplication
app = QApplication([])
from inbox.app.window import build_window
from inbox.store.repository import Store
store = Store.open(path)
window = build_window(store, agent="camille")
window.show()
app.processEvents()
rows = window.model.rowCount()
shown = time.time() - born
def peak_kb():
    # VmHWM, not getrusage's ru_maxrss: that one keeps the parent's peak across fork and exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
ready_rss = peak_kb()
# Then what an agent does first: scroll the queue, search, open a conversation.
while window.model.canFetchMore() and window.model.rowCount() < 2000:
    window.model.fetchMore()
store.search("refund"); store.search_conversation_ids("delivery")
if rows:
    window.open_conversation(window.model._rows[0].id)
app.processEvents()
peak = peak_kb()
print(json.dumps({"cold_start_s": shown, "rows": rows, "ready_rss_mb": ready_rss / 1024,
                  "peak_rss_mb": peak / 1024}))
"""


def cold_start(store_path: Path, runs: int = 3, *, bare: bool = True) -> dict[str, Any]:
    """Best and worst of ``runs`` cold starts (the file cache is warm after the first);
    ``bare``: as a user's install, without pandas and numpy importable."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = str(Path(__file__).resolve().parents[1])
    results: list[dict[str, Any]] = []
    for _ in range(runs):
        born = time.time()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(store_path), repr(born), "bare" if bare else "venv"],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
        results.append(json.loads(lines[-1]))
    best = min(results, key=lambda r: float(r["cold_start_s"]))
    return {
        "cold_start_s": best["cold_start_s"],
        "cold_start_worst_s": max(float(r["cold_start_s"]) for r in results),
        "rows": best["rows"],
        "ready_rss_mb": max(float(r["ready_rss_mb"]) for r in results),
        "peak_rss_mb": max(float(r["peak_rss_mb"]) for r in results),
    }
