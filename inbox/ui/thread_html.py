"""The conversation thread as HTML for a QTextBrowser: both directions, channel and surface on
every message, private notes distinct, attachments as files, untrusted text escaped.

Email HTML is never rendered here: the thread shows the text part (or the text made from the
sanitised HTML); remote content stays blocked.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from inbox.models import AttachmentFile, Conversation, Direction, OutboxState, StoredMessage, Surface
from inbox.replies.order import Hold, holds
from inbox.sla.engine import SlaLogEntry, TargetStatus
from inbox.ui.i18n import Translator
from inbox.ui.original_view import blocked_notice
from inbox.ui.text import countdown, html_text, one_line

SURFACE_LABELS = {
    Surface.MENTION: "X · public",
    Surface.DM: "X · DM",
    Surface.MESSENGER: "Messenger",
    Surface.COMMENT: "Facebook · comment",
    Surface.EMAIL: "Email",
    Surface.FORM: "Web form",
    Surface.NOTE: "Note",
}


def _when(value: datetime, tz: ZoneInfo | None) -> str:
    local = value.astimezone(tz) if tz else value.astimezone()
    return local.strftime("%d/%m %H:%M")


STATE_COLOURS = {"breached": "#C62828", "warning": "#E08A00", "ok": "#2E7D32", "paused": "#757575", "met": "#757575"}


def render_sla(
    targets: Sequence[TargetStatus], history: Sequence[SlaLogEntry], tr: Translator, dim: str, tz: ZoneInfo | None
) -> str:
    """Every SLA target with its state, due time and what is left, then the history of transitions."""
    if not targets:
        return ""
    cells = []
    for t in targets:
        colour = STATE_COLOURS.get(t.state.value, dim)
        label = tr(t.target.value.replace("_", " "))
        if t.target.value == "next_reply" and t.round > 1:
            label += f" #{t.round}"
        if t.state.value == "met" and t.met_at is not None:
            detail = f"{tr('met')} {_when(t.met_at, tz)} ({countdown(t.elapsed_s)})"
        elif t.due_at is not None:
            detail = f"{tr(t.state.value)} · {tr('due')} {_when(t.due_at, tz)} · {countdown(t.remaining_s)}"
        else:
            detail = tr(t.state.value)
        # one line per target (state, when): the policy, the same for all, is said once below
        cells.append(
            f"<td style='padding:2px 14px 2px 0'><b style='color:{colour}'>● {html.escape(label)}</b><br>"
            f"<span style='color:{dim}'>{html.escape(detail)}</span></td>"
        )
    steps = [
        f"{_when(e.at, tz)} {html.escape(tr(e.target.value.replace('_', ' ')))} {html.escape(tr(e.kind))}"
        for e in history
        if e.kind in ("warned", "breached", "fulfilled", "paused", "resumed")
    ][-6:]
    policy = f"{tr('SLA policy')}: {html.escape(targets[0].policy)}"
    trail = f"<div style='color:{dim}; font-size:9pt'>{' · '.join([policy, *steps])}</div>"
    return f"<table cellspacing='0' style='margin-bottom:6px'><tr>{''.join(cells)}</tr></table>{trail}"


def _waiting(hold: Hold, tr: Translator) -> str:
    """Why a reply waits, in the interface's language (the CLI says WAITING_FOR in English)."""
    if hold.blocker_state is OutboxState.UNCERTAIN:
        return tr("waiting: an earlier reply may have been sent, decide it first")
    if hold.blocker_state is OutboxState.FAILED:
        return tr("waiting: an earlier reply failed, send it again or drop it")
    if hold.blocker_state is OutboxState.SENDING:
        return tr("waiting: an earlier reply is being sent or checked")
    return tr("waiting: an earlier reply goes first")


def _outbox_state(m: StoredMessage, hold: Hold | None, tr: Translator, dim: str) -> str:
    """A reply's outbox state, why it waits, and for one the agent must decide (failed or "may
    have been sent") the links that decide it: ``inbox:outbox/<action>/<outbox id>``."""
    if m.outbox_state is None or m.outbox_state is OutboxState.SENT:
        return ""
    undecided = m.outbox_state in (OutboxState.FAILED, OutboxState.UNCERTAIN)
    colour = "#C62828" if undecided else dim
    state = f" · <b style='color:{colour}'>{html.escape(tr(m.outbox_state.value))}</b>"
    reason = _waiting(hold, tr) if hold is not None else m.outbox_error
    if reason:
        state += f" <span style='color:{colour}'>({html.escape(one_line(reason, 160))})</span>"
    if undecided:
        target = quote(m.provider_id, safe="")
        links = (
            (f"inbox:outbox/mark-sent/{target}", tr("Mark as sent")),
            (f"inbox:outbox/resend/{target}", tr("Send again")),
            (f"inbox:outbox/drop/{target}", tr("Drop")),
        )
        state += " · " + " · ".join(f"<a href='{href}'>{html.escape(label)}</a>" for href, label in links)
    return state


