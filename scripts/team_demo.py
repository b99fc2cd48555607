"""``make team-demo``: the dev team server (``inbox serve --dev``: a private PostgreSQL with the
demo workspace) and two desktop windows signed in as its demo agents, lea (team lead) and marc.

Each window has its own replica file under the user data folder (``team-demo/``). Close both
windows to stop everything. Where the machine has no system keyring, the demo keeps its two
session tokens in keyrings.alt's plain file (the demo only; a real desktop uses the keyring).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import platformdirs

AGENTS = ("lea", "marc")


def keyring_env() -> dict[str, str]:
    import keyring
    from keyring.backends import fail

    if isinstance(keyring.get_keyring(), fail.Keyring) and not os.environ.get("PYTHON_KEYRING_BACKEND"):
        print("no system keyring here: the demo keeps its session tokens in keyrings.alt's plain file")
        return {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    return {}


def wait_until_serving(url: str, server: subprocess.Popen[str], seconds: float = 60.0) -> bool:
    """Until ``/v1/health`` answers (True), the server exits or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    return False


def main() -> int:
    env = {**os.environ, **keyring_env(), "PYTHONUNBUFFERED": "1"}
    port = os.environ.get("TEAM_DEMO_PORT", "8765")
    server = subprocess.Popen([sys.executable, "-m", "inbox", "serve", "--dev", "--port", port],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    assert server.stdout is not None
    passwords: dict[str, str] = {}
    url = ""
    for line in server.stdout:
        print(line, end="")
        found = re.search(r"sign in as (\w+) \(\w+\) with password (\S+)", line)
        if found:
            passwords[found.group(1)] = found.group(2)
        if line.startswith("Inbox team server:"):
            url = line.split()[3].removesuffix("/v1/")
        if url and all(a in passwords for a in AGENTS):
            break
    else:
        print("the dev server stopped before it was ready", file=sys.stderr)
        return 1
    # Keep reading the server's output (a full pipe would stop it), and wait until it answers:
    # it prints its sign-ins before uvicorn listens.
    threading.Thread(target=lambda: [print(line, end="") for line in server.stdout or ()], daemon=True).start()
    if not wait_until_serving(url, server):
        print(f"the dev server did not answer at {url} within 60 s", file=sys.stderr)
        server.send_signal(signal.SIGTERM)
        return 1
    folder = Path(platformdirs.user_data_dir("inbox", "inbox")) / "team-demo"
    folder.mkdir(parents=True, exist_ok=True)
    windows = []
    try:
        for agent in AGENTS:
            db = folder / f"{agent}.db"
            subprocess.run([sys.executable, "-m", "inbox", "team", "join", url, "--agent", agent, "--password-stdin",
                            "--db", str(db)], input=passwords[agent] + "\n", text=True, check=True, env=env)  # fmt: skip
            windows.append(subprocess.Popen([sys.executable, "-m", "inbox", "--db", str(db)], env=env))
        for window in windows:
            window.wait()
    finally:
        for window in windows:
            if window.poll() is None:
                window.terminate()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
