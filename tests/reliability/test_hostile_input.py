"""Hostile and broken mail through ``inbox import`` (a subprocess, as a user runs it): MIME bombs,
huge headers and attachments, broken charsets and bytes, direction overrides. None crashes the
import, the store stays sane, and the worst input's time and memory are measured and bounded."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from inbox.providers.email.parse import parse_email
from inbox.store.repository import Store
from inbox.ui.text import one_line, reveal
from tests.reliability import figures
from tests.reliability.harness import Lane

HEAD = (
    b"From: Sender <a@x.test>\r\nTo: b@y.test\r\nSubject: %s\r\nMessage-ID: <%s@x.test>\r\n"
    b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\n"
)


def head(name: str, subject: bytes = b"hello") -> bytes:
    return HEAD % (subject, name.encode())


def deep_multipart(levels: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\ninnermost words\r\n"
    for i in range(levels):
        b = b"b%d" % i
        body = (
            b'Content-Type: multipart/mixed; boundary="'
            + b
            + b'"\r\n\r\n--'
            + b
            + b"\r\n"
            + body
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    return head("deep") + body


def attachment(name: str, ctype: str, payload: bytes) -> bytes:
    return head(name) + (
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n'
        b"\r\nsee attached\r\n--B\r\nContent-Type: " + ctype.encode() + b"\r\n"
        b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(payload)
        + b"\r\n--B--\r\n"
    )


def zip_of_zips(levels: int = 5, width: int = 10) -> bytes:
    data = b"x" * 1_000_000
    for level in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for j in range(width):
                archive.writestr(f"{j}.zip" if level else f"{j}.txt", data)
        data = buf.getvalue()
    return data


RTL_NAME = "Adm\u202eni\u200bn"
BOMBS: dict[str, Callable[[], bytes]] = {
    "nested_1000_levels": lambda: deep_multipart(1000),
    "huge_headers": lambda: (
        head("hh")
        + b"X-Big: "
        + b"a" * 5_000_000
        + b"\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(100_000))
        + b"\r\nbody words\r\n"
    ),
    "attachment_50mb": lambda: attachment(
        "big.bin", "application/octet-stream", os.urandom(50 * 1024 * 1024)
    ),
    "zip_of_zips": lambda: attachment("z.zip", "application/zip", zip_of_zips()),
    "invalid_charset": lambda: (
        head("cs", b"=?x-bogus?Q?h=E9llo?=")
        + b'Content-Type: text/plain; charset="x-klingon-99"\r\n\r\nh\xe9llo \xff\xfe world\r\n'
    ),
    "invalid_utf8_and_nul": lambda: (
        head("u8", b"caf\xc3 \xff\x00 \xe2\x80\xae gpj.exe")
        + b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xc3\x28 \xed\xa0\x80 NUL:\x00: end\r\n"
    ),
    "rtl_and_zero_width": lambda: (
        head(
            "rtl", b"=?utf-8?b?" + base64.b64encode("invoice\u202efdp.exe".encode()) + b"?="
        ).replace(
            b"From: Sender <a@x.test>",
            b"From: =?utf-8?b?" + base64.b64encode(RTL_NAME.encode()) + b"?= <rtl@x.test>",
        )
        + b"Content-Type: text/plain\r\n\r\nhi\r\n"
    ),
    "one_line_1mb": lambda: (
        head("ll") + b"Content-Type: text/plain\r\n\r\n" + b"word " * (1024 * 1024 // 5) + b"\r\n"
    ),
    "html_unterminated_tags": lambda: (
        head("unterminated")
        + b"Content-Type: text/html\r\n\r\n"
        + b"<a href='x'" * 100_000
        + b"<!-- x >" * 100_000
    ),
    "html_100k_nested": lambda: (
        head("html")
        + b"Content-Type: text/html\r\n\r\n"
        + b"<div>" * 100_000
        + b"deep words"
        + b"</div>" * 100_000
    ),
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bombs")
    for name, make in BOMBS.items():
        (folder / f"{name}.eml").write_bytes(make())
    return folder


# ``python -m inbox`` that reports its own peak memory on exit (the last stderr line).
_MEASURED = (
    "import resource, runpy, sys\n"
    "try:\n"
    "    runpy.run_module('inbox', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def _import(lane: Lane, path: Path) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run ``inbox import PATH``; the result, its seconds and its peak memory in KiB."""
    began = time.monotonic()
    command = [sys.executable, "-c", _MEASURED, *lane.command("import", str(path))[3:]]
    done = subprocess.run(
        command, env=lane.env, cwd=lane.root, capture_output=True, text=True, timeout=300
    )
    seconds = time.monotonic() - began
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    peak = int(last.split()[1]) if last.startswith("maxrss") else 0
    return done, seconds, peak


