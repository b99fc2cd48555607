"""Sign-in, sessions and the people commands, against real PostgreSQL and a real server process."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import httpx

from tests.server.conftest import Api, ServerProcess, add_account, add_agent, sql

ACCOUNT = "email:support@brioche.example"


def _inbox(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inbox", *args], input=stdin, capture_output=True, text=True)


def test_sign_in_gives_a_token_that_reads_and_only_its_hash_is_stored(pg_dsn: str, server: ServerProcess) -> None:
    add_account(pg_dsn, ACCOUNT)
    add_agent(pg_dsn, "lea", accounts=(ACCOUNT,), password="croissant-au-beurre")
    answer = httpx.post(server.url + "/v1/session", json={"name": "lea", "password": "croissant-au-beurre"})
    assert answer.status_code == 201
    body = answer.json()
    assert body["agent"] == "lea" and body["accounts"] == [ACCOUNT] and "password" not in answer.text
    token = body["token"]
    assert httpx.get(server.url + "/v1/conversations", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    sessions = sql(pg_dsn, "SELECT token_hash FROM sessions")
    assert [bytes(s["token_hash"]) for s in sessions] == [hashlib.sha256(token.encode()).digest()]
    stored = sql(pg_dsn, "SELECT password_hash FROM agents WHERE name = 'lea'")[0]["password_hash"]
    assert stored.startswith("$argon2id$") and "croissant" not in stored
    assert token not in server.output() and "croissant-au-beurre" not in server.output()


def test_wrong_password_unknown_name_and_no_token_are_401_problems(pg_dsn: str, server: ServerProcess) -> None:
    add_agent(pg_dsn, "lea", password="croissant-au-beurre")
    wrong = httpx.post(server.url + "/v1/session", json={"name": "lea", "password": "pain-au-chocolat"})
    unknown = httpx.post(server.url + "/v1/session", json={"name": "nobody", "password": "pain-au-chocolat"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["detail"] == unknown.json()["detail"]  # no hint which of the two was wrong
    bare = httpx.get(server.url + "/v1/conversations")
    assert bare.status_code == 401 and bare.json()["status"] == 401 and "Bearer" in bare.headers["www-authenticate"]
    forged = httpx.get(server.url + "/v1/conversations", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401


def test_sign_out_ends_the_session(pg_dsn: str, server: ServerProcess) -> None:
    add_agent(pg_dsn, "lea")
    api = Api.sign_in(server, "lea")
    assert api.client.delete("/v1/session").status_code == 204
    assert api.get("/v1/conversations").status_code == 401
    assert sql(pg_dsn, "SELECT count(*) AS n FROM sessions")[0]["n"] == 0


def test_an_expired_session_is_refused(pg_dsn: str, server: ServerProcess) -> None:
    add_agent(pg_dsn, "lea")
    api = Api.sign_in(server, "lea")
    assert api.get("/v1/dashboard").status_code == 200
    sql(pg_dsn, "UPDATE sessions SET expires_at = now() - interval '1 second'")
    answer = api.get("/v1/dashboard")
    assert answer.status_code == 401 and answer.json()["type"].endswith("/signed-out")


def test_cli_adds_lists_and_disables_people(pg_dsn: str, server: ServerProcess) -> None:
    add_account(pg_dsn, ACCOUNT)
    added = _inbox("serve", "user", "add", "marc", "--role", "lead", "--accounts", ACCOUNT, "--password-stdin",
                   "--dsn", pg_dsn, stdin="tarte-tatin-2026\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    api = Api.sign_in(server, "marc", "tarte-tatin-2026")
    assert api.get("/v1/conversations", account=ACCOUNT).status_code == 200
    listed = _inbox("serve", "user", "list", "--json", "--dsn", pg_dsn)
    assert listed.returncode == 0, listed.stderr
    assert '"role": "lead"' in listed.stdout and ACCOUNT in listed.stdout and "argon2" not in listed.stdout
    disabled = _inbox("serve", "user", "disable", "marc", "--dsn", pg_dsn)
    assert disabled.returncode == 0, disabled.stderr
    assert api.get("/v1/conversations").status_code == 401  # the open session ended
    again = httpx.post(server.url + "/v1/session", json={"name": "marc", "password": "tarte-tatin-2026"})
    assert again.status_code == 401


def test_cli_refuses_an_unknown_account_and_a_short_password(pg_dsn: str) -> None:
    unknown = _inbox("serve", "user", "add", "marc", "--accounts", "email:nope@example.com", "--password-stdin",
                     "--dsn", pg_dsn, stdin="tarte-tatin-2026\n")  # fmt: skip
    assert unknown.returncode == 2 and "email:nope@example.com" in unknown.stderr
    short = _inbox("serve", "user", "add", "marc", "--password-stdin", "--dsn", pg_dsn, stdin="tarte\n")
    assert short.returncode == 2 and "8 characters" in short.stderr
    assert sql(pg_dsn, "SELECT count(*) AS n FROM agents")[0]["n"] == 0


def test_sign_in_with_a_missing_field_names_it(server: ServerProcess) -> None:
    answer = httpx.post(server.url + "/v1/session", json={"name": "lea"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "password"
