"""Where the store lives: ``--db``, else ``INBOX_DB``, else the platform's user data folder."""

from __future__ import annotations

import os
from pathlib import Path


def default_db_path() -> Path:
    env = os.environ.get("INBOX_DB")
    if env:
        return Path(env)
    return _data_dir() / "inbox.db"


def demo_db_path() -> Path:
    return _data_dir() / "demo.db"


def _data_dir() -> Path:
    import platformdirs  # only without --db or INBOX_DB: it costs ~6 ms of every command's start

    return Path(platformdirs.user_data_dir("inbox", "inbox"))


def team_db_path() -> Path:
    """The team replica: ``INBOX_TEAM_DB``, else ``team.db`` in the user data folder."""
    env = os.environ.get("INBOX_TEAM_DB")
    if env:
        return Path(env)
    return _data_dir() / "team.db"
