"""Build the reply mail for a :class:`~inbox.models.Draft`: threading headers, quote, HTML.

Threading follows RFC 5322 §3.6.4: ``In-Reply-To`` names the message answered, ``References``
is that message's references followed by its id. Our ``Message-ID`` is the draft's ``local_id``
so a crash between sending and recording can be resolved by looking in the Sent folder.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from inbox.models import Draft
from inbox.replies.subject import reply_subject

#: Lines up to the RFC 5322 hard limit: no folding inside a long message id.
POLICY = SMTP.clone(max_line_length=998)
_MAX_REFERENCES_CHARS = 900


def _one_line(text: str) -> str:
    """Header text without line breaks (a header value may not contain CR or LF)."""
    return re.sub(r"[\r\n\t]+", " ", text).strip()


def references_chain(references: tuple[str, ...], reply_to_id: str | None) -> list[str]:
    """The parent's references then the parent, deduplicated; the middle is dropped (keeping
    the root) when the header would grow past what servers accept."""
    chain: list[str] = []
    for item in (*references, *([reply_to_id] if reply_to_id else [])):
        item = item.strip().strip("<>")
        if item and item not in chain:
            chain.append(item)
    if reply_to_id and chain and chain[-1] != reply_to_id.strip().strip("<>"):
        parent = reply_to_id.strip().strip("<>")
        chain.remove(parent)
        chain.append(parent)
    while len(chain) > 2 and sum(len(i) + 3 for i in chain) > _MAX_REFERENCES_CHARS:
        del chain[1]
    return chain


def _quote_line(line: str) -> str:
    if not line:
        return ">"
    return ">" + line if line.startswith(">") else "> " + line


def quote(text: str, name: str, when: datetime | None) -> str:
    """``On DATE, NAME wrote:`` followed by the text with ``> `` before each line."""
    name = name or "you"
    intro = f"On {when:%a, %d %b %Y at %H:%M} UTC, {name} wrote:" if when else f"{name} wrote:"
    lines = [_quote_line(line) for line in text.rstrip("\n").splitlines()]
    return "\n".join([intro, *lines])


def _html_paragraphs(text: str) -> str:
    return "<br>\n".join(html.escape(line) for line in text.splitlines())


def _html_body(draft: Draft, quoted: str, intro: str) -> str:
    body = draft.html or f"<div>{_html_paragraphs(draft.text)}</div>"
    if not quoted:
        return body
    return (
        f"{body}\n<div>{html.escape(intro)}</div>\n"
        f'<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px solid #ccc;'
        f'padding-left:1ex">{_html_paragraphs(quoted)}</blockquote>'
    )


def build_reply(
    draft: Draft,
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    quoted_at: datetime | None = None,
) -> EmailMessage:
    """The complete reply (text/plain with a text/html alternative), ready for SMTP."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((_one_line(from_name), from_address))
    if draft.recipient is not None:
        address = draft.recipient.handle if "@" in draft.recipient.handle else draft.recipient.key
        msg["To"] = formataddr((_one_line(draft.recipient.display_name), address))
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    msg["Subject"] = reply_subject(draft.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{draft.local_id.strip().strip('<>')}>"
    chain = references_chain(draft.references, draft.reply_to_id)
    if draft.reply_to_id:
        msg["In-Reply-To"] = f"<{draft.reply_to_id.strip().strip('<>')}>"
    if chain:
        msg["References"] = " ".join(f"<{item}>" for item in chain)

    text = draft.text.rstrip() + "\n"
    name = draft.recipient.display_name or draft.recipient.handle if draft.recipient else ""
    quoted = draft.quoted_text.strip("\n")
    if quoted:
        text += "\n" + quote(quoted, name, quoted_at) + "\n"
    msg.set_content(text, cte="quoted-printable")
    intro = quote("", name, quoted_at)
    msg.add_alternative(_html_body(draft, quoted, intro), subtype="html", cte="quoted-printable")
    return msg


def recipients(draft: Draft) -> list[str]:
    """Envelope recipients: the customer and the Cc addresses."""
    found = []
    if draft.recipient is not None:
        found.append(
            draft.recipient.handle if "@" in draft.recipient.handle else draft.recipient.key
        )
    found.extend(address.strip() for address in draft.cc if address.strip())
    return found
