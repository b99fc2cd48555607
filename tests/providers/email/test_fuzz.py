"""Whatever arrives by mail, parse_email returns a message and never raises."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.providers.email.parse import parse_email
from inbox.providers.email.sanitize import sanitize_html

WHEN = datetime(2020, 1, 1, tzinfo=UTC)
HEADERS = [
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "MIME-Version",
    "Auto-Submitted",
    "List-Id",
    "Received",
]
FRAGMENTS = st.sampled_from(
    [
        "<",
        ">",
        "@",
        '"',
        "=?",
        "?=",
        "=?utf-8?q?",
        "=?x?b?",
        "?B?",
        ";",
        ",",
        ":",
        "(",
        ")",
        "\\",
        "\r\n ",
        "\n",
        "\t",
        "boundary=",
        "charset=",
        "multipart/mixed",
        "\x00",
        "\udcff",
        "é",
        "\u202e",
        "name*=",
        "''",
        "%FF",
        "base64",
        "quoted-printable",
        "*0*",
    ]
)
VALUES = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=12).map("".join)


def _check(raw: bytes) -> None:
    msg = parse_email(raw, "fuzz", WHEN)
    assert msg.provider_id
    assert msg.sent_at.tzinfo is not None
    for text in (msg.text, msg.subject or "", msg.author.display_name, msg.html or ""):
        text.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(HEADERS), VALUES), max_size=10),
    st.sampled_from(["", "text/plain", "multipart/mixed; boundary=b", "text/html"]),
    VALUES,
)
def test_arbitrary_header_values(headers: list[tuple[str, str]], ctype: str, body: str) -> None:
    lines = [f"{name}: {value}" for name, value in headers]
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    text = "\r\n".join(lines) + "\r\n\r\n" + body + "\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>x"
    _check(text.encode("utf-8", "surrogateescape"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_sanitizer_never_raises_and_never_leaks_script(html: str) -> None:
    out = sanitize_html("<p>" + html + '<script>evil()</script><img src=x onerror="evil()">')
    assert "<script" not in out.lower() and "onerror" not in out.lower()
