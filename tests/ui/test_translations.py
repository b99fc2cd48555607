"""The French catalogue: every string the interface passes to ``tr()`` has its French in the Qt
Linguist file, the compiled ``.qm`` is what ``lrelease`` makes of it, and switching the language
switches Qt's own strings too."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from inbox.ui.i18n import CATALOGUE, CONTEXT, Translator

ROOT = Path(__file__).resolve().parents[2]
TS = CATALOGUE / "inbox_fr.ts"
QM = CATALOGUE / "inbox_fr.qm"
TR_NAMES = {"tr", "_tr", "tr_"}


def catalogue() -> dict[str, str]:
    tree = ET.parse(TS)
    out: dict[str, str] = {}
    for context in tree.getroot().iter("context"):
        assert context.findtext("name") == CONTEXT
        for message in context.iter("message"):
            source, translation = message.find("source"), message.find("translation")
            assert source is not None and translation is not None
            out[source.text or ""] = translation.text or ""
    return out


def literal_tr_strings() -> set[tuple[str, str]]:
    """(file, text) of every string literal passed to tr(...), self._tr(...), window.tr_(...)."""
    found: set[tuple[str, str]] = set()
    for path in [*sorted((ROOT / "inbox" / "ui").glob("*.py")), *sorted((ROOT / "inbox" / "app").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            arg = node.args[0]
            if name in TR_NAMES and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add((path.name, arg.value))
    return found


def test_every_interface_string_has_its_french() -> None:
    french = catalogue()
    strings = literal_tr_strings()
    assert len(strings) > 150  # the scan sees the interface's strings
    missing = sorted(f"{file}: {text!r}" for file, text in strings if not french.get(text))
    assert missing == [], "add these to inbox/data/i18n/inbox_fr.ts, then run `make translations`"


def test_no_translation_is_left_empty_or_unfinished() -> None:
    tree = ET.parse(TS)
    unfinished = [
        m.findtext("source") for m in tree.getroot().iter("message")
        if not (m.findtext("translation") or "").strip() or m.find("translation").get("type") == "unfinished"  # type: ignore[union-attr]
    ]  # fmt: skip
    assert unfinished == []


def test_the_compiled_catalogue_is_up_to_date() -> None:
    """The .qm the app loads says what the .ts says, for every message (compared through
    QTranslator, not byte for byte, so another lrelease version gives the same verdict)."""
    compiled = QTranslator()
    assert compiled.load(str(QM))
    stale = [source for source, french in catalogue().items() if compiled.translate(CONTEXT, source) != french]
    assert stale == [], "run `make translations` and commit inbox_fr.qm"


def test_the_translator_switches_between_french_and_english() -> None:
    tr = Translator("fr")
    assert tr("Pending") == "En attente"
    assert tr("a text nobody translated") == "a text nobody translated"
    tr.set_language("en")
    assert tr("Pending") == "Pending"
    tr.set_language("fr")
    assert tr("Send and solve") == "Envoyer et résoudre"


def test_qt_own_buttons_follow_the_language(qtbot: QtBot) -> None:
    tr = Translator("fr")
    try:
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(box)
        assert box.button(QDialogButtonBox.StandardButton.Cancel).text() == "Annuler"
        tr.set_language("en")
        english = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(english)
        assert english.button(QDialogButtonBox.StandardButton.Cancel).text() == "Cancel"
    finally:
        tr.set_language("en")  # leave the application's translators as other tests expect
