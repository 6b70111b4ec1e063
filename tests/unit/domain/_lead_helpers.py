"""Shared helpers of the Lead aggregate tests (CONTRACT 3.1-3.3): the contract's points
table, engagement records, and a lead captured, fed, replayed or converted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from leadflow.config import load_config
from leadflow.domain.engagement import Engagement
from leadflow.domain.lead import Lead
from leadflow.domain.scoring import ScoringPolicy

POLICY = load_config().scoring_policy()
T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
EMAIL = "ada@example.com"

CONTRACT_POINTS = {
    "form_submitted": 10,
    "email_opened": 1,
    "email_clicked": 3,
    "page_viewed": 1,
    "pricing_page_viewed": 5,
    "content_downloaded": 5,
    "webinar_attended": 15,
    "demo_requested": 30,
    "call_logged": 5,
    "unsubscribed": 0,
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def eng(
    event_id: str,
    type_: str = "page_viewed",
    minutes: float = 0,
    source: str = "web",
    campaign: str | None = None,
    person: dict[str, Any] | None = None,
) -> Engagement:
    return Engagement(
        event_id=event_id,
        type=type_,
        occurred_at=at(minutes),
        email=EMAIL,
        source=source,
        campaign=campaign,
        person=person or {},
    )


def capture(first: Engagement, policy: ScoringPolicy = POLICY) -> Lead:
    """As the application does: the lead is captured from its first engagement."""
    lead = Lead(
        email=first.email,
        event_id=first.event_id,
        occurred_at=first.occurred_at,
        source=first.source,
        campaign=first.campaign,
    )
    assert lead.record_engagement(first, policy) is True
    return lead


def lead_with(*engagements: Engagement, policy: ScoringPolicy = POLICY) -> Lead:
    lead = capture(engagements[0], policy)
    for e in engagements[1:]:
        lead.record_engagement(e, policy)
    return lead


def pending_names(lead: Lead) -> list[str]:
    return [type(e).__name__ for e in lead.collect_events()]


def replayed(events: list[Any]) -> Lead:
    agg: Any = None
    for e in events:
        agg = e.mutate(agg)
    assert isinstance(agg, Lead)
    return agg


def _converted_lead() -> Lead:
    lead = capture(eng("e1"))
    lead.convert(
        contact_id=uuid4(),
        contact_created=True,
        account_id=uuid4(),
        account_created=True,
        opportunity_id=None,
        opportunity_amount=None,
        occurred_at=at(60),
    )
    return lead
