"""Replies thread correctly in every mail client and cannot be used to inject headers."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from inbox.models import Author, Channel, Draft, IdentityKind, Surface
from inbox.providers.email.compose import (
    build_reply,
    quote,
    recipients,
    references_chain,
)
from inbox.providers.email.parse import parse_email
from inbox.replies.subject import reply_subject

NOW = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def _draft(**changes: object) -> Draft:
    values: dict[str, object] = {
        "local_id": "inbox.1234@example.test",
        "account_id": "email:agent@example.test",
        "conversation_id": 1,
        "channel": Channel.EMAIL,
        "surface": Surface.EMAIL,
        "text": "Thanks, fixed.",
        "recipient": Author(IdentityKind.EMAIL, "ann@example.com", "Ann@example.com", "Ann"),
        "reply_to_id": "parent@example.com",
        "references": ("root@example.com",),
        "subject": "Broken",
    }
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def _build(draft: Draft, quoted_at: datetime | None = None) -> email.message.EmailMessage:
    msg = build_reply(
        draft, from_address="agent@example.test", from_name="Support", now=NOW, quoted_at=quoted_at
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_the_subject_is_the_core_rule_in_every_language() -> None:
    assert _build(_draft(subject="Odp: Zepsute"))["Subject"] == "Odp: Zepsute"
    assert _build(_draft(subject=None))["Subject"] == reply_subject(None)  # the one rule, also when empty


def test_references_end_with_the_parent_without_duplicates() -> None:
    assert references_chain(("a@x", "b@x", "a@x"), "c@x") == ["a@x", "b@x", "c@x"]
    assert references_chain(("a@x", "c@x", "b@x"), "c@x") == ["a@x", "b@x", "c@x"]
    assert references_chain((), "<c@x>") == ["c@x"]
    assert references_chain(("a@x",), None) == ["a@x"]


def test_very_long_reference_chains_keep_root_and_parent() -> None:
    chain = tuple(f"message-{n:04d}-{'x' * 40}@example.com" for n in range(100))
    kept = references_chain(chain, "parent@example.com")
    assert kept[0] == chain[0] and kept[-1] == "parent@example.com"
    assert sum(len(i) + 3 for i in kept) <= 900 and len(kept) > 5


def test_threading_headers_and_identity() -> None:
    msg = _build(_draft())
    assert msg["Message-ID"] == "<inbox.1234@example.test>"
    assert msg["In-Reply-To"] == "<parent@example.com>"
    assert msg["References"] == "<root@example.com> <parent@example.com>"
    assert msg["Subject"] == "Re: Broken"
    assert msg["To"] == "Ann <Ann@example.com>"
    assert msg["Date"] == "Tue, 05 Mar 2024 10:00:00 +0000"


def test_a_new_message_without_parent_has_no_threading_headers() -> None:
    msg = _build(_draft(reply_to_id=None, references=()))
    assert msg["In-Reply-To"] is None and msg["References"] is None


def test_long_message_ids_are_never_folded_or_encoded() -> None:
    long_id = "CAJ" + "x" * 120 + "@mail.gmail.com"
    raw = build_reply(
        _draft(reply_to_id=long_id, references=()),
        from_address="agent@example.test",
        from_name="Support",
        now=NOW,
    ).as_bytes()
    assert f"In-Reply-To: <{long_id}>\r\n".encode() in raw
    assert b"=?" not in raw.split(b"\r\n\r\n")[0].replace(b"Subject", b"")


def test_header_injection_through_subject_or_name_is_impossible() -> None:
    evil = Author(IdentityKind.EMAIL, "ann@example.com", "ann@example.com", "Ann\r\nBcc: x@evil")
    msg = _build(_draft(subject="Hi\r\nBcc: spy@evil.example", recipient=evil))
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Re: Hi Bcc: spy@evil.example"
    assert recipients(_draft(recipient=evil)) == ["ann@example.com"]


def test_unicode_subject_and_names_round_trip() -> None:
    draft = _draft(
        subject="Commande n°42 — problème",
        recipient=Author(IdentityKind.EMAIL, "zoe@example.fr", "zoe@example.fr", "Zoë Müller"),
    )
    msg = _build(draft)
    assert msg["Subject"] == "Re: Commande n°42 — problème"
    assert msg["To"].addresses[0].display_name == "Zoë Müller"


def test_quote_with_date_and_nested_lines() -> None:
    text = quote("Hello\n\n> earlier\nbye", "Ann", NOW)
    assert text == "On Tue, 05 Mar 2024 at 10:00 UTC, Ann wrote:\n> Hello\n>\n>> earlier\n> bye"


def test_text_and_html_alternatives_quote_the_customer() -> None:
    msg = _build(_draft(text="Use <b>reset</b> & retry", quoted_text="It <broke>"), NOW)
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content().replace("\r\n", "\n")
    assert text.startswith(
        "Use <b>reset</b> & retry\n\nOn Tue, 05 Mar 2024 at 10:00 UTC, Ann wrote:"
    )
    assert "> It <broke>" in text
    body = html.get_content()
    assert "Use &lt;b&gt;reset&lt;/b&gt; &amp; retry" in body
    assert "It &lt;broke&gt;" in body and "<blockquote" in body


def test_our_reply_parses_back_into_the_same_thread() -> None:
    raw = build_reply(_draft(), from_address="agent@example.test", from_name="Support", now=NOW)
    parsed = parse_email(raw.as_bytes(), "sent")
    assert parsed.provider_id == "inbox.1234@example.test"
    assert parsed.reply_to_id == "parent@example.com"
    assert parsed.references == ("root@example.com", "parent@example.com")
    assert parsed.author.key == "agent@example.test" and parsed.sent_at == NOW
    assert parsed.text.startswith("Thanks, fixed.")
