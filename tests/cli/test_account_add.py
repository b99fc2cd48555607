"""``inbox account add`` asks for the provider's secrets (hidden, on a terminal) or reads the one
secret from stdin, and stores them in the keyring: run as ``python -m inbox`` in a private home
with a file keyring, then signing in to a real Dovecot with what it stored."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from inbox.store.repository import Store
from tests.providers.email.servers import DovecotServer, running_dovecot
from tests.reliability.harness import Lane

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def lane(tmp_path: Path) -> Lane:
    return Lane(tmp_path / "lane", "accounts")


def stored(lane: Lane, key: str) -> str | None:
    ring = PlaintextKeyring()
    ring.file_path = str(lane.keyring_file)
    value: str | None = ring.get_password("inbox", key)
    return value


def add(lane: Lane, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        lane.command("account", "add", *args),
        env=lane.env,
        cwd=lane.root,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lane.log += [done.stdout, done.stderr]
    return done


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


@pytest.mark.servers
def test_password_from_stdin_goes_to_the_keyring_and_signs_in(
    lane: Lane, dovecot: DovecotServer
) -> None:
    done = add(
        lane, "email", dovecot.user, "--set", "imap_host=127.0.0.1",
        "--set", f"imap_port={dovecot.port}", "--set", "imap_security=none",
        "--set", "smtp_port=1", "--set", "smtp_security=none", "--set", f"username={dovecot.user}",
        "--password-stdin", stdin=dovecot.password + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"password stored in the keyring (service inbox, key email:{dovecot.user}:password)" in (
        done.stdout
    )
    assert stored(lane, f"email:{dovecot.user}:password") == dovecot.password  # no newline kept
    sync = lane.run("sync", "--once")
    assert sync.returncode == 0 and "up_to_date" in sync.stdout, sync.stdout + sync.stderr
    assert all(dovecot.password not in text for text in lane.log)


def test_password_stdin_refuses_a_provider_with_several_secrets(lane: Lane) -> None:
    done = add(lane, "facebook", "1234", "--set", "page_id=1234", "--password-stdin", stdin="x\n")
    assert done.returncode == 2
    assert "has 2 secrets (page_token, client_token); --password-stdin reads exactly one" in (
        done.stderr
    )
    oauth = add(lane, "email", "a@example.test", "--set", "auth=oauth2", "--password-stdin", stdin="x")
    assert oauth.returncode == 2 and "3 secrets (oauth_access_token" in oauth.stderr
    store = Store.open(lane.db)
    assert store.accounts() == []  # nothing half-saved
    store.close()


def test_a_secret_is_never_a_setting(lane: Lane) -> None:
    done = add(lane, "email", "a@example.test", "--set", "password=hunter2")
    assert done.returncode == 2 and "password is a secret" in done.stderr
    assert stored(lane, "email:a@example.test:password") is None


def read_until(fd: int, wanted: bytes, limit: float = 60.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + limit
    while wanted not in seen:
        assert time.monotonic() < deadline, seen
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_on_a_terminal_each_secret_is_asked_for_without_echo(lane: Lane) -> None:
    """A pseudo-terminal as the controlling terminal: the prompt names the field, what is typed
    is not echoed, and the keyring holds it."""
    command = lane.command(
        "account", "add", "webform", "contact-fr", "--set", "url=http://127.0.0.1:9/submissions"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        os.chdir(lane.root)
        os.execve(command[0], command, lane.env)
    try:
        prompt = read_until(fd, b"(Enter to skip): ")
        assert b"API key for webform:contact-fr" in prompt
        os.write(fd, b"k3y-from-terminal\n")
        rest = read_until(fd, b"saved")
        rest += read_until(fd, b"api_key\r\n", limit=10)
    finally:
        _pid, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, rest
    assert b"k3y-from-terminal" not in prompt + rest  # typed blind
    assert b"api_key stored in the keyring (service inbox, key webform:contact-fr:api_key)" in rest
    assert stored(lane, "webform:contact-fr:api_key") == "k3y-from-terminal"
