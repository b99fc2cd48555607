"""Importing saved web-form payloads, and leaving other channels' files alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbox.providers.webform import import_file
from tests.corpus import corpus_dir, corpus_files


@pytest.mark.parametrize("path", corpus_files("zulip-jotform"), ids=lambda p: Path(p).name)
def test_every_jotform_corpus_file_imports(path: Path) -> None:
    batch = import_file(path)
    assert batch is not None
    assert batch.account_hint is not None and batch.account_hint.startswith("webform:")
    assert len(batch.messages) + len(batch.rejections) == 1


def test_no_other_corpus_file_is_taken_for_a_web_form() -> None:
    root = corpus_dir()
    taken = [
        p.relative_to(root)
        for p in corpus_files()
        if "zulip-jotform" not in p.parts and import_file(p) is not None
    ]
    assert taken == []


def test_our_json_and_a_single_submission(tmp_path: Path) -> None:
    doc = {
        "inbox_webform": 1,
        "form": {"id": "contact-fr", "title": "Contact"},
        "submissions": [
            {"id": "s-1", "submitted_at": "2026-11-20T09:14:00Z",
             "fields": {"email": "a@example.fr", "message": "Bonjour"}},
            {"id": "s-2", "fields": {"message": "sans contact"}},
        ],
    }  # fmt: skip
    ours = tmp_path / "forms.json"
    ours.write_text(json.dumps(doc), encoding="utf-8")
    batch = import_file(ours)
    assert batch is not None
    assert [m.provider_id for m in batch.messages] == ["form:contact-fr:s-1"]
    assert "s-2" in batch.rejections[0].reason
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"form_id": "devis", **doc["submissions"][0]}), encoding="utf-8")  # type: ignore[index]
    one = import_file(single)
    assert one is not None and one.messages[0].provider_id == "form:devis:s-1"


def test_broken_or_foreign_files(tmp_path: Path) -> None:
    truncated = tmp_path / "t.json"
    truncated.write_text('{"inbox_webform": 1, "submissions": [{"id"', encoding="utf-8")
    batch = import_file(truncated)
    assert batch is not None and "invalid JSON" in batch.rejections[0].reason
    foreign = tmp_path / "f.json"
    foreign.write_text('{"object": "page", "entry": []}', encoding="utf-8")
    assert import_file(foreign) is None
    binary = tmp_path / "b.bin"
    binary.write_bytes(bytes(range(256)))
    assert import_file(binary) is None
    missing = import_file(tmp_path / "nope.json")
    assert missing is not None and "cannot read" in missing.rejections[0].reason
