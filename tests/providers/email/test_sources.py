"""Importing mail from disk: .eml, mbox, maildir and bare files, with honest rejections."""

from __future__ import annotations

import mailbox
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.providers.email.sources import import_mail, iter_mail, looks_like_mail
from tests.corpus import corpus_dir

WHEN = datetime(2020, 1, 1, tzinfo=UTC)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _raw(n: int) -> bytes:
    return f"From: c{n}@example.com\nMessage-ID: <m{n}@example.com>\nSubject: s{n}\n\nbody {n}\n".encode()


def test_mbox_messages_are_numbered_from_one(tmp_path: Path) -> None:
    box = mailbox.mbox(str(tmp_path / "box.mbox"))
    for n in range(3):
        box.add(_raw(n))
    box.flush()
    box.close()
    items = list(iter_mail(tmp_path / "box.mbox"))
    assert [label for label, _ in items] == [f"{tmp_path / 'box.mbox'}#{n}" for n in (1, 2, 3)]
    assert b"Message-ID: <m2@example.com>" in items[2][1]


def test_maildir_nested_folders_and_renamed_flags(tmp_path: Path) -> None:
    root = tmp_path / "Mail"
    _write(root / "cur" / "1!2,S", _raw(1))
    _write(root / "new" / "2", _raw(2))
    _write(root / "tmp" / "3", _raw(3))  # still being delivered: not imported
    _write(root / ".Sent" / "cur" / "4:2,S", _raw(4))
    _write(root / "dovecot-uidlist", b"3 V1 N5\n")
    batch = import_mail(root, WHEN)
    assert sorted(m.provider_id for m in batch.messages) == [
        "m1@example.com",
        "m2@example.com",
        "m4@example.com",
    ]
    assert batch.rejections == ()
    assert looks_like_mail(root)


def test_bare_rfc5322_file_and_eml_and_non_mail(tmp_path: Path) -> None:
    _write(tmp_path / "a.eml", _raw(1))
    _write(tmp_path / "12345", _raw(2))
    _write(tmp_path / "notes.txt", b"Shopping list: milk\nbread\n")
    _write(tmp_path / "empty.eml", b"")
    batch = import_mail(tmp_path, WHEN)
    assert sorted(m.provider_id for m in batch.messages) == ["m1@example.com", "m2@example.com"]
    reasons = {Path(r.source).name: r.reason for r in batch.rejections}
    assert reasons == {
        "notes.txt": "not an e-mail message (no mail headers at the start)",
        "empty.eml": "empty file",
    }
    assert looks_like_mail(tmp_path / "12345") and not looks_like_mail(tmp_path / "notes.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_rejected_and_the_rest_imported(tmp_path: Path) -> None:
    _write(tmp_path / "a.eml", _raw(1))
    locked = _write(tmp_path / "b.eml", _raw(2))
    locked.chmod(0)
    batch = import_mail(tmp_path, WHEN)
    assert [m.provider_id for m in batch.messages] == ["m1@example.com"]
    assert batch.rejections[0].source.endswith("b.eml")
    assert batch.rejections[0].reason.startswith("cannot read")


def test_a_broken_message_in_the_middle_does_not_stop_the_import(tmp_path: Path) -> None:
    _write(tmp_path / "1.eml", _raw(1))
    _write(tmp_path / "2.eml", b"From: \xff\xfe\x00 <<<\nContent-Type: multipart/mixed\n\n\x00")
    _write(tmp_path / "3.eml", _raw(3))
    batch = import_mail(tmp_path, WHEN)
    assert len(batch.messages) == 3 and batch.rejections == ()
    assert batch.messages[1].sent_at == WHEN


def test_missing_path_is_a_rejection(tmp_path: Path) -> None:
    batch = import_mail(tmp_path / "nope", WHEN)
    assert batch.messages == () and batch.rejections[0].reason == "no such file or folder"


def test_notmuch_maildir_imports_every_message() -> None:
    root = corpus_dir("notmuch", "corpora", "default")
    files = [p for p in root.rglob("*") if p.is_file()]
    batch = import_mail(root, WHEN)
    assert len(batch.messages) == len(files) == 53
    assert batch.rejections == ()


def test_imaptest_mbox_splits_into_messages() -> None:
    path = corpus_dir("imaptest", "src", "tests", "thread.mbox")
    count = path.read_bytes().count(b"\nFrom ") + path.read_bytes().startswith(b"From ")
    batch = import_mail(path, WHEN)
    assert len(batch.messages) == count > 1
    assert batch.messages[0].meta["source"] == f"{path}#1"


def test_imaptest_scripts_are_not_mail() -> None:
    script = corpus_dir("imaptest", "src", "tests", "thread")
    assert not looks_like_mail(script)
    assert looks_like_mail(
        corpus_dir("cpython-test_email", "Lib", "test", "test_email", "data", "msg_35.txt")
    )


def test_dangling_link_is_rejected_and_the_rest_imported(tmp_path: Path) -> None:
    _write(tmp_path / "a.eml", _raw(1))
    (tmp_path / "b.eml").symlink_to(tmp_path / "gone.eml")
    batch = import_mail(tmp_path, WHEN)
    assert [m.provider_id for m in batch.messages] == ["m1@example.com"]
    assert [Path(r.source).name for r in batch.rejections] == ["b.eml"]
    assert batch.rejections[0].reason.startswith("cannot read")


def test_a_message_over_the_size_limit_is_rejected_and_the_others_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox.providers.email import sources

    monkeypatch.setattr(sources, "MAX_MESSAGE_BYTES", 2048)
    big = _raw(1).replace(b"body 1", b"x" * 4096)
    box = mailbox.mbox(str(tmp_path / "box.mbox"))
    for raw in (_raw(0), big, _raw(2)):
        box.add(raw)
    box.flush()
    box.close()
    _write(tmp_path / "big.eml", big)
    _write(tmp_path / "Mail" / "cur" / "1:2,S", big)
    _write(tmp_path / "Mail" / "cur" / "2:2,S", _raw(3))
    batch = import_mail(tmp_path, WHEN)
    assert sorted(m.provider_id for m in batch.messages) == [f"m{n}@example.com" for n in (0, 2, 3)]
    assert sorted((r.source, r.reason) for r in batch.rejections) == [
        (str(tmp_path / "Mail" / "cur" / "1:2,S"), "larger than 2,048 bytes: not imported"),
        (str(tmp_path / "big.eml"), "larger than 2,048 bytes: not imported"),
        (f"{tmp_path / 'box.mbox'}#2", "message larger than 2,048 bytes: not imported"),
    ]
