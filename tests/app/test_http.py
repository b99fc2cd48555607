"""The desktop's one HTTP client: a command's client is closed when the command ends, also when
it fails, and no client keeps a cookie (see ``tests/app/test_remote_images.py`` for the image
host's cookie dropped)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inbox.app.http import TIMEOUT, client_for, new_client


def test_a_command_s_client_is_closed_when_it_ends_even_on_an_error() -> None:
    seen: list[httpx.AsyncClient] = []

    async def command() -> None:
        async with client_for() as http:
            seen.append(http)
            assert not http.is_closed and http.timeout == TIMEOUT
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        asyncio.run(command())
    assert seen[0].is_closed


def test_the_client_refuses_every_cookie() -> None:
    http = new_client()
    response = httpx.Response(200, headers={"set-cookie": "tracker=abc; Path=/"}, request=httpx.Request("GET", "https://img.example/a.png"))
    http.cookies.extract_cookies(response)
    assert not http.cookies
    asyncio.run(http.aclose())
