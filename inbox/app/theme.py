"""The app's look: the system's light or dark preference and the palette for it."""

from __future__ import annotations

import os


def apply_theme(app: object, dark: bool) -> None:
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    if not dark:
        return
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    p.setColor(QPalette.ColorRole.WindowText, QColor("#E8EAED"))
    p.setColor(QPalette.ColorRole.Base, QColor("#17181A"))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#24262A"))
    p.setColor(QPalette.ColorRole.Text, QColor("#E8EAED"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#9AA0A6"))
    p.setColor(QPalette.ColorRole.Button, QColor("#2D2F33"))
    p.setColor(QPalette.ColorRole.ButtonText, QColor("#E8EAED"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#1F6FEB"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#FFFFFF"))
    p.setColor(QPalette.ColorRole.Mid, QColor("#3C4043"))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#2D2F33"))
    p.setColor(QPalette.ColorRole.ToolTipText, QColor("#E8EAED"))
    # Disabled controls must look disabled (a Send button with nothing to send, the views'
    # section headers): dimmed text, as the light palette does by itself.
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6F747A"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor("#26282B"))
    app.setPalette(p)


def system_prefers_dark(app: object) -> bool:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    theme = os.environ.get("INBOX_THEME", "")
    if theme in ("dark", "light"):
        return theme == "dark"
    assert isinstance(app, QApplication)
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark
