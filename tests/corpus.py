"""Access to the shared real-world corpus (../shared/corpus), never copied into the repo.

When the corpus is absent the tests that need it skip with a visible reason, except under CI
(``CI`` set), where its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = Path(os.environ.get("INBOX_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))


def corpus_dir(*parts: str) -> Path:
    """The corpus folder (or a path inside it); skip, or fail under CI, when it is missing."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        message = f"shared corpus not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    return path


def corpus_files(*parts: str, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Every data file below a corpus folder, licence texts excluded, sorted."""
    root = corpus_dir(*parts)
    files = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.name.upper().startswith(("LICENSE", "COPYING", "AUTHORS", "PSF-LICENSE"))
        and p.name not in {"README.md", ".gitattributes"}
        and (not suffixes or p.suffix.lower() in suffixes)
    ]
    return files
