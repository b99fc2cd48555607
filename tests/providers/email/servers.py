"""Real mail servers on 127.0.0.1 for tests: a private Dovecot (IMAP) and aiosmtpd (SMTP).

Use them from any test folder by importing the fixtures into its ``conftest.py``:
``from tests.providers.email.servers import dovecot_server, smtp_server`` (or
``pytest_plugins = ["tests.providers.email.servers"]`` in the root ``tests/conftest.py``).
Each fixture starts its own instance on a free port in a temporary folder and stops it after the
test. ``CuttingProxy`` sits between a client and a server and can drop the connection after a
number of bytes, to test what a cut in the middle of a download does.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import imaplib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from inbox.models import Account, Channel

HOST = "127.0.0.1"
USER = "agent@example.test"
PASSWORD = "s3cret-Pa55"

_CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/run/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {dir}/dovecot.log
default_internal_user = root
default_internal_group = root
default_login_user = dovenull
mail_location = maildir:{dir}/mail/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  user = dovenull
}}
service anvil {{
  user = root
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={dir}/mail/%u
}}
first_valid_uid = 0
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, up: bool, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not go {'up' if up else 'down'}")


def process_running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for init to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def dovecot_available() -> bool:
    return shutil.which("dovecot") is not None and os.geteuid() == 0


class DovecotServer:
    """A private Dovecot instance: ``host``, ``port``, ``user``, ``password``, ``append()``."""

    def __init__(
        self, directory: Path, sent_special_use: str | None = None, extra_config: str = ""
    ) -> None:
        """``sent_special_use`` names a folder the server creates and marks ``\\Sent``
        (RFC 6154), as Gmail and Exchange do under their own names. ``extra_config`` is
        appended to dovecot.conf (``{dir}`` is this instance's folder); a setting given there
        again replaces the default one."""
        self.dir = directory
        self.host = HOST
        self.port = free_port()
        self.user = USER
        self.password = PASSWORD
        self.config = directory / "dovecot.conf"
        directory.chmod(0o755)
        (directory / "run").mkdir(exist_ok=True)
        mail = directory / "mail"
        mail.mkdir(exist_ok=True)
        account = pwd.getpwnam("dovecot")
        os.chown(mail, account.pw_uid, account.pw_gid)
        config = _CONFIG.format(dir=directory, port=self.port)
        if sent_special_use:
            config += (
                "namespace inbox {\n  inbox = yes\n"
                f'  mailbox "{sent_special_use}" {{\n    special_use = \\Sent\n'
                "    auto = create\n  }\n}\n"
            )
        config += extra_config.replace("{dir}", str(directory))
        self.config.write_text(config)
        (directory / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self._pid: int | None = None
        self._spawned = False

    @property
    def maildir(self) -> Path:
        return self.dir / "mail" / self.user

    def start(self) -> None:
        (self.dir / "run" / "master.pid").unlink(missing_ok=True)
        self._spawned = True
        # The daemon must not hold the test process's stdout: under pytest-xdist that is the
        # worker's channel, and a Dovecot left running by a crashed worker would keep it open.
        with open(self.dir / "dovecot.start.log", "ab") as log:
            subprocess.run(
                ["dovecot", "-c", str(self.config)],
                check=True, timeout=30, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        self._pid = self._master_pid(limit=15)
        if self._pid is None:
            raise RuntimeError("dovecot wrote no master.pid")
        _wait_for_port(self.port, up=True)

    def _master_pid(self, limit: float) -> int | None:
        """The master's pid once its file is written (it exists empty for a moment)."""
        pid_file = self.dir / "run" / "master.pid"
        deadline = time.monotonic() + limit
        while True:
            text = pid_file.read_text().strip() if pid_file.exists() else ""
            if text.isdigit():
                return int(text)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop our instance: its master and every process of its group (the master's id),
        including open IMAP sessions, so that "down" really means down."""
        if self._pid is None and self._spawned:
            self._pid = self._master_pid(limit=2)  # start() failed after spawning it
        self._spawned = False
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while process_running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # sessions that outlived their master
        _wait_for_port(self.port, up=False)

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX", when: datetime | None = None) -> int:
        """Deliver ``raw`` into ``folder`` (created if missing) as a sender would; its UID.
        ``when`` sets the arrival time (INTERNALDATE) the server records."""
        conn = self.client()
        try:
            if folder != "INBOX":
                conn.create(folder)  # NO when it exists: fine
            stamp = imaplib.Time2Internaldate(when.timestamp()) if when else None
            typ, data = conn.append(folder, None, stamp, raw)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
            return int(text.split("APPENDUID", 1)[1].split()[1].rstrip("]"))
        finally:
            conn.logout()

    def uids(self, folder: str = "INBOX") -> list[int]:
        conn = self.client()
        try:
            conn.select(folder, readonly=True)
            _typ, data = conn.uid("SEARCH", "ALL")
            return [int(x) for x in (data[0] or b"").split()]
        finally:
            conn.logout()

    def fetch_all(self, folder: str) -> list[bytes]:
        """Every message of ``folder`` as raw bytes ([] when the folder does not exist)."""
        conn = self.client()
        try:
            typ, _ = conn.select(folder, readonly=True)
            if typ != "OK":
                return []
            _typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
            return [item[1] for item in data if isinstance(item, tuple)]
        finally:
            conn.logout()

    def rebuild_inbox(self) -> None:
        """Make the server renumber INBOX under a new UIDVALIDITY, as after an index rebuild
        or a mailbox recreated with the same messages."""
        self.stop()
        for path in self.maildir.glob("dovecot.index*"):
            path.unlink()
        (self.maildir / "dovecot-uidlist").unlink(missing_ok=True)
        self.start()


@dataclass
class SmtpServer:
    """aiosmtpd on loopback: ``messages`` holds the raw bytes of every mail received."""

    host: str
    port: int
    user: str = USER
    password: str = PASSWORD
    messages: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


class _Recorder:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        self.server.messages.append(data)
        self.server.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"


def _authenticator(server: SmtpServer) -> Any:
    def check(_smtp: SMTP, _session: Session, _env: Envelope, _mech: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == server.user
            and data.password.decode() == server.password
        )
        return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535 itself

    return check


class CuttingProxy:
    """A TCP relay to ``target``; with ``cut_after`` set, each new connection is dropped once
    that many bytes have come back from the server. ``from_client`` records every byte the
    clients sent, to see which commands really reached the server."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut_after: int | None = None
        self.cuts = 0
        self.from_client = bytearray()
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            budget = self.cut_after
            for src, dst, limit in ((client, upstream, None), (upstream, client, budget)):
                args = (src, dst, limit, src is client)
                thread = threading.Thread(target=self._pump, args=args, daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(
        self, src: socket.socket, dst: socket.socket, limit: int | None, record: bool = False
    ) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                if record:
                    self.from_client += data
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


@contextlib.contextmanager
def running_dovecot(
    sent_special_use: str | None = None, extra_config: str = ""
) -> Iterator[DovecotServer]:
    """A started private Dovecot, stopped and deleted on exit (skips when unavailable)."""
    if not dovecot_available():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd) or not root")
    # Not under pytest's 0700 base temp: Dovecot's mail process runs as the dovecot user.
    directory = Path(tempfile.mkdtemp(prefix="inbox-dovecot-"))
    server = DovecotServer(directory, sent_special_use, extra_config)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def dovecot_server() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


@contextlib.contextmanager
def serving_smtp(server: SmtpServer, handler: object) -> Iterator[SmtpServer]:
    """aiosmtpd on ``server``'s port with ``handler``, accepting ``server``'s password, no TLS."""
    controller = Controller(
        handler,
        hostname=HOST,
        port=server.port,
        authenticator=_authenticator(server),
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(host=HOST, port=free_port())
    with serving_smtp(server, _Recorder(server)):
        yield server


# -- OAuth 2.0 (XOAUTH2) ---------------------------------------------------------------------


class OAuthServer:
    """A small OAuth 2.0 authorization server on loopback, for XOAUTH2 tests.

    ``POST /introspect`` answers Dovecot's oauth2 passdb (``introspection_mode = post``):
    ``{"active": true, "username": ...}`` for a token in ``active``. ``POST /token`` is the token
    endpoint (RFC 6749 §6): a refresh token in ``refresh_tokens`` gets a new active access token
    (``token-1``, ``token-2`` ...) and, with ``rotate``, a new refresh token; any other gets
    400 invalid_grant. ``requests`` keeps (path, form) of every request."""

    def __init__(self, user: str = USER) -> None:
        self.user = user
        self.active: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.rotate = False
        self.expires_in = 3600
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._issued = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {
                    k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()
                }
                status, doc = outer._answer(self.path, form)
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:  # quiet: tokens are in the bodies
                pass

        self._httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def introspection_url(self) -> str:
        return f"http://{HOST}:{self.port}/introspect"

    @property
    def token_url(self) -> str:
        return f"http://{HOST}:{self.port}/token"

    def paths(self) -> list[str]:
        return [path for path, _form in self.requests]

    def _answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.requests.append((path, form))
            if path == "/introspect":
                if form.get("token") in self.active:
                    return 200, {"active": True, "username": self.user}
                return 200, {"active": False}
            if path != "/token":
                return 404, {"error": "not_found"}
            refresh = form.get("refresh_token", "")
            if form.get("grant_type") != "refresh_token" or refresh not in self.refresh_tokens:
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
            self._issued += 1
            access = f"token-{self._issued}"
            self.active.add(access)
            doc: dict[str, object] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }
            if self.rotate:
                self.refresh_tokens.discard(refresh)
                doc["refresh_token"] = f"refresh-{self._issued}"
                self.refresh_tokens.add(str(doc["refresh_token"]))
            return 200, doc

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def xoauth2_dovecot_config(oauth_server: OAuthServer) -> tuple[str, str]:
    """(extra dovecot.conf, oauth2 passdb file) for a Dovecot that takes XOAUTH2 tokens by
    asking ``oauth_server`` (Dovecot 2.3 oauth2 passdb, introspection by POST)."""
    extra = (
        "auth_mechanisms = plain login xoauth2\n"
        # Refusals are the point of these tests: answer them at once, without the 2 s failure
        # delay or anvil's growing per-IP penalty (2.3 docs, "Authentication penalty support").
        "auth_failure_delay = 0\n"
        "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n"
        "passdb {\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {dir}/oauth2.conf\n}\n"
    )
    passdb = (
        "introspection_mode = post\n"
        f"introspection_url = {oauth_server.introspection_url}\n"
        "force_introspection = yes\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    return extra, passdb


@contextlib.contextmanager
def running_xoauth2_dovecot(oauth_server: OAuthServer) -> Iterator[DovecotServer]:
    """A private Dovecot offering AUTH=XOAUTH2 (tokens checked by ``oauth_server``) besides
    the password sign-in of :func:`running_dovecot`."""
    if not dovecot_available():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd) or not root")
    extra, passdb = xoauth2_dovecot_config(oauth_server)
    directory = Path(tempfile.mkdtemp(prefix="inbox-dovecot-"))
    server = DovecotServer(directory, None, extra)
    (directory / "oauth2.conf").write_text(passdb)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


class _XOAuth2Recorder(_Recorder):
    """Also takes ``AUTH XOAUTH2`` with a token ``tokens`` holds; refuses others as Gmail does:
    an error challenge (JSON), then 535 once the client answered with an empty line."""

    def __init__(self, server: SmtpServer, tokens: OAuthServer) -> None:
        super().__init__(server)
        self.tokens = tokens
        self.mechanisms: list[str] = []

    async def auth_XOAUTH2(self, smtp: SMTP, args: list[str]) -> AuthResult:
        self.mechanisms.append("XOAUTH2")
        if len(args) > 1:
            raw = base64.b64decode(args[1])
        else:
            answer = await smtp.challenge_auth("")
            raw = answer if isinstance(answer, bytes) else b""
        parts = dict(
            part.split("=", 1) for part in raw.decode(errors="replace").split("\x01") if "=" in part
        )
        token = parts.get("auth", "").removeprefix("Bearer ")
        if parts.get("user") == self.tokens.user and token in self.tokens.active:
            return AuthResult(success=True, auth_data=LoginPassword(self.tokens.user.encode(), b""))
        error = {"status": "401", "schemes": "bearer", "scope": "https://mail.example.test/"}
        await smtp.challenge_auth(json.dumps(error))
        return AuthResult(success=False, handled=False)


@contextlib.contextmanager
def running_xoauth2_smtp(tokens: OAuthServer) -> Iterator[tuple[SmtpServer, list[str]]]:
    """aiosmtpd offering AUTH XOAUTH2 (and PLAIN/LOGIN with the password); yields the server
    and the list of XOAUTH2 attempts it saw."""
    server = SmtpServer(host=HOST, port=free_port())
    handler = _XOAuth2Recorder(server, tokens)
    with serving_smtp(server, handler):
        yield server, handler.mechanisms


def local_account(imap_port: int, smtp_port: int, **extra: str) -> Account:
    """The support mailbox agent@example.test on these loopback IMAP and SMTP ports, no TLS."""
    settings = {
        "imap_host": "127.0.0.1",
        "imap_port": str(imap_port),
        "imap_security": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(smtp_port),
        "smtp_security": "none",
        "username": "agent@example.test",
        **extra,
    }
    return Account(
        "email:agent@example.test", Channel.EMAIL, "ACME Support", frozenset({"agent@example.test"}), settings
    )
