"""Email threading agrees with notmuch (an independent implementation) on real LKML mail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from inbox.cli.importing import import_paths
from inbox.models import Account, Channel
from inbox.store.repository import Store
from tests.corpus import corpus_dir


def _notmuch_threads(maildir: Path, tmp: Path) -> set[frozenset[str]]:
    if shutil.which("notmuch") is None:
        if os.environ.get("CI"):
            pytest.fail("notmuch is not installed (required under CI)")
        pytest.skip("notmuch is not installed")
    cfg = tmp / "notmuch-config"
    cfg.write_text(f"[database]\npath={maildir}\n[new]\ntags=\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(cfg)}
    subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        ["notmuch", "show", "--format=json", "--body=false", "--entire-thread=true", "*"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    threads: set[frozenset[str]] = set()

    def walk(node: object, ids: set[str]) -> None:
        if isinstance(node, dict) and "id" in node:
            ids.add(str(node["id"]))
        if isinstance(node, list):
            for item in node:
                walk(item, ids)
        elif isinstance(node, dict):
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value, ids)

    for thread in json.loads(out):
        ids: set[str] = set()
        walk(thread, ids)
        threads.add(frozenset(ids))
    return threads


def test_lkml_threads_match_notmuch(tmp_path: Path) -> None:
    source = corpus_dir("notmuch", "corpora", "lkml")
    maildir = tmp_path / "lkml"
    shutil.copytree(source, maildir)
    expected = _notmuch_threads(maildir, tmp_path)

    store = Store.open(tmp_path / "inbox.db")
    account = Account("email:lkml", Channel.EMAIL, "lkml")
    store.save_account(account)
    first = import_paths(store, [source], account)
    again = import_paths(store, [source], account)
    assert first.rejections == [] and first.result.added + first.result.duplicates == 210
    assert again.result.added == 0

    rows = store.db.execute("SELECT conversation_id, provider_id FROM messages").fetchall()
    ours: dict[int, set[str]] = {}
    for cid, pid in rows:
        ours.setdefault(int(cid), set()).add(str(pid).split("#", 1)[0])
    got = {frozenset(ids) for ids in ours.values()}
    assert got == expected
    assert len(got) >= 5  # "<yes>" in References joins many LKML threads, in notmuch too
