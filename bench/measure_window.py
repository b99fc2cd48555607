"""The window on a real X server (Xvfb, the ``xcb`` platform, not offscreen): time until the
window is mapped and exposed, a view switch, and the frames of a scrolling queue.

- **mapped**: from the parent's clock just before it starts the process until the main window's
  native window is exposed (Qt has the map from the X server), with its first page of rows.
- **view switch**: each queue view of the views column selected in turn (what a click or the
  keyboard does), timed from the selection until the queue's viewport has painted the new rows,
  with Qt's own event loop turning (a paint event seen by an event filter, nothing forced), three
  rounds; and until the thread pane has painted the view's first conversation, which the window
  opens on the next turn of the loop, after the queue.
- **scroll frames**: a QTimer scrolls the queue by three rows per tick (a mouse wheel notch), as
  far as 3,000 rows down; each frame is timed from the scroll request until the viewport has
  painted (including the pages ``fetchMore`` loads on the way), then the whole viewport is
  painted again (as the clock tick or a change to a row does). Beside each frame's time, the CPU
  time the window's thread spent in it: a frame far longer than its CPU time was waiting.

``python -m bench.measure_window STORE.db`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Runs in the child on the X display. argv: store path, the parent's clock before the start.
CHILD = r"""
import json, sys, time
path, born = sys.argv[1], float(sys.argv[2])
sys.modules["pandas"] = None  # not dependencies of Inbox (see bench/measure_startup.py)
sys.modules["numpy"] = None
from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from inbox.app.window import build_window
from inbox.store.repository import Store
from inbox.ui.views import QueueView
store = Store.open(path)
window = build_window(store, agent="camille")
window.resize(1440, 900)
window.show()
while window.windowHandle() is None or not window.windowHandle().isExposed():
    app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
app.processEvents()
mapped = time.time() - born
rows = window.model.rowCount()

def ms(timer):
    return timer.nsecsElapsed() / 1e6

# View switches: every queue view, three rounds; the first paint of the queue, then of the thread.
items = [window.views.item(i) for i in range(window.views.count())]
items = [it for it in items if isinstance(it.data(Qt.ItemDataRole.UserRole), QueueView)]
switches, threads, named, totals = [], [], {}, {}
viewport = window.queue.viewport()
clock = QElapsedTimer(); clock.start()
seen = {"t0": None, "queue": None, "thread": None}

class FirstPaint(QObject):
    def __init__(self, key):
        super().__init__()
        self.key = key
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and seen["t0"] is not None and seen[self.key] is None:
            seen[self.key] = clock.nsecsElapsed() / 1e6 - seen["t0"]
        return False

queue_paint, thread_paint = FirstPaint("queue"), FirstPaint("thread")
viewport.installEventFilter(queue_paint)
window.thread_view.viewport().installEventFilter(thread_paint)
for _ in range(20):
    app.processEvents()
for _round in range(3):
    for item in items:
        seen.update(t0=clock.nsecsElapsed() / 1e6, queue=None, thread=None)
        window.views.setCurrentItem(item)
        deadline = clock.nsecsElapsed() / 1e6 + 3000
        while seen["queue"] is None and clock.nsecsElapsed() / 1e6 < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
        while (window.model.total() and seen["thread"] is None) and clock.nsecsElapsed() / 1e6 < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
        spent = seen["queue"] if seen["queue"] is not None else 3000.0
        switches.append(spent)
        if window.model.total():
            threads.append(seen["thread"] if seen["thread"] is not None else 3000.0)
        named.setdefault(item.data(Qt.ItemDataRole.UserRole).key, []).append(spent)
        totals[id(item)] = window.model.total()
        for _ in range(5):
            app.processEvents()

