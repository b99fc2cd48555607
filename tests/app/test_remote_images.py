"""Fetching a mail's remote images once the agent allows them: only images, within limits,
without cookies or a Referer, failures counted and logged by host only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator

import httpx
import pytest

from inbox.app.http import client_for
from inbox.app.remote_images import (
    USER_AGENT,
    FetchedImages,
    ImageLimits,
    fetch_images,
    remote_image_sources,
)
from inbox.providers.email.sanitize import sanitize_html
from tests.image_server import BIG, ImageServer, image_server, png

LOCAL = ImageLimits(private_hosts=True, max_bytes=BIG // 2, timeout=5.0)


@pytest.fixture()
def server() -> Iterator[ImageServer]:
    with image_server() as running:
        yield running


def fetch(sources: Iterable[str], limits: ImageLimits = LOCAL) -> FetchedImages:
    async def run() -> FetchedImages:
        async with client_for() as http:
            return await fetch_images(http, sources, limits)

    return asyncio.run(run())


def test_only_decodable_images_within_the_size_limit_are_kept(server: ImageServer) -> None:
    names = ["a.png", "big.png", "big-stream.png", "page.html", "picture.svg", "missing.png"]
    result = fetch([f"{server.base}/{name}" for name in names])
    assert result.images == {f"{server.base}/a.png": png()}
    assert result.failed == 5
    assert sorted(server.paths) == sorted(f"/{name}" for name in names)


def test_a_redirect_is_followed_a_few_times_only(server: ImageServer) -> None:
    result = fetch([f"{server.base}/redirect.png", f"{server.base}/loop.png"])
    assert result.images == {f"{server.base}/redirect.png": png()}  # kept under the mail's address
    assert result.failed == 1
    assert server.paths.count("/loop.png") == LOCAL.max_redirects + 1


def test_requests_carry_no_cookie_no_referer_and_a_plain_user_agent(server: ImageServer) -> None:
    sources = [f"{server.base}/cookie.png", f"{server.base}/a.png"]

    async def run() -> None:
        async with client_for() as http:  # the desktop's one client, shared with the providers
            await fetch_images(http, sources[:1], LOCAL)
            await fetch_images(http, sources[1:], LOCAL)  # after the server set a cookie
            assert not http.cookies  # the image host's cookie was dropped, not kept in the jar
            await http.get(f"{server.base}/a.png")  # an ordinary request of the shared client

    asyncio.run(run())
    for _path, headers in server.requests:
        assert "cookie" not in headers and "referer" not in headers
    assert [headers["user-agent"] for _path, headers in server.requests[:2]] == [USER_AGENT] * 2
    assert len(server.requests) == 3


def test_client_cookies_are_never_sent_even_by_a_shared_client(server: ImageServer) -> None:
    async def run() -> FetchedImages:
        async with httpx.AsyncClient(cookies={"session": "secret"}) as http:
            return await fetch_images(http, [f"{server.base}/a.png"], LOCAL)

    assert len(asyncio.run(run()).images) == 1
    [(_path, headers)] = server.requests
    assert "cookie" not in headers and "python-httpx" not in headers["user-agent"]


def test_a_slow_image_is_abandoned_and_counted(server: ImageServer) -> None:
    result = fetch([f"{server.base}/slow.png", f"{server.base}/a.png"], ImageLimits(private_hosts=True, timeout=0.3))
    assert list(result.images) == [f"{server.base}/a.png"]
    assert result.failed == 1


def test_at_most_the_cap_is_fetched_and_a_few_at_a_time(server: ImageServer) -> None:
    sources = [f"{server.base}/slow-{i}/a.png" for i in range(8)]
    limits = ImageLimits(private_hosts=True, max_images=6, concurrency=2)
    result = fetch(sources + sources[:2], limits)  # a repeated address counts once
    assert len(result.images) == 6 and result.failed == 2
    assert len(server.requests) == 6
    assert server.most_in_flight <= 2


def test_private_and_non_http_addresses_are_never_requested(server: ImageServer) -> None:
    result = fetch(
        [f"{server.base}/a.png", "http://localhost/a.png", "http://[::1]/a.png", "file:///etc/passwd"],
        ImageLimits(),
    )
    assert result.images == {} and result.failed == 3  # file: is not an image address at all
    assert server.requests == []


def test_logs_name_the_host_never_the_address(server: ImageServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="inbox.app.remote_images")
    fetch([f"{server.base}/missing.png?token=SECRET-TOKEN", f"{server.base}/page.html?u=SECRET-USER"])
    assert "127.0.0.1" in caplog.text
    assert "SECRET" not in caplog.text and "missing.png" not in caplog.text


def test_sources_are_the_markers_of_the_blocked_html() -> None:
    stored = (
        "<p>Hi <img src='https://cdn.example/logo.png?u=1&amp;t=2' alt='logo' width='600' height='80'>"
        "<img src='//cdn.example/banner.jpg'><img src='https://cdn.example/logo.png?u=1&amp;t=2'>"
        "<img src='https://t.example/p.gif' width='1' height='1'>"
        "<img src='data:image/png;base64,iVBORw0KGgo='></p>"
    )
    blocked = sanitize_html(stored)
    assert blocked.count("data-inbox-remote-src") == 3  # the pixel is gone, data: stays inline
    shown = sanitize_html(blocked, allow_remote=True)
    assert 'alt="logo" width="600" height="80"' in shown  # laid out at the size the sender gave
    sources = remote_image_sources(shown)
    assert sources == ["https://cdn.example/logo.png?u=1&t=2", "//cdn.example/banner.jpg"]
