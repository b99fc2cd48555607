"""``inbox team join`` / ``leave`` / ``status`` / ``sync``: what an agent is told, and where the
session token goes (the keyring) and never goes (the replica, logs, output)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import keyring
import pytest

from inbox.cli import main
from inbox.store.replica import Replica
from inbox.store.repository import Store
from inbox.team.account import TOKEN_NAME, secret_id
from inbox.team.client import CertificateProblem, TeamClient
from tests.team.servers import PASSWORDS, TeamServer, free_port

pytestmark = pytest.mark.servers


def inbox(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(args)


def stored_token(url: str, agent: str) -> str | None:
    return keyring.get_password("inbox", f"{secret_id(url, agent)}:{TOKEN_NAME}")


def test_join_pulls_the_team_and_keeps_the_token_only_in_the_keyring(
    tmp_path: Path, team_server: TeamServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "team.db"
    code = inbox(["team", "join", team_server.url, "--agent", "marc", "--password-stdin", "--db", str(db)], monkeypatch,
                 PASSWORDS["marc"] + "\n")  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert f"signed in to {team_server.url} as marc" in out
    assert "5 conversations" in out
    token = stored_token(team_server.url, "marc")
    assert token and len(token) > 20
    assert inbox(["team", "sync", "--db", str(db), "--json"], monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["pending"] == 0
    assert inbox(["team", "status", "--db", str(db), "--json"], monkeypatch) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["agent"] == "marc" and status["signed_in"] and status["conversations"] == 5
    everything = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("team.db"))
    assert token.encode() not in everything  # neither in the replica nor its WAL
    assert PASSWORDS["marc"].encode() not in everything
    assert all(token not in r.getMessage() for r in caplog.records)
    assert token not in team_server.log.read_text()
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err


def test_leave_signs_out_removes_the_team_and_keeps_unsent_drafts(
    tmp_path: Path, team_server: TeamServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "team.db"
    assert inbox(["team", "join", team_server.url, "--agent", "marc", "--password-stdin", "--db", str(db)], monkeypatch,
                 PASSWORDS["marc"]) == 0  # fmt: skip
    token = stored_token(team_server.url, "marc")
    store = Store.open(db)
    replica = Replica(store)
    first, second = replica.conversation_ids()[:2]
    store.save_draft(first, "a draft I was writing", dt.datetime.now(dt.UTC))
    replica.enqueue({"type": "reply", "conversation_id": second, "text": "never sent", "seen_message_id": 0},
                    dt.datetime.now(dt.UTC))  # fmt: skip
    store.close()
    capsys.readouterr()
    assert inbox(["team", "leave", "--db", str(db)], monkeypatch) == 0
    assert "2 unsent drafts kept" in capsys.readouterr().out
    assert stored_token(team_server.url, "marc") is None
    assert httpx.get(team_server.url + "/v1/changes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    store = Store.open(db)
    replica = Replica(store)
    assert replica.state() is None
    assert replica.conversation_ids() == []
    assert store._rows("SELECT count(*) AS n FROM messages")[0]["n"] == 0
    assert store._rows("SELECT count(*) AS n FROM customers")[0]["n"] == 0
    assert replica.kept_drafts() == {first: "a draft I was writing", second: "never sent"}
    store.close()
    # Signing in again brings the conversations back with their drafts.
    assert inbox(["team", "join", team_server.url, "--agent", "marc", "--password-stdin", "--db", str(db)], monkeypatch,
                 PASSWORDS["marc"]) == 0  # fmt: skip
    store = Store.open(db)
    assert store.draft(first) == "a draft I was writing"
    assert store.draft(second) == "never sent"
    assert Replica(store).kept_drafts() == {}
    store.close()


def test_a_wrong_password_is_said_plainly(
    tmp_path: Path, team_server: TeamServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "team.db"
    code = inbox(["team", "join", team_server.url, "--agent", "marc", "--password-stdin", "--db", str(db)], monkeypatch,
                 "not-his-password\n")  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown name or wrong password" in err
    assert "not-his-password" not in err
    assert stored_token(team_server.url, "marc") is None


def test_an_unreachable_server_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code = inbox(["team", "join", url, "--agent", "marc", "--password-stdin", "--db", str(tmp_path / "t.db")], monkeypatch,
                 "whatever-password\n")  # fmt: skip
    assert code == 2
    assert f"the team server {url} cannot be reached" in capsys.readouterr().err


@pytest.fixture
def untrusted_tls_server(tmp_path: Path) -> Iterator[str]:
    """A TLS listener with a self-signed certificate (no HTTP: the handshake is what is tested)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_an_untrusted_certificate_is_said_plainly(untrusted_tls_server: str) -> None:
    async def attempt() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            await TeamClient(untrusted_tls_server, http).sign_in("marc", "whatever-password")

    with pytest.raises(CertificateProblem, match="certificate of https://localhost:.* is not trusted"):
        asyncio.run(attempt())
