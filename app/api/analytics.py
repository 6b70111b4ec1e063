"""Read-model endpoints: funnel, conversion rates, ROI, lists, status and metrics."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from leadflow.api import responses as out
from leadflow.api.errors import ERROR_RESPONSES
from leadflow.application.views import load_lead_view
from leadflow.container import Leadflow
from leadflow.domain.contact import Contact
from leadflow.domain.errors import InvalidInput
from leadflow.domain.identity import normalise_email
from leadflow.domain.lead import STATUSES, Lead
from leadflow.projections import analytics, lists
from leadflow.projections.analytics import Cohort
from leadflow.status import status
from leadflow.topics import Topics

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RATE_KEYS = ("source", "campaign", "owner", "month")
ROI_KEYS = ("source", "campaign")


def parse_time(value: str | None, name: str) -> datetime | None:
    """A date (00:00 UTC) or an RFC 3339 time with an offset."""
    if value is None or value == "":
        return None
    try:
        if _DATE.match(value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date (YYYY-MM-DD) or an RFC 3339 time", {name: value}
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name} must carry a UTC offset", {name: value})
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{name} is outside the representable range of times",
                           {name: value}) from None


def cohort(
    lf: Leadflow,
    from_: str | None,
    to: str | None,
    source: str | None,
    campaign: str | None,
    owner: str | None,
    as_of: str | None,
    stuck_days: int | None = None,
) -> Cohort:
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if start is not None and end is not None and end < start:
        raise InvalidInput("to must not be before from", {"from": from_, "to": to})
    if stuck_days is not None and stuck_days < 0:
        raise InvalidInput("stuck_days must not be negative", {"stuck_days": stuck_days})
    return Cohort(
        as_of=parse_time(as_of, "as_of") or datetime.now(UTC),
        from_=start,
        to=end,
        source=source,
        campaign=campaign,
        owner=owner,
        stuck_days=lf.config.stuck_days if stuck_days is None else stuck_days,
    )


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", {name: value})
    return value


class ReadModels:
    """What the entity routes need from the read models."""

    def __init__(self, lf: Leadflow) -> None:
        self._lf = lf

    def account_extras(self, account_id: UUID) -> dict[str, Any]:
        # create_app creates the read-model tables, so they exist (empty) from the start.
        return lists.account_extras(self._lf.store.side, str(account_id))


def analytics_router(lf: Leadflow, bootstrap: str | None, topics: Topics) -> APIRouter:
    router = APIRouter(responses={422: ERROR_RESPONSES[422]})
    side = lf.store.side

    @router.get("/funnel", tags=["analytics"], **out.documented(out.Funnel))
    def funnel(
        from_: str | None = Query(None, alias="from"),
        to: str | None = None,
        source: str | None = None,
        campaign: str | None = None,
        owner: str | None = None,
        as_of: str | None = None,
        stuck_days: int | None = None,
    ) -> dict[str, Any]:
        return analytics.funnel(
            side, cohort(lf, from_, to, source, campaign, owner, as_of, stuck_days)
        )

    @router.get("/conversion-rates", tags=["analytics"], **out.documented(out.ConversionRates))
    def rates(
        by: str = "source",
        from_: str | None = Query(None, alias="from"),
        to: str | None = None,
        source: str | None = None,
        campaign: str | None = None,
        owner: str | None = None,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        return analytics.conversion_rates(
            side,
            cohort(lf, from_, to, source, campaign, owner, as_of),
            _choice(by, RATE_KEYS, "by"),
        )

    @router.get("/roi", tags=["analytics"], **out.documented(out.Roi))
    def roi(
        by: str = "source",
        from_: str | None = Query(None, alias="from"),
        to: str | None = None,
        source: str | None = None,
        campaign: str | None = None,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        return analytics.roi(
            side, cohort(lf, from_, to, source, campaign, None, as_of), _choice(by, ROI_KEYS, "by")
        )

    @router.get("/leads", tags=["leads"], **out.documented(out.LeadPage))
    def leads(
        email: str | None = None,
        status: str | None = None,
        stage: str | None = None,
        owner: str | None = None,
        source: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        if status is not None:
            _choice(status, STATUSES, "status")
        if stage is not None:
            _choice(stage, analytics.STAGES, "stage")
        page = lists.leads_page(
            side,
            email=normalise_email(email) if email else None,
            status=status,
            stage=stage,
            owner=owner,
            source=source,
            limit=limit,
            cursor=cursor,
        )
        items = [
            load_lead_view(lf.store, lead)
            for lead_id in page.ids
            if (lead := lf.store.find(UUID(lead_id), Lead)) is not None
        ]
        return {"items": items, "next_cursor": page.next_cursor}

    @router.get("/contacts", tags=["contacts"], **out.documented(out.ContactPage))
    def contacts(
        account_id: str | None = None,
        owner: str | None = None,
        country: str | None = None,
        industry: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        from leadflow.application.views import contact_view

        page = lists.contacts_page(
            side,
            account_id=account_id,
            owner=owner,
            country=country,
            industry=industry,
            limit=limit,
            cursor=cursor,
        )
        items = [
            contact_view(c)
            for cid in page.ids
            if (c := lf.store.find(UUID(cid), Contact)) is not None
        ]
        return {"items": items, "next_cursor": page.next_cursor}

    @router.get("/status", tags=["operations"], **out.documented(out.Status))
    def get_status() -> dict[str, Any]:
        return status(lf.store, bootstrap, topics)

    @router.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        s = status(lf.store, bootstrap, topics)
        lines = [
            "# TYPE leadflow_stored_events gauge",
            f"leadflow_stored_events {s['stored_events']}",
            "# TYPE leadflow_relay_lag gauge",
            f"leadflow_relay_lag {s['relay']['lag']}",
            "# TYPE leadflow_projection_lag gauge",
            *[
                f'leadflow_projection_lag{{name="{p["name"]}"}} {p["lag"]}'
                for p in s["projections"]
            ],
            "# TYPE leadflow_consumer_lag gauge",
            *[f'leadflow_consumer_lag{{group="{c["group"]}"}} {c["lag"]}' for c in s["consumers"]],
        ]
        return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return router
