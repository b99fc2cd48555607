"""HTML from strangers is made safe before anyone sees it; remote images wait for consent."""

from __future__ import annotations

import email

from inbox.providers.email import sanitize
from inbox.providers.email.sanitize import has_remote_content, html_to_text, sanitize_html
from tests.corpus import corpus_files


def test_scripts_and_their_content_are_removed() -> None:
    out = sanitize_html("<p>hi</p><script>alert('x')</script><SCRIPT src=//x.js></SCRIPT>")
    assert out == "<p>hi</p>"


def test_event_handlers_are_removed() -> None:
    out = sanitize_html('<img src="cid:a" onerror="alert(1)"><b onmouseover="x()">b</b>')
    assert "onerror" not in out and "onmouseover" not in out
    assert '<img src="cid:a">' in out and "<b>b</b>" in out


def test_javascript_and_data_links_are_removed_but_text_kept() -> None:
    out = sanitize_html(
        '<a href="javascript:alert(1)">one</a><a href=" JaVaScRiPt:alert(1)">two</a>'
        '<a href="data:text/html;base64,PHNjcmlwdD4=">three</a><a href="https://ok.example/">ok</a>'
    )
    assert "javascript" not in out.lower() and "data:" not in out
    assert "one" in out and "two" in out and "three" in out
    assert 'href="https://ok.example/"' in out


def test_forms_frames_and_embeds_are_removed() -> None:
    out = sanitize_html(
        '<form action="https://phish.example"><input name="password"><button>Log in</button>'
        '</form><iframe src="https://evil.example"></iframe><object data="x.swf"></object>'
        "<embed src=x.swf><meta http-equiv=refresh content='0;url=https://evil.example'>"
        "<base href='https://evil.example/'><style>body{display:none}</style>"
    )
    for needle in (
        "<form",
        "<input",
        "<button",
        "<iframe",
        "<object",
        "<embed",
        "<meta",
        "<base",
        "<style",
        "evil.example",
        "phish.example",
        "display",
    ):
        assert needle not in out


def test_style_tricks_are_filtered_but_formatting_kept() -> None:
    out = sanitize_html(
        '<div style="position:fixed;top:0;left:0;width:100%;color:red;display:none;'
        'background-image:url(https://t.example/a.png)">x</div>'
    )
    assert "position" not in out and "display" not in out and "url(" not in out
    assert "color:red" in out


def test_remote_images_blocked_by_default_with_a_visible_marker() -> None:
    html = '<p>Logo:</p><img src="https://cdn.example/logo.png" alt="ACME logo">'
    out = sanitize_html(html)
    assert "<img" not in out
    assert "[image blocked: ACME logo]" in out
    assert has_remote_content(html) and has_remote_content(out)


def test_allowing_remote_restores_images_from_the_stored_html() -> None:
    stored = sanitize_html('<img src="https://cdn.example/logo.png" alt="ACME">')
    shown = sanitize_html(stored, allow_remote=True)
    assert '<img src="https://cdn.example/logo.png" alt="ACME">' == shown
    direct = sanitize_html('<img src="https://cdn.example/logo.png" alt="ACME">', allow_remote=True)
    assert "https://cdn.example/logo.png" in direct


def test_tracking_pixels_are_dropped_even_when_remote_is_allowed() -> None:
    html = '<p>Hi</p><img src="http://t.example/open?id=42" width="1" height="1" border="0">'
    assert "t.example" not in sanitize_html(html)
    assert "t.example" not in sanitize_html(html, allow_remote=True)
    assert "[remote image blocked]" not in sanitize_html(html)


def test_inline_and_embedded_images_are_not_remote() -> None:
    html = '<img src="cid:part1@x"><img src="data:image/png;base64,iVBORw0KGgo=">'
    out = sanitize_html(html)
    assert 'src="cid:part1@x"' in out and 'src="data:image/png' in out
    assert not has_remote_content(html)
    assert "svg" not in sanitize_html('<img src="data:image/svg+xml;base64,PHN2Zz4=">')


def test_remote_content_detection_sees_css_and_backgrounds() -> None:
    assert has_remote_content('<table background="http://x.example/b.png">')
    assert has_remote_content("<style>@import url(https://x.example/s.css)</style>")
    assert has_remote_content('<div style="background:url(//x.example/b.png)">')
    assert not has_remote_content('<a href="https://x.example">a link is not loaded</a>')


def test_text_entities_survive_sanitising() -> None:
    assert sanitize_html("<p>Tom &amp; Jerry &lt;3 &#233;</p>") == "<p>Tom &amp; Jerry &lt;3 é</p>"


def test_html_to_text_reads_like_the_mail() -> None:
    text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head><body><h1>Order&nbsp;#12</h1>"
        "<p>Hello <b>Ann</b>,</p><ul><li>one</li><li>two</li></ul>"
        '<p>See <a href="https://shop.example/o/12">your order</a>.</p><script>x()</script>'
        "</body></html>"
    )
    assert text.splitlines()[0] == "Order #12"
    assert "Hello Ann," in text and "- one" in text and "- two" in text
    assert "your order <https://shop.example/o/12>" in text
    assert "x()" not in text and "p{}" not in text and "T\n" not in text


def _through_the_gate(html: str) -> str:
    """What sanitize_html gave before it skipped the image gate: nh3, then the gate always."""
    gate = sanitize._ImageGate(allow_remote=False)
    gate.feed(sanitize._CLEANER.clean(html))
    gate.close()
    return "".join(gate.out)


def _corpus_html() -> list[str]:
    found = []
    for path in corpus_files():
        message = email.message_from_bytes(path.read_bytes())
        for part in message.walk():
            if part.get_content_type() == "text/html":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    found.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return found


def test_html_the_gate_would_not_change_skips_it_and_comes_out_the_same() -> None:
    """Without images, comments or declarations nh3's output is kept as it is: the same text the
    gate gave, for every HTML part of the corpus; with them the gate still runs."""
    htmls = _corpus_html() + [
        "<p>Bonjour &amp; merci</p><table><tr><td bgcolor=red>1</td></tr></table><a href='https://a.example/'>x</a>",
        "<div>caf&eacute; &#233; <br> <span style='color:red'>ok</span></div>",
    ]
    assert len(htmls) > 20
    for html in htmls:
        assert sanitize_html(html) == _through_the_gate(html)
    blocked = sanitize_html('<p>hi</p><IMG src="https://tracker.example/p.png" alt="logo">')
    assert "tracker.example" not in blocked.split(sanitize._REMOTE_ATTR)[0] and sanitize.BLOCKED_CLASS in blocked
