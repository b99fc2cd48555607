"""The Litestar application of ``inbox serve``: routes under /v1, one pool, one LISTEN connection.

:func:`create_app` builds it from :class:`ServerSettings`; :func:`app_from_env` is the factory
uvicorn imports in each worker process (``INBOX_DSN`` and friends), so any number of processes
can serve the same PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from inbox.server import auth, changes, channels, intents, presence, reads
from inbox.server.db import Database, dsn_from_env, migrate, schema_version
from inbox.server.problems import EXCEPTION_HANDLERS

API_VERSION = "1"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    dsn: str
    migrate: bool = True
    session_ttl: timedelta = auth.DEFAULT_TTL
    presence_ttl: float = 30.0
    pool_max: int = 10
    extra_route_handlers: tuple[Any, ...] = field(default=())


def settings_from_env() -> ServerSettings:
    return ServerSettings(
        dsn=dsn_from_env(),
        migrate=os.environ.get("INBOX_MIGRATE", "1") != "0",
        session_ttl=timedelta(seconds=float(os.environ.get("INBOX_SESSION_TTL", auth.DEFAULT_TTL.total_seconds()))),
        presence_ttl=float(os.environ.get("INBOX_PRESENCE_TTL", "30")),
        pool_max=int(os.environ.get("INBOX_POOL_MAX", "10")),
    )


class Health(msgspec.Struct):
    status: str
    schema_version: int
    listening: bool


@get("/v1/health", tags=["server"], summary="Is this process up and its database reachable")
async def health(state: State) -> Health:
    db: Database = state.db
    async with db.connection() as conn:
        version = await schema_version(conn)
    return Health("ok", version, state.feed.connected.is_set())


def create_app(settings: ServerSettings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.migrate:
            await migrate(settings.dsn)
        db = Database(settings.dsn, max_size=settings.pool_max)
        await db.open()
        feed = changes.ChangeFeed(settings.dsn)
        hub = presence.PresenceHub(db, feed, ttl=settings.presence_ttl)
        app.state.db = db
        app.state.feed = feed
        app.state.presence = hub
        app.state.session_ttl = settings.session_ttl
        feed.start()
        hub.start()
        # Polling, sending and the server jobs, under leases (INBOX_CHANNELS=0: this process serves the API only).
        http = channels.new_client()  # the process's one client, closed below after its users
        app.state.http = http
        background = channels.start_background(app.state, http)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)  # gives its leases up
            await http.aclose()
            await hub.stop()
            await feed.stop()
            await db.close()

    return Litestar(
        route_handlers=[
            health,
            auth.sign_in,
            auth.sign_out,
            reads.list_conversations,
            reads.get_conversation,
            reads.dashboard,
            reads.sla_policies,
            changes.get_changes,
            intents.post_intent,
            presence.ws_endpoint,
            *settings.extra_route_handlers,
        ],
        dependencies={"agent": Provide(auth.current_agent)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Inbox team server",
            version=API_VERSION,
            path="/v1/schema",
            render_plugins=[JsonRenderPlugin(path="/openapi.json")],
        ),
        logging_config=None,
    )


def app_from_env() -> Litestar:
    """The uvicorn factory (``inbox.server.app:app_from_env``)."""
    return create_app(settings_from_env())