# Scrolling: the view with the most conversations, a wheel notch per tick.
window.views.setCurrentItem(max(items, key=lambda it: totals[id(it)]))
app.processEvents()
bar = window.queue.verticalScrollBar()
frames = []
step = 3 * max(1, bar.singleStep())
fetched = []  # the frames that loaded a page of rows
cpu = []  # the CPU time of the window's thread in each frame (the rest of a frame is waiting)
def tick():
    t = QElapsedTimer(); t.start()
    used = time.thread_time()
    before = window.model.rowCount()
    bar.setValue(bar.value() + step)
    app.processEvents()
    viewport.repaint()
    frames.append(ms(t))
    cpu.append((time.thread_time() - used) * 1000)
    if window.model.rowCount() != before:
        fetched.append(len(frames) - 1)
    if len(frames) >= 1000 or (bar.value() >= bar.maximum() and not window.model.canFetchMore()):
        timer.stop(); app.quit()
timer = QTimer(); timer.setInterval(16); timer.timeout.connect(tick); timer.start()
app.exec()
print(json.dumps({"mapped_s": mapped, "rows": rows, "switches_ms": switches, "threads_ms": threads,
                  "fetch_frames_ms": [frames[i] for i in fetched],
                  "switch_by_view_ms": {k: max(v) for k, v in named.items()},
                  "frames_ms": frames, "frames_cpu_ms": cpu, "rows_scrolled": window.model.rowCount()}))
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


class Xvfb:
    """A private X server whose display number Xvfb chooses itself (-displayfd)."""

    def __init__(self) -> None:
        found = shutil.which("Xvfb")
        if found is None:
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [found, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.close()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def measure(store_path: Path, runs: int = 3) -> dict[str, Any]:
    """Best and worst time to mapped over ``runs`` processes; the switches and frames of all."""
    try:
        server = Xvfb()
    except RuntimeError as exc:
        return {"error": str(exc)}
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": server.display, "HOME": home}
            env["PYTHONPATH"] = str(ROOT)
            env.pop("INBOX_DB", None)
            results: list[dict[str, Any]] = []
            for _ in range(runs):
                born = time.time()
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, str(store_path), repr(born)],
                    env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
                )  # fmt: skip
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                if done.returncode != 0 or not lines:
                    return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
                results.append(json.loads(lines[-1]))
    finally:
        server.close()
    mapped = [float(r["mapped_s"]) for r in results]
    switches = [s for r in results for s in r["switches_ms"]]
    threads = [s for r in results for s in r.get("threads_ms", [])]
    frames = [f for r in results for f in r["frames_ms"]]
    cpu = [c for r in results for c in r["frames_cpu_ms"]]
    slow = [(f, c) for f, c in zip(frames, cpu, strict=True) if f > 16.0]
    slow_views: dict[str, float] = {}
    for r in results:
        for key, spent in r["switch_by_view_ms"].items():
            slow_views[key] = max(slow_views.get(key, 0.0), float(spent))
    return {
        "mapped_s": min(mapped),
        "mapped_worst_s": max(mapped),
        "rows": results[0]["rows"],
        "switch_p50_ms": statistics.median(switches) if switches else 0.0,
        "switch_p95_ms": _pct(switches, 0.95),
        "switch_thread_p50_ms": statistics.median(threads) if threads else 0.0,
        "switch_thread_p95_ms": _pct(threads, 0.95),
        "switch_slowest_views_ms": dict(sorted(slow_views.items(), key=lambda kv: -kv[1])[:3]),
        "frames": len(frames),
        "frame_p50_ms": statistics.median(frames) if frames else 0.0,
        "frame_p95_ms": _pct(frames, 0.95),
        "frame_max_ms": max(frames, default=0.0),
        "frames_over_16ms": len(slow),
        # Where a frame's time went: the window's own work (its thread's CPU time) or waiting
        # (for the X server, or for a core: Xvfb and the window share the machine's two).
        "frame_cpu_p50_ms": statistics.median(cpu) if cpu else 0.0,
        "frame_cpu_max_ms": max(cpu, default=0.0),
        "frames_over_16ms_cpu_ms": [round(c, 1) for _, c in slow],
        "fetch_frames": len(fetching := [f for r in results for f in r.get("fetch_frames_ms", [])]),
        "fetch_frame_max_ms": max(fetching, default=0.0),
        "fetch_frames_over_16ms": sum(1 for f in fetching if f > 16.0),
        "rows_scrolled": max(int(r["rows_scrolled"]) for r in results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.measure_window", description=__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps({"load_average": os.getloadavg(), **measure(args.store, args.runs)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
