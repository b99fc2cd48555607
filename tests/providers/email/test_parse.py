"""parse_email on the real-world corpus and on the cases a support desk meets every day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbox.models import Channel, Direction, IdentityKind, Surface
from inbox.providers.email.parse import parse_email
from inbox.providers.email.sources import iter_mail
from tests.corpus import CORPUS, corpus_dir

FALLBACK = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
MAIL_FOLDERS = ("notmuch", "mikel-mail", "flanker", "cpython-test_email", "chatwoot")
LICENCES = ("LICENSE", "COPYING", "AUTHORS", "PSF-LICENSE", "MIT-LICENSE")


def _corpus_mail_files() -> list[Path]:
    """Listed at collection time; empty when the corpus is absent (the test then skips)."""
    files: list[Path] = []
    for folder in MAIL_FOLDERS:
        root = CORPUS / folder
        if root.is_dir():
            files += [
                p
                for p in sorted(root.rglob("*"))
                if p.is_file()
                and not p.name.upper().startswith(LICENCES)
                and p.name != ".gitattributes"
            ]
    if (CORPUS / "imaptest").is_dir():
        files += sorted((CORPUS / "imaptest").rglob("*.mbox"))
    return files


CORPUS_FILES = _corpus_mail_files()


def _mail(*parts: str) -> bytes:
    return corpus_dir(*parts).read_bytes()


def _chatwoot(name: str) -> bytes:
    return _mail("chatwoot", "spec", "fixtures", "files", name)


def _mikel(*parts: str) -> bytes:
    return _mail("mikel-mail", "spec", "fixtures", "emails", *parts)


@pytest.mark.parametrize(
    "path", CORPUS_FILES or [None], ids=lambda p: str(p.relative_to(CORPUS)) if p else "absent"
)
def test_every_corpus_file_parses(path: Path | None) -> None:
    if path is None:
        corpus_dir("chatwoot")  # skips (or fails under CI) with the reason
        return
    messages = list(iter_mail(path)) or [(str(path), path.read_bytes())]
    for source, raw in messages:
        msg = parse_email(raw, source, FALLBACK)
        assert msg.channel is Channel.EMAIL and msg.surface is Surface.EMAIL
        assert msg.direction is Direction.INBOUND
        assert msg.provider_id and msg.provider_id.strip() == msg.provider_id
        assert msg.sent_at.tzinfo is not None and msg.sent_at.utcoffset() == timedelta(0)
        assert msg.author.kind is IdentityKind.EMAIL and msg.author.key == msg.author.key.lower()
        for text in (msg.text, msg.subject or "", msg.html or "", msg.author.display_name):
            text.encode("utf-8")  # no lone surrogates: the store and Qt would choke on them
        assert "\x00" not in msg.text
        assert "<script" not in (msg.html or "").lower()
        assert msg.meta["source"] == source


def test_multiple_in_reply_to_takes_the_first_and_keeps_all_as_references() -> None:
    msg = parse_email(_chatwoot("multiple_in_reply_to.eml"), "m.eml", FALLBACK)
    assert msg.reply_to_id == "4e6e35f5a38b4_479f13bb90078171@small-app-01.mail"
    assert msg.references == (
        "4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",
        "4e6e35f5a38b4_479f13bb90078171@small-app-01.mail",
        "4e6e35f5a38b4_479f13bb90078131@small-app-01.mail",
    )
    assert msg.provider_id == "0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com"
    assert msg.author.key == "sony@chatwoot.com" and msg.author.handle == "Sony@chatwoot.com"
    assert msg.author.display_name == "Sony Mathew"
    assert [r.key for r in msg.recipients] == ["replies@example.com"]


def test_references_keep_their_order_then_in_reply_to() -> None:
    msg = parse_email(_chatwoot("references.eml"), "r.eml", FALLBACK)
    assert msg.references == (
        "4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",
        "test-reference-id",
    )
    assert msg.reply_to_id == "4e6e35f5a38b4_479f13bb90078178@small-app-01.mail"


def test_invalid_reference_dropped_and_repeated_headers_joined() -> None:
    msg = parse_email(_mikel("error_emails", "multiple_references_with_one_invalid.eml"), "x")
    assert msg.references == ("foo@bar.net", "baz@bar.net")


def test_empty_in_reply_to_means_no_parent() -> None:
    msg = parse_email(_mikel("error_emails", "empty_in_reply_to.eml"), "x", FALLBACK)
    assert msg.reply_to_id is None and msg.references == ()
    assert msg.meta["reply_to"] == "ak@g.com"


def test_folded_long_in_reply_to() -> None:
    raw = _mail("cpython-test_email", "cpython-main-extra", "msg_48.txt")
    msg = parse_email(raw, "x", FALLBACK)
    assert msg.reply_to_id == "somelonglonglonglonglongunwrappablemessageidtoreplyto@mail.foo.bar"


def test_missing_date_uses_received_then_the_callers_fallback() -> None:
    assert parse_email(_chatwoot("mail_with_no_date.eml"), "x", FALLBACK).sent_at == FALLBACK
    raw = b"Received: from a by b; Tue, 5 Mar 2024 10:00:00 +0100\r\nFrom: a@b.c\r\n\r\nhi\r\n"
    assert parse_email(raw, "x", FALLBACK).sent_at == datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    invalid = b"Date: Thu, 29 Feb 2024 27:39:33 +0000\r\nFrom: a@b.c\r\n\r\nhi\r\n"
    assert parse_email(invalid, "x", FALLBACK).sent_at == FALLBACK


def test_date_is_converted_to_utc() -> None:
    msg = parse_email(_chatwoot("multiple_in_reply_to.eml"), "x", FALLBACK)
    assert msg.sent_at == datetime(2020, 4, 20, 8, 20, 20, tzinfo=UTC)


def test_missing_message_id_gets_a_stable_content_hash() -> None:
    raw = b"From: a@b.c\r\nSubject: no id\r\n\r\nbody\r\n"
    first = parse_email(raw, "x", FALLBACK)
    assert first.provider_id.startswith("sha256:") and len(first.provider_id) == 7 + 32
    assert parse_email(raw, "y", FALLBACK).provider_id == first.provider_id
    assert parse_email(raw + b"!", "x", FALLBACK).provider_id != first.provider_id


def test_base64_utf8_arabic_body_and_encoded_subject() -> None:
    msg = parse_email(_chatwoot("non_utf_encoded_mail.eml"), "x", FALLBACK)
    assert msg.subject == "أهلين عميلنا الكريم"
    assert msg.text.startswith("أنظروا، أنا أحتاجها")
    assert msg.author.display_name == "متجر سوق نت"


def test_latin1_body_decoded_with_its_charset() -> None:
    raw = (
        b"From: =?iso-8859-1?q?Ren=E9?= <rene@example.fr>\r\nSubject: =?iso-8859-1?q?D=E9j=E0?=\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Tr\xe8s bien, merci \x80 5\r\n"
    )
    msg = parse_email(raw, "x", FALLBACK)
    assert msg.text.strip() == "Très bien, merci € 5"
    assert msg.subject == "Déjà" and msg.author.display_name == "René"


def test_korean_charset_alias_is_decoded() -> None:
    msg = parse_email(_mikel("multi_charset", "ks_c_5601-1987.eml"), "x", FALLBACK)
    assert msg.text.strip() == "스티해"


def test_iso_2022_jp_subject_and_body() -> None:
    msg = parse_email(_mikel("multi_charset", "japanese_iso_2022.eml"), "x", FALLBACK)
    assert msg.subject == "まみむめも"
    assert msg.text.strip() == "すみません。"


def test_unknown_or_lying_charset_never_loses_the_text() -> None:
    raw = b"From: a@b.c\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\ncaf\xc3\xa9\r\n"
    assert parse_email(raw, "x", FALLBACK).text.strip() == "café"
    raw = b"From: a@b.c\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\ncaf\xe9\r\n"
    assert parse_email(raw, "x", FALLBACK).text.strip() == "café"


def test_attachments_without_filename_get_a_name_and_keep_metadata() -> None:
    msg = parse_email(_chatwoot("attachments_without_filename.eml"), "x", FALLBACK)
    assert [a.filename for a in msg.attachments] == ["attachment-1.png", "attachment-2.png"]
    assert [a.content_id for a in msg.attachments] == ["f_lh8nwk8l3", "f_lh8nwk8l2"]
    assert all(a.content_type == "image/png" for a in msg.attachments)
    assert msg.text.startswith("Hi people!")


def test_rfc2231_and_encoded_attachment_names() -> None:
    msg = parse_email(_mikel("attachment_emails", "attachment_nonascii_filename.eml"), "x")
    assert [a.filename for a in msg.attachments] == ["ciële.txt"]
    assert msg.attachments[0].size == 11
    msg = parse_email(
        _mail("flanker", "tests", "fixtures", "messages", "russian-attachment-yahoo.eml")
    )
    assert msg.attachments[0].filename.startswith("Картинка с очень")
    assert msg.attachments[0].content_type == "image/png" and msg.attachments[0].size


def test_attachment_names_cannot_climb_out_of_a_folder() -> None:
    raw = (
        b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="../../x.pdf"'
        b"\r\n\r\nPDF\r\n--XX--\r\n"
    )
    msg = parse_email(raw, "x", FALLBACK)
    assert msg.text.strip() == "see attached"
    assert [a.filename for a in msg.attachments] == ["x.pdf"]


def test_html_only_mail_gets_a_text_rendering_and_sanitised_html() -> None:
    msg = parse_email(_chatwoot("only_html.eml"), "x", FALLBACK)
    assert msg.text == "This is html only mail"
    assert msg.html is not None and "<h1>" in msg.html


def test_alternative_prefers_plain_for_text_and_keeps_html() -> None:
    msg = parse_email(_mikel("error_emails", "multiple_references_with_one_invalid.eml"), "x")
    assert msg.text.strip() == "foo"
    assert msg.html is not None and msg.html.strip() == "<p>foo</p>"


def test_hostile_html_is_sanitised_in_the_message() -> None:
    raw = (
        b"From: a@b.c\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p onclick="steal()">Hello</p><script>alert(1)</script>'
        b'<img src="https://track.example/p.gif" width="1" height="1">'
        b'<a href="javascript:alert(2)">click</a>\r\n'
    )
    msg = parse_email(raw, "x", FALLBACK)
    assert msg.html is not None
    assert "script" not in msg.html and "onclick" not in msg.html
    assert "javascript" not in msg.html and "track.example" not in msg.html
    assert msg.text.startswith("Hello")


def test_subject_control_characters_removed_bidi_kept() -> None:
    raw = "From: a@b.c\r\nSubject: =?utf-8?b?{}?=\r\n\r\nx\r\n"
    import base64

    encoded = base64.b64encode("Pay\x07 now\u202egnp.exe".encode()).decode()
    msg = parse_email(raw.format(encoded).encode(), "x", FALLBACK)
    assert msg.subject == "Pay now\u202egnp.exe"


def test_missing_sender_is_named_not_dropped() -> None:
    msg = parse_email(_chatwoot("bounced_with_no_from.eml"), "x", FALLBACK)
    assert msg.author.key == "unknown@invalid"
    assert msg.automated and msg.meta["auto"] == "bounce"


def test_eight_bit_headers_are_read_as_utf8() -> None:
    msg = parse_email(_mikel("rfc6532", "utf8_headers.eml"), "x", FALLBACK)
    assert msg.subject and "\ufffd" not in msg.subject
    assert msg.author.key


def test_deeply_nested_message_does_not_crash() -> None:
    raw = _mikel("mime_emails", "raw_email_encoded_stack_level_too_deep.eml")
    assert parse_email(raw, "x", FALLBACK).provider_id


def test_recipients_are_to_then_cc_without_repeats() -> None:
    raw = b"From: a@b.c\r\nTo: Xavier <x@y.example>, w@y.example\r\nCc: X@Y.EXAMPLE, v@y.example\r\n\r\nhi"
    msg = parse_email(raw, "x", FALLBACK)
    assert [(r.key, r.display_name) for r in msg.recipients] == [
        ("x@y.example", "Xavier"),
        ("w@y.example", ""),
        ("v@y.example", ""),
    ]


def _subject(encoded: str) -> str | None:
    raw = f"From: a@b.c\r\nSubject: {encoded}\r\n\r\nx\r\n".encode("ascii")
    return parse_email(raw, "x", FALLBACK).subject


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        # whitespace between two encoded words goes, between a word and plain text stays
        ("=?utf-8?q?Caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?= du jour", "Café crème du jour"),
        ("Re: =?utf-8?q?Caf=C3=A9?=\r\n =?utf-8?b?IMOgIGxh?=", "Re: Café à la"),
        ("Vos=?utf-8?q?_r=C3=A9sultats?=", "Vos résultats"),  # no space before the word
        # a character split across two words, in UTF-8 and in a multibyte legacy charset
        ("=?utf-8?q?=C3?= =?utf-8?q?=A9t=C3=A9?=", "été"),
        ("=?gb2312?q?=D6?= =?gb2312?q?=D0=CE=C4?=", "中文"),
        ("=?iso-8859-1?q?5_=80?=", "5 €"),  # latin-1 read as its superset cp1252
        ("=?utf-8*fr?q?caf=C3=A9?=", "café"),  # RFC 2231 language suffix
        ("=?UTF-8?B?w6k?=", "é"),  # missing base64 padding
        ("=?x-unknown?q?caf=C3=A9?=", "café"),  # unknown charset: UTF-8
        ("=?utf-8?q?caf=E9?= ok", "caf\ufffd ok"),  # lying charset: one replacement
        ("=?utf-8?x?abc?= =?utf-8?q?a?b?=", "=?utf-8?x?abc?= =?utf-8?q?a?b?="),  # not words
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
    ],
)
def test_rfc2047_encoded_words(encoded: str, decoded: str) -> None:
    assert _subject(encoded) == decoded


def test_eight_bit_headers_in_latin1_or_cut_utf8() -> None:
    raw = b"From: =?utf-8?q?Ren=C3=A9?= <r@b.c>\r\nSubject: Caf\xe9 cr\xe8me\r\n\r\nx\r\n"
    assert parse_email(raw, "x", FALLBACK).subject == "Café crème"
    cut = "Картинка длинная".encode()[:-1]  # the last character cut in half
    raw = b"From: a@b.c\r\nSubject: " + cut + b"\r\n\r\nx\r\n"
    assert parse_email(raw, "x", FALLBACK).subject == "Картинка длинна\ufffd"


def test_encoded_display_name_with_a_comma_stays_one_address() -> None:
    raw = b"From: =?utf-8?q?Doe=2C_J=C3=BCrgen?= <j@x.example>\r\nTo: a@b.c\r\n\r\nx\r\n"
    msg = parse_email(raw, "x", FALLBACK)
    assert (msg.author.handle, msg.author.display_name) == ("j@x.example", "Doe, Jürgen")


def test_address_comments_names_and_glued_addresses() -> None:
    raw = (
        b"From: bob@example.org (Bob Smith)\r\n"
        b"To: Support (ACME) <help@acme.example>, <Undisclosed-Recipient:@mailman.example;>\r\n"
        b"Cc: vishnu@chatwoot.com www.chatwoot.com\r\n"
        b"Cc: Second <second@cc.example>\r\n\r\nx\r\n"
    )
    msg = parse_email(raw, "x", FALLBACK)
    assert (msg.author.key, msg.author.display_name) == ("bob@example.org", "Bob Smith")
    assert [(r.key, r.display_name) for r in msg.recipients] == [
        ("help@acme.example", "Support"),
        ("undisclosed-recipient", ""),
        ("vishnu@chatwoot.com", ""),
        ("second@cc.example", "Second"),
    ]


def _attachment_names(disposition: str, content_type: str = "application/pdf") -> list[str]:
    raw = (
        "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        "Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        f"Content-Type: {content_type}\r\nContent-Disposition: {disposition}\r\n\r\n%PDF\r\n--XX--\r\n"
    )
    return [a.filename for a in parse_email(raw.encode("ascii"), "x", FALLBACK).attachments]


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        ("attachment; filename*=utf-8''%C3%A9t%C3%A9%20final.pdf", "été final.pdf"),
        ("attachment; filename*0*=utf-8''caf%C3%A9; filename*1=-menu.pdf", "café-menu.pdf"),
        ("attachment; filename*=iso-8859-1'fr'r%E9sum%E9.pdf", "résumé.pdf"),
        ("attachment; filename*=x-unknown''%C3%A9.pdf", "é.pdf"),  # unknown charset: UTF-8
        ('attachment; filename="=?utf-8?b?w6l0w6kucGRm?="', "été.pdf"),
        ("attachment; filename==?utf-8?B?VGhpcyBpcyBhIHRlc3QucGRm?=", "This is a test.pdf"),
        ("attachment; filename=This is a test.pdf", "This is a test.pdf"),  # unquoted spaces
        ('attachment;\r\n\tfilename="a very long\r\n name.pdf"', "a very long name.pdf"),
    ],
)
def test_attachment_filenames(disposition: str, name: str) -> None:
    assert _attachment_names(disposition) == [name]


def test_unquoted_boundary_with_an_equals_sign_is_split() -> None:
    raw = (
        b"From: a@b.c\r\nContent-Type: multipart/alternative; boundary=----=_Part_1.2\r\n\r\n"
        b"------=_Part_1.2\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n"
        b"\xcf\xf0\xe8\xe2\xe5\xf2\r\n------=_Part_1.2\r\nContent-Type: text/html\r\n\r\n"
        b"<p>hello</p>\r\n------=_Part_1.2--\r\n"
    )
    msg = parse_email(raw, "x", FALLBACK)
    assert msg.text.strip() == "Привет"
    assert msg.html is not None and "<p>hello</p>" in msg.html


def test_body_charsets_unknown_lying_or_missing() -> None:
    def body(charset: str, data: bytes) -> str:
        head = f"From: a@b.c\r\nContent-Type: text/plain{charset}\r\n\r\n".encode("ascii")
        return parse_email(head + data, "x", FALLBACK).text.strip()

    assert body("; charset=windows-1252", b"5 \x80") == "5 €"
    assert body('; charset="utf-8"', b"caf\xe9 ok") == "caf\ufffd ok"  # lying: replacement
    assert body("; charset=koi8-r", b"\xf0\xd2\xc9\xd7\xc5\xd4") == "Привет"
    assert body("", b"caf\xc3\xa9") == "café"  # no charset: UTF-8 first
    assert body("", b"caf\xe9") == "café"  # then cp1252


def test_a_nul_in_the_charset_name_keeps_the_structure() -> None:
    raw = b'From: a@b.c\r\nContent-Type: text/plain; charset="utf\x00-8"\r\n\r\ncaf\xc3\xa9\r\n'
    msg = parse_email(raw, "x", FALLBACK)
    assert msg.text.strip() == "café" and "parse_error" not in msg.meta
    assert msg.author.key == "a@b.c"
