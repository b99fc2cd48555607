"""What a tired agent reads at a glance: disabled buttons look disabled in the dark theme, the
sort choices say what they do (in French too), each SLA target reads once (its state, its time)
and the policy is named once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inbox.app.solo import SoloCommands
from inbox.app.theme import apply_theme
from inbox.models import Channel, ConversationEvent, EventKind, Priority
from inbox.sla import engine as sla
from inbox.sla.policy import default_policies
from inbox.store.repository import Store
from inbox.ui.i18n import Translator
from inbox.ui.main_window import MainWindow
from inbox.ui.thread_html import render_sla
from inbox.ui.window_services import WindowServices

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture()
def dark(qapp: QApplication) -> Iterator[QPalette]:
    style, palette = qapp.style().name(), qapp.palette()
    apply_theme(qapp, dark=True)
    try:
        yield qapp.palette()
    finally:
        qapp.setPalette(palette)
        qapp.setStyle(style)


def test_disabled_controls_look_disabled_in_the_dark_theme(dark: QPalette) -> None:
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        enabled = dark.color(QPalette.ColorGroup.Active, role)
        disabled = dark.color(QPalette.ColorGroup.Disabled, role)
        assert abs(enabled.lightness() - disabled.lightness()) > 80, role


def test_sort_choices_are_words_in_the_agent_language(qtbot: QtBot, solo_commands: Callable[..., SoloCommands]) -> None:
    store = Store.open(":memory:")
    try:
        window = MainWindow(store, solo_commands(store), Translator("fr"), WindowServices(agent="camille", clock=lambda: NOW))
        qtbot.addWidget(window)
        labels = [window.sort.itemText(i) for i in range(window.sort.count())]
        assert labels == ["Plus urgentes", "Plus récentes", "Plus anciennes", "Priorité"]
        window.close()
    finally:
        store.close()


def test_each_sla_target_reads_once_and_the_policy_is_named_once() -> None:
    rules = default_policies(lambda _country, _years: set())
    subject = sla.SlaSubject(1, Channel.TWITTER.value, Priority.NORMAL.value, frozenset(), False)
    events = [
        ConversationEvent(1, EventKind.MESSAGE_IN, NOW - timedelta(hours=3)),
        ConversationEvent(1, EventKind.REPLY, NOW - timedelta(hours=2, minutes=50)),
        ConversationEvent(1, EventKind.MESSAGE_IN, NOW - timedelta(minutes=90)),
    ]
    targets, history = sla.assess(subject, events, rules, NOW)
    assert {t.state.value for t in targets} >= {"met", "breached"}
    html = render_sla(targets, history, Translator("en"), "#5F6368", None)
    assert html.count("social") == 1 and "SLA policy: social" in html
    assert "met · met" not in html and "breached · breached" not in html
    assert html.count("● ") == len(targets)
