"""Channel credentials on the server: one JSON file readable by the service user only.

:class:`FileSecretStore` implements :class:`~inbox.secrets.SecretStore`, so providers read and
write tokens on the server exactly as they do through the desktop's keyring. The file is
``{"<account id>": {"<name>": "<value>"}}``, mode 0600; the server refuses to start when group or
other may read it, or when it belongs to another user. Writes (a refreshed token, ``inbox serve
account add``) take an exclusive ``flock`` on a lock file beside it, re-read the file, and replace
it atomically, so several server processes on one machine never lose each other's updates; reads
re-read the file when it changed on disk. Values never appear in ``repr``, errors or logs, and
never in a PostgreSQL row.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

from inbox.errors import StoreError

FILE_NAME = "secrets.json"


def default_secrets_path() -> Path:
    """``$INBOX_SECRETS``, else ``secrets.json`` in the server's data folder."""
    env = os.environ.get("INBOX_SECRETS")
    if env:
        return Path(env)
    data = os.environ.get("INBOX_SERVER_DATA") or platformdirs.user_data_dir("inbox-server", "inbox")
    return Path(data) / FILE_NAME


def check_private(path: Path) -> None:
    """Refuse a secrets file (or its folder) that anyone but its owner may read or write."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(
            f"the secrets file {path} is readable or writable by others (mode {stat.S_IMODE(info.st_mode):o}): "
            f"run chmod 600 {path}"
        )
    if info.st_uid != os.geteuid():
        raise StoreError(f"the secrets file {path} belongs to another user (uid {info.st_uid})")


class FileSecretStore:
    """A :class:`~inbox.secrets.SecretStore` in a private JSON file (see the module docstring)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self._path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._values: dict[str, dict[str, str]] = {}
        self._seen: tuple[int, int, int] | None = None
        self._mutex = threading.Lock()
        check_private(path)
        if not path.exists():
            if not create:
                raise StoreError(f"no secrets file at {path}")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._locked():
                if not path.exists():
                    self._write({})
        self._load()

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:  # never the values
        return f"FileSecretStore({str(self._path)!r})"

    # -- SecretStore ----------------------------------------------------------------------

    def get(self, account_id: str, name: str) -> str | None:
        with self._mutex:
            self._load()
            return self._values.get(account_id, {}).get(name)

    def set(self, account_id: str, name: str, value: str) -> None:
        self._update(account_id, name, value)

    def delete(self, account_id: str, name: str) -> None:
        self._update(account_id, name, None)

    def names(self, account_id: str) -> list[str]:
        """The names stored for an account (never the values): for ``inbox serve account list``."""
        with self._mutex:
            self._load()
            return sorted(self._values.get(account_id, {}))

    # -- the file ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _load(self) -> None:
        try:
            info = self._path.stat()
        except FileNotFoundError:
            raise StoreError(f"the secrets file {self._path} disappeared") from None
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        if signature == self._seen:
            return
        check_private(self._path)
        try:
            data = json.loads(self._path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError) as exc:
            raise StoreError(f"the secrets file {self._path} cannot be read ({type(exc).__name__})") from None
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and all(isinstance(s, str) for s in v.values()) for v in data.values()
        ):
            raise StoreError(f"the secrets file {self._path} is not an object of objects of strings")
        self._values = {str(k): {str(n): s for n, s in v.items()} for k, v in data.items()}
        self._seen = signature

    def _write(self, values: dict[str, dict[str, str]]) -> None:
        temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(values, out, ensure_ascii=False, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise StoreError(f"the secrets file {self._path} cannot be written ({type(exc).__name__})") from None

    def _update(self, account_id: str, name: str, value: str | None) -> None:
        with self._mutex, self._locked():
            self._seen = None
            self._load()
            values = {k: dict(v) for k, v in self._values.items()}
            entry = values.setdefault(account_id, {})
            if value is None:
                entry.pop(name, None)
                if not entry:
                    values.pop(account_id, None)
            else:
                entry[name] = value
            self._write(values)
            self._seen = None
            self._load()
