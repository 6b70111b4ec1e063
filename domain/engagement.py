"""Engagement: what a marketing system tells us a person did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ENGAGEMENT_TYPES = (
    "form_submitted",
    "email_opened",
    "email_clicked",
    "page_viewed",
    "pricing_page_viewed",
    "content_downloaded",
    "webinar_attended",
    "demo_requested",
    "call_logged",
    "unsubscribed",
)
OPT_OUT_TYPE = "unsubscribed"

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "company_size",
    "industry",
    "phone",
    "product_interest",
)


@dataclass(frozen=True)
class Engagement:
    """A validated engagement; `email` is already normalised, `occurred_at` is UTC."""

    event_id: str
    type: str
    occurred_at: datetime
    email: str
    source: str
    campaign: str | None = None
    person: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def order_key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)


def merge_profile(
    profile: dict[str, Any],
    stamps: dict[str, list[str]],
    person: dict[str, Any],
    occurred_at: datetime,
    event_id: str,
) -> None:
    """Per field, the value with the latest (occurred_at, event_id) wins; nulls are ignored.

    `stamps` keeps each field's winning (iso time, event_id) so that the result is the same
    whatever order the events arrive in.
    """
    stamp = [occurred_at.isoformat(), event_id]
    for name, value in person.items():
        if value is None or name not in PROFILE_FIELDS:
            continue
        current = stamps.get(name)
        if current is None or _stamp_key(stamp) >= _stamp_key(current):
            profile[name] = value
            stamps[name] = stamp


def _stamp_key(stamp: list[str]) -> tuple[datetime, str]:
    return (datetime.fromisoformat(stamp[0]), stamp[1])
