"""The queue views of the sidebar (Unassigned, Mine, All open, ...), as filters."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.models import NOT_CLOSED, Channel, QueueFilter, QueueSort, Status
from inbox.triage.rules import NEGATIVE_BELOW

ACTIVE = frozenset({Status.NEW, Status.OPEN})


@dataclass(frozen=True, slots=True)
class QueueView:
    key: str
    label: str  # English; translated when shown
    filter: QueueFilter


def standard_views(agent: str) -> list[QueueView]:
    return [
        QueueView("unassigned", "Unassigned", QueueFilter(statuses=ACTIVE, assignee="")),
        QueueView("mine", "Mine", QueueFilter(statuses=ACTIVE | {Status.PENDING}, assignee=agent)),
        QueueView("open", "All open", QueueFilter(statuses=ACTIVE)),
        QueueView("at_risk", "SLA at risk", QueueFilter(statuses=ACTIVE, sla_states=frozenset({"warning", "breached"}))),
        QueueView("unhappy", "Unhappy customers", QueueFilter(statuses=ACTIVE, sentiment_below=NEGATIVE_BELOW)),
        QueueView("pending", "Pending", QueueFilter(statuses=frozenset({Status.PENDING}))),
        QueueView("solved", "Solved", QueueFilter(statuses=frozenset({Status.SOLVED}), sort=QueueSort.NEWEST)),
    ]


def channel_views() -> list[QueueView]:
    labels = {Channel.TWITTER: "X", Channel.FACEBOOK: "Facebook", Channel.EMAIL: "Email", Channel.WEBFORM: "Web forms"}
    return [QueueView(f"channel:{c.value}", labels[c], QueueFilter(statuses=ACTIVE, channel=c)) for c in Channel]


def tag_view(tag: str) -> QueueView:
    return QueueView(f"tag:{tag}", f"#{tag}", QueueFilter(statuses=NOT_CLOSED, tag=tag))
