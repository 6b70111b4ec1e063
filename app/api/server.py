"""The HTTP API (CONTRACT 6): the FastAPI application over the use cases of a Leadflow."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.responses import JSONResponse

from leadflow.api.analytics import ReadModels, analytics_router
from leadflow.api.auth import AUTH_RESPONSES, KeyAuth, bearer, key_ring
from leadflow.api.body import BodyGuard
from leadflow.api.commands import command_router
from leadflow.api.dashboard import dashboard_router
from leadflow.api.entities import entity_router
from leadflow.api.errors import error_response, install_error_handlers
from leadflow.api.history import history_router
from leadflow.api.ingest import InboundPublisher, PublishFailed, ingest_router
from leadflow.api.people import people_router
from leadflow.container import Leadflow
from leadflow.projections import schema
from leadflow.projections.columns import warm
from leadflow.topics import Topics

log = logging.getLogger(__name__)


def _publish_failed(_: Request, exc: Exception) -> JSONResponse:
    log.warning("inbound publish failed: %s", exc)
    return error_response(
        503,
        "broker_unavailable",
        "the broker did not take the records; retry (event_ids make a retry harmless)",
        headers={"Retry-After": "1"},
    )


def create_app(
    lf: Leadflow,
    publisher: InboundPublisher | None,
    readmodels: Any | None = None,
    *,
    bootstrap: str | None = None,
    topics: Topics | None = None,
    allow_open: bool = True,
) -> FastAPI:
    """`publisher` None records inbound items directly (no broker); `readmodels` answers
    `account_extras(account_id)` for `GET /accounts/{id}` (default: the read models in
    the store's database); `bootstrap` lets /status measure the Kafka lags; `allow_open`
    False: never open, even with no key configured (an API off loopback, CONTRACT 9)."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The read models' first query loads every lead into memory (seconds at a million
        # leads): done at start, beside serving, so that no analyst waits for it.
        threading.Thread(target=warm, args=(lf.store.side,), daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="leadflow",
        version="1.1",
        description="Event-sourced lead management (CONTRACT v1.1, section 6).",
        # Documents the scheme; KeyAuth below enforces it, before any body is read.
        dependencies=[Security(bearer)],
        responses=AUTH_RESPONSES,
    )
    schema.create(lf.store.side)  # read models answer (empty) before the first projection
    install_error_handlers(app)
    app.add_exception_handler(PublishFailed, _publish_failed)
    app.add_middleware(BodyGuard)
    app.add_middleware(KeyAuth, ring=key_ring(lf), allow_open=allow_open)
    app.include_router(ingest_router(lf, publisher))
    app.include_router(command_router(lf))
    app.include_router(entity_router(lf, readmodels or ReadModels(lf)))
    app.include_router(history_router(lf))
    app.include_router(people_router(lf))
    app.include_router(analytics_router(lf, bootstrap, topics or Topics()))
    app.include_router(dashboard_router(lf))
    return app
