"""Hostile HTML mail: sanitised, remote content blocked by default, the real link target shown."""

from __future__ import annotations

from inbox.providers.email.parse import parse_email
from inbox.providers.email.sanitize import BLOCKED_CLASS, has_remote_content, sanitize_html
from inbox.providers.email.sanitize_links import link_targets, misleading
from tests.reliability import figures

HOSTILE = """<html><head><style>.x{display:none}</style><script>steal()</script>
<meta http-equiv="refresh" content="0;url=https://evil.example/"></head>
<body onload="steal()"><p style="display:none;color:red">hidden text</p>
<a href="javascript:alert(1)">Click</a>
<a href="https://evil.example/login" onclick="x()">https://bank.example/login</a>
<form action="https://phish.example"><input name="password"></form>
<iframe src="https://evil.example/frame"></iframe>
<img src="https://tracker.example/p.gif" width="1" height="1">
<img src="https://cdn.example/logo.png" alt="Logo">
<div style="background:url(https://tracker.example/bg.png)">styled</div>
</body></html>"""


def mail_with_html(html: str) -> bytes:
    return (
        "From: Bank <no-reply@bank.example>\r\nTo: agent@example.test\r\nSubject: Verify\r\n"
        "Message-ID: <h1@bank.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()


def test_a_hostile_html_mail_is_stored_safe() -> None:
    message = parse_email(mail_with_html(HOSTILE))
    html = message.html or ""
    for needle in (
        "<script",
        "steal()",
        "onload",
        "onclick",
        "javascript:",
        "<form",
        "<input",
        "<iframe",
        "<meta",
        "display:none",
        "tracker.example",
        "url(",
    ):
        assert needle not in html, needle
    assert "<img" not in html  # remote images wait for consent
    assert BLOCKED_CLASS in html and "cdn.example/logo.png" in html  # kept as a marker
    assert has_remote_content(html)
    shown = sanitize_html(html, allow_remote=True)  # the user said "load remote images"
    assert '<img src="https://cdn.example/logo.png"' in shown
    assert "tracker.example" not in shown
    figures.add("hostile_inputs_imported", 1)


def test_link_targets_show_where_links_really_go() -> None:
    html = parse_email(mail_with_html(HOSTILE)).html or ""
    links = link_targets(html)
    assert ("https://bank.example/login", "https://evil.example/login") in links
    assert all(not href.lower().startswith("javascript:") for _text, href in links)
    [(text, href)] = [link for link in links if "evil" in link[1]]
    assert misleading(text, href)


def test_link_targets_on_odd_html() -> None:
    html = (
        '<a href="https://a.example/x">one <b>bold</b>\n  two</a>'
        '<a name="anchor">no target</a>'
        '<a href="https://b.example/"><img src="cid:1" alt="Logo"></a>'
        '<a href="mailto:help@shop.example">help@shop.example</a>'
        '<a href="https://c.example/&amp;q=1">unclosed'
    )
    assert link_targets(html) == [
        ("one bold two", "https://a.example/x"),
        ("[Logo]", "https://b.example/"),
        ("help@shop.example", "mailto:help@shop.example"),
        ("unclosed", "https://c.example/&q=1"),
    ]
    assert link_targets("") == [] and link_targets("<a href='x'" * 10_000) is not None
    assert len(link_targets('<a href="https://x.example/">x</a>' * 1000)) == 500


def test_misleading_compares_hosts() -> None:
    assert misleading("paypal.com", "https://paypal.com.evil.example/")
    assert misleading("https://bank.example", "https://evil.example")
    assert not misleading("bank.example", "https://www.bank.example/login")
    assert not misleading("Click here", "https://anything.example/")
    assert not misleading("help@shop.example", "mailto:help@shop.example")
    assert misleading("www.bank.example", "javascript:alert(1)")
