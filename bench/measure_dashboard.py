"""The team lead's dashboard at scale: how long the figures take, and how long the Qt thread stays
busy while the board refreshes.

    QT_QPA_PLATFORM=offscreen python -m bench.measure_dashboard /tmp/copy-of-inbox-s1.db

Run it on a copy of a bench store (the store is opened as the app opens it, which may migrate
it). "now" is the store's last message, so the 12-hour backlog, the 3-day volume and the 7-day
report all cover real traffic. The Qt-thread figure is the longest gap between the ticks of a
10 ms QTimer from the refresh until the figures are shown (a qasync loop runs, as in the app).
It also runs against older trees of the code (no own connection, refresh on the Qt thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def measure(path: Path, repeat: int) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from inbox.store.analytics import AnalyticsSource
    from inbox.store.database import from_db_time
    from inbox.store.repository import Store
    from inbox.ui.dashboard import Dashboard
    from inbox.ui.i18n import Translator

    store = Store.open(path)
    now = from_db_time(store._rows("SELECT MAX(sent_at) AS at FROM messages")[0]["at"]) + timedelta(minutes=1)
    own = getattr(AnalyticsSource, "own_connection", None)
    source = own(store) if own is not None else AnalyticsSource(store)
    out: dict[str, Any] = {"now": now.isoformat()}

    def best(fn: Any) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return round(min(times), 3)

    out["snapshot_s"] = best(lambda: source.snapshot(now))
    week = now - timedelta(days=7)
    if hasattr(source, "reports"):
        out["reports_channel_and_policy_s"] = best(lambda: source.reports(week, now, ["channel", "policy"]))
    else:
        out["reports_channel_and_policy_s"] = best(lambda: [source.report(week, now, by) for by in ("channel", "policy")])

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    gaps: list[float] = []

    async def one_refresh() -> dict[str, float]:
        board = Dashboard(source, Translator("en"), clock=lambda: now)
        board.resize(1400, 900)
        last = [time.perf_counter()]
        longest = [0.0]

        def tick() -> None:
            t = time.perf_counter()
            longest[0] = max(longest[0], t - last[0])
            last[0] = t

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        await asyncio.sleep(0.1)
        t0 = time.perf_counter()
        last[0], longest[0] = t0, 0.0
        board.show()  # first shown: the board reads its figures
        while board.snapshot is None or getattr(board, "updating", False):
            await asyncio.sleep(0.005)
        shown = time.perf_counter() - t0
        await asyncio.sleep(0.05)
        timer.stop()
        board.close()
        board.deleteLater()
        return {"figures_shown_s": round(shown, 3), "longest_qt_gap_s": round(longest[0], 3)}

    runs = [loop.run_until_complete(one_refresh()) for _ in range(repeat)]
    gaps = [r["longest_qt_gap_s"] for r in runs]
    out["figures_shown_s"] = min(r["figures_shown_s"] for r in runs)
    out["longest_qt_gap_s"] = min(gaps)
    out["longest_qt_gap_worst_s"] = max(gaps)
    loop.close()
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.store, args.repeat)
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
