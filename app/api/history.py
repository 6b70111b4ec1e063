"""`GET /leads/{id}/history` (CONTRACT 9 "Audit"): a lead's events with who asked for them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from leadflow.api import responses as out
from leadflow.api.errors import ERROR_RESPONSES
from leadflow.application.history import MAX_LIMIT, lead_history
from leadflow.container import Leadflow
from leadflow.domain.errors import InvalidInput


class HistoryItem(BaseModel):
    version: int = Field(ge=1, description="the lead's version after this event")
    type: str = Field(description="the event type, as in CONTRACT 5")
    occurred_at: out.UtcTime | None = Field(description="business time")
    recorded_at: out.UtcTime | None = Field(default=None, description="when leadflow stored it")
    actor: str | None = Field(
        description="the API key's name; `(loopback)` while the API was open, `cli` from the "
        "command line, null for what engagement caused"
    )
    idempotency_key: str | None
    payload: dict[str, Any]


class HistoryPage(BaseModel):
    lead_id: str
    items: list[HistoryItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: done")


def _page_args(limit: int | None, cursor: str | None) -> tuple[int, int | None]:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1-{MAX_LIMIT}", {"field": "limit", "limit": limit})
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 10):
        raise InvalidInput("cursor is not one this API gave", {"field": "cursor"})
    return limit or MAX_LIMIT, int(cursor) if cursor is not None else None


def history_router(lf: Leadflow) -> APIRouter:
    router = APIRouter(responses={404: ERROR_RESPONSES[404], 422: ERROR_RESPONSES[422]})

    @router.get("/leads/{lead_id}/history", tags=["leads"], **out.documented(HistoryPage))
    def history(
        lead_id: UUID, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """The lead's stored events in version order, each with its actor and idempotency
        key."""
        size, after = _page_args(limit, cursor)
        return lead_history(lf.store, lead_id, after, size)

    return router
