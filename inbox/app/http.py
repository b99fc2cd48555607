"""The desktop's HTTP client: one construction site, one place for timeouts.

A desktop process has one shared ``httpx.AsyncClient``: the shell makes it at start
(:func:`new_client`), hands it to the live sync, team mode, Settings (test connection, sign-in),
profile pictures and remote images, and closes it once at quit (:meth:`Shell.aclose
<inbox.app.shell.Shell.aclose>`). A command (``inbox sync``, ``inbox team join``) uses
:func:`client_for`, which closes it when the command ends.

The client keeps no cookies: nothing the desktop speaks to needs them, and httpx stores every
response's ``Set-Cookie`` in its client's jar (``send`` has no per-request opt-out), so a jar
would carry a remote image host's tracking cookie into later API calls to the same domain. With
a jar that refuses every cookie, remote images share the client safely: their requests are built
by hand (no default headers, no Referer) with their own time limit per request
(:mod:`inbox.app.remote_images`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

#: Every desktop request unless a call gives its own (profile pictures, remote images).
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _no_cookies() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def new_client(timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """The desktop's client (the one place one is made); its maker closes it."""
    return httpx.AsyncClient(timeout=timeout or TIMEOUT, cookies=_no_cookies())


@asynccontextmanager
async def client_for(timeout: httpx.Timeout | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A command's client, closed when the command ends (also on an error)."""
    client = new_client(timeout)
    try:
        yield client
    finally:
        await client.aclose()