def test_hostile_mail_never_crashes_import_and_the_store_stays_sane(
    tmp_path: Path, bombs: Path
) -> None:
    lane = Lane(tmp_path / "lane", "hostile")
    worst = ("", 0.0, 0)
    for name in BOMBS:
        done, seconds, peak_kib = _import(lane, bombs / f"{name}.eml")
        assert done.returncode == 0, f"{name}: {done.stderr[-1500:]}"
        assert "1 messages added" in done.stdout, (name, done.stdout)
        assert "Traceback" not in done.stderr
        assert peak_kib > 0
        if peak_kib > worst[2]:
            worst = (name, seconds, peak_kib)
    store = Store.open(lane.db)
    try:
        assert store.integrity_check() == "ok"
        assert len(store.open_conversation_ids()) == len(BOMBS)
        assert store.search("deep words")  # the HTML bomb keeps its text, searchable
        rows = store._rows("SELECT text, subject, author_name, html FROM messages")
        for row in rows:
            assert "\x00" not in (row["text"] or "") + (row["subject"] or "")
        attachments = store._rows(
            "SELECT attachments FROM messages WHERE attachments LIKE '%big.bin%'"
        )
        assert attachments and '"size": 5' in attachments[0][0]  # 50 MB recorded as metadata
    finally:
        store.close()
    figures.add("hostile_inputs_imported", len(BOMBS))
    figures.record("hostile_worst_input", worst[0])
    figures.record("hostile_worst_seconds", round(worst[1], 1))
    figures.record("hostile_worst_peak_rss_mib", worst[2] // 1024)
    # Bounded: the 50 MB attachment (70 MB of base64) peaks near 11x the file, never more.
    assert worst[2] // 1024 < 2048


def test_the_deepest_html_is_not_rendered_but_its_text_is_kept() -> None:
    message = parse_email(BOMBS["html_100k_nested"]())
    assert message.html is None and "deep words" in message.text
    assert message.meta.get("html_dropped")
    ordinary = parse_email(
        head("ok")
        + b"Content-Type: text/html\r\n\r\n"
        + b"<div>" * 50
        + b"<b>fine</b>"
        + b"</div>" * 50
    )
    assert ordinary.html is not None and "<b>fine</b>" in ordinary.html


def test_reveal_shows_direction_overrides_and_invisible_characters() -> None:
    message = parse_email(BOMBS["rtl_and_zero_width"]())
    assert message.author.display_name == RTL_NAME  # stored as sent: evidence is kept
    shown = reveal(message.author.display_name)
    assert "\u202e" not in shown and "\u200b" not in shown
    assert "⟦U+202E⟧" in shown and "⟦U+200B⟧" in shown
    subject = one_line(message.subject or "")
    assert "⟦U+202E⟧" in subject and subject.startswith("invoice")
    assert reveal("tab\tand\nnewline") == "tab\tand\nnewline"
    assert reveal("bell\x07") == "bell\ufffd"
    assert reveal("plain Léa 日本") == "plain Léa 日本"


def test_reveal_marks_exactly_the_control_and_suspicious_characters_of_all_unicode() -> None:
    """Every code point, alone and inside text, against the rule spelled out character by
    character: a control character (category Cc) but tab and newline becomes U+FFFD, a direction
    override or invisible character its visible code, anything else stays."""
    suspicious = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200B,
                  0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x061C}  # fmt: skip
    changed = 0
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF:
            continue
        ch = chr(point)
        if point in suspicious:
            want = f"⟦U+{point:04X}⟧"
        elif ch not in "\n\t" and unicodedata.category(ch) == "Cc":
            want = "\ufffd"
        else:
            want = ch
        changed += want != ch
        assert reveal(f"a{ch}b") == f"a{want}b", hex(point)
    assert changed == 65 - 2 + len(suspicious)  # the 65 Cc characters but tab and newline
