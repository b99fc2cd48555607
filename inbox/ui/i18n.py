"""French and English for the interface, following the system locale and switchable live.

The catalogue is a Qt Linguist file, ``inbox/data/i18n/inbox_fr.ts``: each English text of the
interface (the key, in the context ``Inbox``) with its French. Translators edit it with Qt
Linguist or by hand; ``make translations`` compiles it to ``inbox_fr.qm`` with ``lrelease``, the
file the app loads. ``tests/ui/test_translations.py`` fails when a string the interface passes
to ``tr()`` has no French, or when the ``.qm`` is older than the ``.ts``.
"""

from __future__ import annotations

import locale
import logging
import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTranslator

log = logging.getLogger(__name__)

#: Where inbox_fr.ts and inbox_fr.qm are (package data).
CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "i18n"
CONTEXT = "Inbox"


def system_language() -> str:
    for var in ("INBOX_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "fr" if code.lower().startswith("fr") else "en"


class Translator:
    """``tr("Pending")`` in the current language; ``set_language`` switches at run time.

    The French comes from ``inbox_fr.qm`` through a ``QTranslator``; when a Qt application
    exists, that translator and Qt's own (``qtbase_fr``: standard buttons, context menus) are
    installed on it, so Qt's widgets follow the switch too."""

    _installed: tuple[QTranslator, ...] = ()  # what the last switch installed on the application

    def __init__(self, language: str | None = None) -> None:
        self._ours = QTranslator()
        self._qt = QTranslator()
        self._loaded = False
        self.language = "en"
        self.set_language(language or system_language())

    def set_language(self, language: str) -> None:
        self.language = "fr" if language == "fr" else "en"
        if self.language == "fr" and not self._loaded:
            if not self._ours.load(str(CATALOGUE / "inbox_fr.qm")):
                log.warning("i18n: %s cannot be read; the interface stays in English", CATALOGUE / "inbox_fr.qm")
            self._qt.load("qtbase_fr", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
            self._loaded = True
        app = QCoreApplication.instance()
        if app is None:
            return
        # The application has one language: the last switch wins, whichever Translator made
        # the one before (the app has one; tests make many).
        for translator in Translator._installed:
            try:
                app.removeTranslator(translator)
            except RuntimeError:  # its C++ object is gone, and with it from the application
                pass
        Translator._installed = ()
        if self.language == "fr":
            for translator in (self._ours, self._qt):
                app.installTranslator(translator)
            Translator._installed = (self._ours, self._qt)

    def __call__(self, text: str) -> str:
        if self.language != "fr":
            return text
        return self._ours.translate(CONTEXT, text) or text
