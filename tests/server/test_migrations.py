"""Versioned SQL migrations: applied in order, once, even by two processes starting together; a
newer database is refused; the French/English text search configuration they install."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from inbox.errors import InboxError
from inbox.server.db import migrate, migrations
from tests.server.conftest import Cluster, sql


@pytest.fixture
def empty_dsn(pg_cluster: Cluster) -> str:
    return pg_cluster.new_database(template="template0")


def test_a_fresh_database_gets_every_migration_once(empty_dsn: str) -> None:
    applied = asyncio.run(migrate(empty_dsn))
    known = migrations()
    assert applied == [f"{m.version:04d}_{m.name}" for m in known]
    assert asyncio.run(migrate(empty_dsn)) == []
    rows = sql(empty_dsn, "SELECT version, name FROM schema_version ORDER BY version")
    assert rows == [{"version": m.version, "name": m.name} for m in known]


def test_two_processes_migrating_at_once_apply_each_migration_once(empty_dsn: str) -> None:
    command = [sys.executable, "-m", "inbox", "serve", "migrate", "--dsn", empty_dsn]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    applied = "".join(out for out, _ in outputs)
    for m in migrations():
        assert applied.count(f"applied {m.version:04d}_{m.name}") == 1
    counts = sql(empty_dsn, "SELECT version, count(*) AS n FROM schema_version GROUP BY version")
    assert {r["n"] for r in counts} == {1} and len(counts) == len(migrations())


def test_a_database_from_a_newer_inbox_is_refused(empty_dsn: str) -> None:
    asyncio.run(migrate(empty_dsn))
    sql(empty_dsn, "INSERT INTO schema_version (version, name) VALUES (9999, 'from_the_future')")
    with pytest.raises(InboxError, match="newer"):
        asyncio.run(migrate(empty_dsn))
    done = subprocess.run([sys.executable, "-m", "inbox", "serve", "migrate", "--dsn", empty_dsn],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "upgrade Inbox" in done.stderr


def test_a_failing_migration_leaves_nothing_behind(empty_dsn: str, tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "0001_good.sql").write_text("CREATE TABLE kept (id int);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    with pytest.raises(Exception, match="no_such_function"):
        asyncio.run(migrate(empty_dsn, folder))
    tables = {r["t"] for r in sql(empty_dsn, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")}
    assert "kept" in tables and "half" not in tables
    assert [r["version"] for r in sql(empty_dsn, "SELECT version FROM schema_version")] == [1]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("gateau:* & ecrase:*", True),  # accents folded, prefixes
        ("GÂTEAU", True),  # case and accents in the query too
        ("livr:*", True),  # prefix of "livraison"
        ("deliver:*", True),  # English words stay as they are (no French stemming)
        ("cake & delivered", True),
        ("chocolat", False),
    ],
)
def test_the_text_search_configuration_folds_accents_for_french_and_english(
    pg_dsn: str, query: str, found: bool
) -> None:
    rows = sql(
        pg_dsn,
        """SELECT to_tsvector('inbox_text', %s) @@ to_tsquery('inbox_text', %s) AS hit""",
        ["Le gâteau est arrivé écrasé à la livraison. The cake was delivered crushed", query],
    )
    assert rows[0]["hit"] is found


def test_phrases_keep_their_order(pg_dsn: str) -> None:
    text = "Le fraisier est arrivé complètement écrasé"
    hit = sql(pg_dsn, "SELECT to_tsvector('inbox_text', %s) @@ phraseto_tsquery('inbox_text', %s) AS h",
              [text, "complètement ecrase"])  # fmt: skip
    miss = sql(pg_dsn, "SELECT to_tsvector('inbox_text', %s) @@ phraseto_tsquery('inbox_text', %s) AS h",
               [text, "écrasé complètement"])  # fmt: skip
    assert hit[0]["h"] is True and miss[0]["h"] is False


def test_without_postgresql_the_tests_skip_with_the_reason_and_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    import tests.server.conftest as fixtures

    monkeypatch.setattr(fixtures, "PG_BIN", Path(str(tmp_path)))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql-15"):
        fixtures.require_postgres()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        fixtures.require_postgres()
