"""``inbox serve --dev``: a private PostgreSQL with the demo workspace and two demo agents."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.server.conftest import Api, ServerProcess, free_port, require_postgres


def test_dev_serves_the_demo_workspace_on_a_private_cluster_and_stops_it(tmp_path: Path) -> None:
    require_postgres()
    port = free_port()
    env = {**os.environ, "INBOX_CHANNELS": "0", "INBOX_LOG_LEVEL": "warning"}
    env.pop("INBOX_DSN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "inbox", "serve", "--dev", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    printed: list[str] = []
    folder: Path | None = None
    try:
        while not any(line.startswith("  sign in as marc") for line in printed):
            line = process.stdout.readline()
            if not line:
                pytest.fail("inbox serve --dev ended early:\n" + "".join(printed))
            printed.append(line)
        text = "".join(printed)
        cluster = re.search(r"PostgreSQL \(private, 127\.0\.0\.1:(\d+)\) in (\S+)", text)
        assert cluster is not None, text
        folder = Path(cluster.group(2))
        data_home = Path(os.environ["XDG_DATA_HOME"])
        assert folder.is_relative_to(data_home) or os.geteuid() == 0  # as root: a folder postgres can reach
        passwords = dict(re.findall(r"sign in as (\w+) \(\w+\) with password (\S+)", text))
        assert set(passwords) == {"lea", "marc"}
        assert f"http://127.0.0.1:{port}/v1/" in text
        server = ServerProcess("", port, process, tmp_path / "unused.log")
        while True:  # ready once it answers
            try:
                httpx.get(server.url + "/v1/health", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None
        lea, marc = Api.sign_in(server, "lea", passwords["lea"]), Api.sign_in(server, "marc", passwords["marc"])
        everything = lea.get("/v1/conversations", limit=1).json()["total"]
        assert everything > 100  # the demo's few hundred conversations
        marcs = lea.client.get("/v1/conversations", params={"limit": 500}).json()["items"]
        assert {c["account_id"] for c in marcs} >= {"email:support@brioche.example", "twitter:1500000000000000001"}
        visible = marc.get("/v1/conversations", limit=500).json()["items"]
        assert {c["account_id"] for c in visible} <= {"email:support@brioche.example", "webform:contact"}
        assert 0 < len(visible) < everything
        changes = lea.get("/v1/changes", after="0", limit=50).json()
        assert changes["more"] is True and changes["conversations"] and changes["messages"]
        pg_port = int(cluster.group(1))
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        with pytest.raises(psycopg.OperationalError):  # the private cluster stopped with the server
            psycopg.connect(f"host=127.0.0.1 port={pg_port} user=inbox dbname=inbox", connect_timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if folder is not None:
            runuser = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run([*runuser, "/usr/lib/postgresql/15/bin/pg_ctl", "-D", str(folder / "data"), "-m",
                            "immediate", "stop"], capture_output=True)  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)


def test_the_desktop_cli_does_not_load_the_server_libraries() -> None:
    probe = (
        "import sys, inbox.cli; inbox.cli.build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'litestar', 'uvicorn', 'psycopg', 'argon2', 'msgspec'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
