"""Where the store lives: ``--db``, else ``INBOX_DB``, else the platform's user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_db_path() -> Path:
    env = os.environ.get("INBOX_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("inbox", "inbox")) / "inbox.db"


def demo_db_path() -> Path:
    return Path(platformdirs.user_data_dir("inbox", "inbox")) / "demo.db"


def team_db_path() -> Path:
    """The team replica: ``INBOX_TEAM_DB``, else ``team.db`` in the user data folder."""
    env = os.environ.get("INBOX_TEAM_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("inbox", "inbox")) / "team.db"
