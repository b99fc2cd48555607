"""Channel and surface icons from ``assets/icons`` (SVG, crisp at any DPI)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "icons"


@cache
def icon(name: str) -> QIcon:
    path = ASSETS / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
