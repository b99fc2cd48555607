"""Running ``python -m inbox`` as a user would, in a private home, and killing it mid-work.

A :class:`Lane` is one workspace (its own store, home folder and keyring file) whose accounts
point at the local servers. :meth:`Lane.run` starts ``sys.executable -m inbox --db DB ...``;
:meth:`Lane.run_and_kill` waits until the process writes to the store's WAL (real work has
begun), lets it run a random slice of its usual working time, and SIGKILLs it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from inbox.models import Account
from inbox.store.repository import Store

REPO = Path(__file__).resolve().parents[2]

# The project does not depend on pandas/numpy, but sqlite-utils imports them when present, which
# costs about half a second per start in a developer's venv. The harness starts the CLI hundreds
# of times, so it hides them as a clean install (CI) would not have them.
_NO_PANDAS = 'raise ImportError("not a dependency of inbox")\n'


@dataclass
class Lane:
    """One private workspace driven through the command line."""

    root: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)
    work_time: float = 0.5  # seconds from the first write to the exit of a clean run
    kills: int = 0
    finished_before_kill: int = 0
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        home = self.root / "home"
        stub = self.root / "stub"
        for module in ("pandas", "numpy"):
            (stub / module).mkdir(parents=True, exist_ok=True)
            (stub / module / "__init__.py").write_text(_NO_PANDAS)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "PYTHONPATH": os.pathsep.join([str(stub), str(REPO)]),
            "INBOX_LANG": "en",
            "LANG": "C.UTF-8",
        }

    @property
    def db(self) -> Path:
        return self.root / "inbox.db"

    @property
    def wal(self) -> Path:
        return self.root / "inbox.db-wal"

    @property
    def keyring_file(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"

    def add_account(self, account: Account, secrets: dict[str, str]) -> None:
        store = Store.open(self.db)
        try:
            store.save_account(account)
        finally:
            store.close()
        ring = PlaintextKeyring()
        ring.file_path = str(self.keyring_file)
        for name, value in secrets.items():
            ring.set_password("inbox", f"{account.id}:{name}", value)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "inbox", "--db", str(self.db), *args]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run to the end; stdout and stderr kept in ``log`` for the secrets scan."""
        done = subprocess.run(
            self.command(*args),
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.log += [done.stdout, done.stderr]
        return done

    def timed_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A clean run that also measures its working time (first WAL write to exit)."""
        proc = subprocess.Popen(
            self.command(*args),
            env=self.env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = self._wait_for_work(proc, _wal_mark(self.wal))
        out, err = proc.communicate(timeout=120)
        if started is not None:
            self.work_time = 0.5 * self.work_time + 0.5 * (time.monotonic() - started)
        self.log += [out, err]
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def run_and_kill(self, rng: random.Random, *args: str) -> bool:
        """Start, wait for the first write, run a random slice of the work time, SIGKILL.
        True when the process was killed while working (False: it had already finished)."""
        before = _wal_mark(self.wal)
        proc = subprocess.Popen(
            self.command(*args),
            env=self.env,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = self._wait_for_work(proc, before)
        if started is not None:
            time.sleep(rng.uniform(0.0, self.work_time * 0.9))
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            self.kills += 1
        else:
            self.finished_before_kill += 1
        _out, err = proc.communicate(timeout=60)
        self.log.append(err)
        return killed

    def _wait_for_work(self, proc: subprocess.Popen[str], before: tuple[int, int]) -> float | None:
        """Poll until the WAL changes (the first write) or the process ends."""
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            mark = _wal_mark(self.wal)
            if mark != before and mark[1] > 0:
                return time.monotonic()
            time.sleep(0.002)
        return None


def _wal_mark(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)
