"""Channel credentials live only on the server: a 0600 secrets file (refused when others may read
it), filled by ``inbox serve account add`` from stdin, never in a PostgreSQL row or an output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from inbox.errors import StoreError
from inbox.server.channels import start_background
from inbox.server.secrets_file import FileSecretStore
from tests.server.conftest import sql

SECRET = "s3cret-Pa55-do-not-leak"


def test_the_secrets_file_is_private_shared_and_never_shows_values(tmp_path: Path) -> None:
    path = tmp_path / "server" / "secrets.json"
    one = FileSecretStore(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    one.set("email:support@example.com", "password", SECRET)
    other = FileSecretStore(path)  # another process's view of the same file
    assert other.get("email:support@example.com", "password") == SECRET
    other.set("twitter:acme", "access_token", "AT-1")
    assert one.get("twitter:acme", "access_token") == "AT-1"  # re-read when it changed on disk
    assert one.names("email:support@example.com") == ["password"]
    one.delete("email:support@example.com", "password")
    assert other.get("email:support@example.com", "password") is None
    assert SECRET not in repr(one) and (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_secrets_file_others_can_read_is_refused(tmp_path: Path, mode: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.json"
    FileSecretStore(path).set("email:a@example.com", "password", SECRET)
    path.chmod(mode)
    with pytest.raises(StoreError, match="chmod 600") as refused:
        FileSecretStore(path)
    assert SECRET not in str(refused.value)
    monkeypatch.setenv("INBOX_SECRETS", str(path))
    monkeypatch.setenv("INBOX_CHANNELS", "1")
    with pytest.raises(StoreError):  # the server refuses to start its channel side
        start_background(SimpleNamespace(db=SimpleNamespace(dsn="host=127.0.0.1 dbname=unused")))


def _serve(args: list[str], dsn: str, secrets: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INBOX_SECRETS": str(secrets)}
    return subprocess.run([sys.executable, "-m", "inbox", "serve", *args, "--dsn", dsn], input=stdin, text=True,
                          capture_output=True, env=env, timeout=120)  # fmt: skip


@pytest.mark.servers
def test_account_add_keeps_the_password_in_the_secrets_file_only(pg_dsn: str, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    added = _serve(["account", "add", "email", "support@example.com", "--name", "Support",
                    "--set", "imap_host=127.0.0.1", "--set", "smtp_host=127.0.0.1", "--set", "username=support",
                    "--password-stdin"], pg_dsn, secrets, SECRET + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "secrets stored: password" in added.stdout
    [row] = sql(pg_dsn, "SELECT id, channel, name, own_keys, settings FROM accounts")
    assert row == {"id": "email:support@example.com", "channel": "email", "name": "Support",
                   "own_keys": ["support@example.com"],
                   "settings": {"imap_host": "127.0.0.1", "smtp_host": "127.0.0.1", "username": "support"}}  # fmt: skip
    assert FileSecretStore(secrets).get("email:support@example.com", "password") == SECRET
    dump = sql(pg_dsn, """SELECT string_agg(t::text, ' ') AS everything FROM (
                            SELECT row_to_json(a)::text AS t FROM accounts a
                            UNION ALL SELECT row_to_json(c)::text FROM change_log c) rows""")
    assert SECRET not in dump[0]["everything"]
    listed = _serve(["account", "list", "--json"], pg_dsn, secrets)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["secrets"] == ["password"]
    assert SECRET not in listed.stdout + listed.stderr + added.stdout + added.stderr


@pytest.mark.servers
def test_a_secret_on_the_command_line_is_refused(pg_dsn: str, tmp_path: Path) -> None:
    refused = _serve(["account", "add", "email", "support@example.com", "--set", f"password={SECRET}"], pg_dsn,
                     tmp_path / "secrets.json")  # fmt: skip
    assert refused.returncode == 2
    assert "never given on the command line" in refused.stderr and SECRET not in refused.stderr
    assert sql(pg_dsn, "SELECT id FROM accounts") == []
