"""A private PostgreSQL 15 cluster on 127.0.0.1: ``inbox serve --dev``, the server's tests and
``make bench-serve`` all start theirs with this. PostgreSQL refuses to run as root, so as root the
cluster runs as the ``postgres`` user Debian's package creates (REAL_SERVERS.md)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from inbox.errors import InboxError

PG_BIN = Path(os.environ.get("INBOX_PG_BIN", "/usr/lib/postgresql/15/bin"))


def as_postgres(cmd: list[str]) -> list[str]:
    """``cmd`` as the postgres user when we are root, as ourselves otherwise."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateCluster:
    """A cluster in ``folder`` (data in ``folder/data``, its socket and log beside it), listening
    on 127.0.0.1:``port`` only; ``options`` are more server settings (``-c fsync=off`` for tests)."""

    folder: Path
    port: int
    options: str = ""

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=inbox dbname={dbname}"

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(as_postgres(cmd), capture_output=True, text=True)
        if done.returncode != 0:
            raise InboxError(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def init(self, *, no_sync: bool = False) -> None:
        """Create the cluster unless it exists (user ``inbox``, trust on its private socket and loopback)."""
        if not (PG_BIN / "initdb").exists():
            raise InboxError(f"PostgreSQL 15 is not installed ({PG_BIN}): apt-get install postgresql-15, or pass --dsn")
        if not (self.data / "PG_VERSION").exists():
            self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "inbox", "-E", "UTF8",
                       "--locale=C.UTF-8", *(["--no-sync"] if no_sync else [])])  # fmt: skip

    def running(self) -> bool:
        status = subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"]), capture_output=True)
        return status.returncode == 0

    def start(self) -> None:
        if not self.running():
            settings = f"-k {self.folder} -c listen_addresses=127.0.0.1 -p {self.port} {self.options}".strip()
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w",
                       "start", "-o", settings])  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"]), capture_output=True)

    @classmethod
    def temporary(cls, prefix: str, options: str = "", *, no_sync: bool = False) -> Self:
        """A new cluster in a fresh temporary folder, started; ``remove`` deletes it."""
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        folder.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        cluster = cls(folder, free_port(), options)
        cluster.init(no_sync=no_sync)
        cluster.start()
        return cluster

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