def render_thread(
    conv: Conversation,
    messages: Sequence[StoredMessage],
    tr: Translator,
    *,
    dark: bool = False,
    tz: ZoneInfo | None = None,
    targets: Sequence[TargetStatus] = (),
    history: Sequence[SlaLogEntry] = (),
    files: Mapping[int, Sequence[AttachmentFile]] | None = None,
) -> str:
    fg = "#E6E6E6" if dark else "#1B1B1B"
    dim = "#9AA0A6" if dark else "#5F6368"
    inbound_bg = "#2A2D31" if dark else "#FFFFFF"
    outbound_bg = "#1D3557" if dark else "#E8F0FE"
    note_bg = "#4A3F14" if dark else "#FFF4C2"
    border = "#3C4043" if dark else "#DADCE0"
    held = holds(
        (m.provider_id, conv.id, m.outbox_state)
        for m in sorted(messages, key=lambda m: (m.sent_at, m.id))
        if m.outbox_state is not None
    )
    parts = [
        f"<div style='color:{fg}; font-size:11pt'>",
        f"<h2 style='margin:0 0 2px 0'>{html.escape(one_line(conv.subject, 200))}</h2>",
        f"<div style='color:{dim}; margin-bottom:8px'>#{conv.id} · {html.escape(conv.customer_name)} · "
        f"{html.escape(tr(conv.status.value))} · {html.escape(tr(conv.priority.value))}"
        + (" · " + " ".join(f"#{html.escape(t)}" for t in conv.tags) if conv.tags else "")
        + "</div>",
        render_sla(targets, history, tr, dim, tz),
    ]
    for m in messages:
        note = m.private or m.surface is Surface.NOTE
        outbound = m.direction is Direction.OUTBOUND
        bg = note_bg if note else outbound_bg if outbound else inbound_bg
        margin = "margin: 6px 0 6px 48px" if outbound else "margin: 6px 48px 6px 0"
        label = tr("Note") if note else SURFACE_LABELS.get(m.surface, m.surface.value)
        who = html.escape(one_line(m.author_name or m.author_handle or m.author_key, 80))
        handle = html.escape(one_line(m.author_handle, 60)) if m.author_handle and m.author_handle != m.author_name else ""
        state = _outbox_state(m, held.get(m.provider_id), tr, dim)
        auto = " · auto" if m.automated else ""
        parts.append(
            f"<table width='100%' cellspacing='0' cellpadding='8' style='{margin}; background:{bg}; "
            f"border:1px solid {border}'><tr><td>"
            f"<div style='color:{dim}; font-size:9pt'><b style='color:{fg}'>{who}</b> {handle} · {label} · "
            f"{_when(m.sent_at, tz)}{auto}{state}</div>"
        )
        if m.subject and m.surface in (Surface.EMAIL, Surface.FORM):
            parts.append(f"<div style='font-weight:600; margin-top:4px'>{html.escape(one_line(m.subject, 200))}</div>")
        parts.append(f"<div style='margin-top:4px'>{html_text(m.text.strip())}</div>")
        if m.html:
            parts.append(blocked_notice(m.id, tr, dim))
        kept = files.get(m.id, []) if files else []
        if kept:
            links = " ".join(
                f"<a href='inbox:attachment/{f.id}'>{html.escape(one_line(f.filename, 80))}</a>"
                f" ({max(1, f.size // 1024)} KB)"
                for f in kept
            )
            parts.append(f"<div style='font-size:9pt; margin-top:4px'>📎 {links} "
                         f"<span style='color:{dim}'>({html.escape(tr('click to save'))})</span></div>")
        elif m.attachments:
            names = ", ".join(
                html.escape(one_line(a.filename or a.content_type, 80))
                + (f" ({a.size // 1024} KB)" if a.size else "")
                for a in m.attachments
            )
            parts.append(f"<div style='color:{dim}; font-size:9pt; margin-top:4px'>📎 {names}</div>")
        parts.append("</td></tr></table>")
    parts.append("</div>")
    return "".join(parts)
