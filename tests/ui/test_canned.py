"""The canned-response picker from the keyboard, and the manager, over an in-memory library."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from inbox.errors import InputError
from inbox.replies.canned import CannedResponse, context_for, validated
from inbox.ui.canned import CannedListModel, CannedPicker
from inbox.ui.canned_manager import CannedManager
from inbox.ui.i18n import Translator

CONTEXT = context_for(customer_name="Léa Martin", agent_name="Camille", conversation_number=42)


class Library:
    """An in-memory CannedEditor."""

    def __init__(self, rows: Sequence[CannedResponse]) -> None:
        self.rows = list(rows)

    def responses(self) -> list[CannedResponse]:
        return list(self.rows)

    def add(self, title: str, body: str, lang: str, tags: Iterable[str]) -> CannedResponse:
        item = validated(title, body, lang, tags, max((r.id for r in self.rows), default=0) + 1)
        self.rows.append(item)
        return item

    def update(self, response: CannedResponse) -> CannedResponse:
        if not any(r.id == response.id for r in self.rows):
            raise InputError(f"canned response {response.id}", "no such response")
        self.rows = [response if r.id == response.id else r for r in self.rows]
        return response

    def delete(self, response_id: int) -> None:
        self.rows = [r for r in self.rows if r.id != response_id]


def rows() -> list[CannedResponse]:
    return [
        CannedResponse(
            1,
            "Remboursement effectué",
            "Bonjour {first_name}, remboursement de {order} fait.\n{agent_name}",
            "fr",
            ("remboursement",),
        ),
        CannedResponse(
            2,
            "Retard de livraison",
            "Bonjour {first_name}, votre colis est en retard.",
            "fr",
            ("livraison",),
        ),
        CannedResponse(3, "Refund issued", "Hello {first_name}, refund done.", "en", ("refund",)),
        CannedResponse(4, "Rendez-vous", "Bonjour {first_name}, à demain.", "fr", ()),
    ]


@pytest.fixture()
def picker(qtbot: QtBot) -> Iterator[CannedPicker]:
    p = CannedPicker(Library(rows()), Translator("en"), lambda: CONTEXT)
    qtbot.addWidget(p)
    yield p
    p.close()


def titles(model: CannedListModel) -> list[str]:
    return [r.title for r in (model.response(i) for i in range(model.rowCount())) if r is not None]


def test_model_passes_the_qt_model_tester(qtmodeltester: object) -> None:
    model = CannedListModel()
    model.set_responses(rows())
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    model.set_responses([])
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_type_to_filter_then_enter_inserts_the_expanded_text(
    qtbot: QtBot, picker: CannedPicker
) -> None:
    picker.open_for("fr")
    assert picker.query.hasFocus() or picker.focusWidget() is picker.query
    assert titles(picker.model) == ["Remboursement effectué", "Rendez-vous", "Retard de livraison"]
    qtbot.keyClicks(picker.query, "re")
    assert len(titles(picker.model)) == 3  # every French one has a word starting with "re"
    qtbot.keyClicks(picker.query, "mbou")  # no accent, mid-word typing
    assert titles(picker.model) == ["Remboursement effectué"]
    assert "{order}" in picker.missing.text()
    with qtbot.waitSignal(picker.chosen) as signal:
        qtbot.keyClick(picker.query, Qt.Key.Key_Return)
    assert signal.args == ["Bonjour Léa, remboursement de {order} fait.\nCamille"]
    assert not picker.isVisible()


def test_up_down_choose_and_the_preview_follows(qtbot: QtBot, picker: CannedPicker) -> None:
    picker.open_for("fr")
    qtbot.keyClick(picker.query, Qt.Key.Key_Down)
    qtbot.keyClick(picker.query, Qt.Key.Key_Down)
    qtbot.keyClick(picker.query, Qt.Key.Key_Down)  # stays on the last one
    assert picker.preview.toPlainText() == "Bonjour Léa, votre colis est en retard."
    qtbot.keyClick(picker.query, Qt.Key.Key_Up)
    with qtbot.waitSignal(picker.chosen) as signal:
        qtbot.keyClick(picker.query, Qt.Key.Key_Enter)
    assert signal.args == ["Bonjour Léa, à demain."]


def test_escape_closes_without_inserting(qtbot: QtBot, picker: CannedPicker) -> None:
    picker.open_for("en")
    assert titles(picker.model) == ["Refund issued"]
    with qtbot.assertNotEmitted(picker.chosen):
        qtbot.keyClick(picker.query, Qt.Key.Key_Escape)
    assert not picker.isVisible()


def test_nothing_matches_and_enter_does_nothing(qtbot: QtBot, picker: CannedPicker) -> None:
    picker.open_for(None)
    qtbot.keyClicks(picker.query, "zzz")
    assert picker.model.rowCount() == 0
    assert picker.preview.toPlainText() == "No canned response matches"
    with qtbot.assertNotEmitted(picker.chosen):
        qtbot.keyClick(picker.query, Qt.Key.Key_Return)
    assert picker.isVisible()


def test_reopening_shows_responses_added_meanwhile(qtbot: QtBot) -> None:
    library = Library(rows())
    p = CannedPicker(library, Translator("fr"), lambda: CONTEXT)
    qtbot.addWidget(p)
    p.open_for("en")
    library.add("Welcome", "Hi {first_name}", "en", ())
    p.hide()
    p.open_for("en")
    assert titles(p.model) == ["Refund issued", "Welcome"]
    p.close()


@pytest.fixture()
def manager(qtbot: QtBot) -> Iterator[tuple[CannedManager, Library]]:
    library = Library(rows())
    m = CannedManager(library, Translator("en"))
    qtbot.addWidget(m)
    m.show()
    yield m, library
    m.close()


def test_manager_adds_a_response(qtbot: QtBot, manager: tuple[CannedManager, Library]) -> None:
    m, library = manager
    qtbot.mouseClick(m.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(m.title, "Welcome back")
    m.lang.setCurrentIndex(m.lang.findData("en"))
    qtbot.keyClicks(m.tags, "Welcome, VIP")
    m.body.setPlainText("Hello {first_name}, welcome back!")
    qtbot.mouseClick(m.save_button, Qt.MouseButton.LeftButton)
    added = library.rows[-1]
    assert (added.title, added.lang, added.tags) == ("Welcome back", "en", ("welcome", "vip"))
    assert "Welcome back" in titles(m.model)


def test_manager_refuses_an_empty_title_and_keeps_the_edit(
    qtbot: QtBot, manager: tuple[CannedManager, Library]
) -> None:
    m, library = manager
    m.title.clear()
    m.title.textEdited.emit("")
    m.list.setCurrentIndex(m.model.index(2, 0))  # try to move on with a broken edit
    assert m.message.text() == "title: a response needs a title"
    assert m.title.text() == "" and m.list.currentIndex().row() == 0
    assert library.rows == rows()


def test_manager_saves_edits_when_moving_on_and_warns_on_typos(
    qtbot: QtBot, manager: tuple[CannedManager, Library]
) -> None:
    m, library = manager
    first = m.model.response(0)
    assert first is not None and m.title.text() == first.title
    m.body.setPlainText("Hi {frist_name}")
    assert "{frist_name}" in m.message.text()
    m.list.setCurrentIndex(m.model.index(1, 0))
    assert [r for r in library.rows if r.id == first.id] == [replace(first, body="Hi {frist_name}")]


def test_manager_deletes_after_a_second_click(
    qtbot: QtBot, manager: tuple[CannedManager, Library]
) -> None:
    m, library = manager
    doomed = m.model.response(0)
    assert doomed is not None
    qtbot.mouseClick(m.delete_button, Qt.MouseButton.LeftButton)
    assert len(library.rows) == 4 and m.delete_button.text() == "Click again to delete"
    qtbot.mouseClick(m.delete_button, Qt.MouseButton.LeftButton)
    assert doomed.id not in [r.id for r in library.rows]
    assert doomed.title not in titles(m.model) and m.title.text() == titles(m.model)[0]
