"""The README's set-up is the one CI uses: the same Debian packages, the same locked install."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _apt_packages(text: str) -> set[str]:
    match = re.search(r"apt-get install (.*?)(?:>|```)", text, re.DOTALL)
    assert match, "no apt-get install line"
    words = match.group(1).replace("\\\n", " ").split()
    return {word for word in words if not word.startswith("-")}


def test_readme_lists_the_packages_ci_installs() -> None:
    readme = _apt_packages((ROOT / "README.md").read_text())
    ci = _apt_packages((ROOT / ".ci" / "run").read_text())
    assert readme == ci, f"only in README: {sorted(readme - ci)}; only in .ci/run: {sorted(ci - readme)}"
    # what Qt's xcb platform plugin needs to open a window on a real X display
    assert {"libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-xkb1", "libxkbcommon-x11-0"} <= ci


def test_every_install_comes_from_the_lock_file() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line and "uv==" not in line]
    assert installs, "the Makefile installs nothing"
    for line in installs:
        assert "-r requirements.lock" in line or "--no-deps" in line, f"an install outside the lock: {line}"
    lock = (ROOT / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.MULTILINE)
    assert {"pyside6", "qasync", "httpx", "setuptools"} <= {pin.lower() for pin in pins}
    assert lock.count("--hash=sha256:") >= len(pins), "a locked package without its hash"
    assert "pyside6==6.12.0 ; python_full_version < '3.12'" not in lock.lower()
