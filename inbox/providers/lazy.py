"""A channel package's names imported when first used (PEP 562).

Each channel package re-exports its parser and its live provider; importing the provider brings
the HTTP, IMAP or SMTP clients with it. A package that declares its names through
``lazy_exports`` lets the window (a post's length for the composer), a parser worker of
``inbox import`` or a command read one module without paying for the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``homes`` maps each exported name to the
    submodule that defines it, imported on the first use of the name and kept in the package."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    return __getattr__
