"""Spend: what a source or campaign cost over a period, as reported by an ad platform."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from leadflow.domain.base import LeadflowAggregate

_NS = uuid5(NAMESPACE_URL, "urn:leadflow:spend")


class Spend(LeadflowAggregate):
    """One spend record; its id derives from the sender's event_id so a duplicate collides."""

    @staticmethod
    def create_id(event_id: str) -> UUID:
        return uuid5(_NS, event_id)

    @event("SpendRecorded")
    def __init__(
        self,
        event_id: str,
        source: str,
        campaign: str | None,
        amount: Decimal,
        currency: str,
        period_start: date,
        period_end: date,
        replaces: str | None,
    ) -> None:
        self.event_id = event_id
        self.source = source
        self.campaign = campaign
        self.amount = amount
        self.currency = currency
        self.period_start = period_start
        self.period_end = period_end
        self.replaces = replaces


def effective_spend(records: list[Spend]) -> list[Spend]:
    """Records not replaced by any other record: restatements win, whatever arrival order."""
    replaced = {r.replaces for r in records if r.replaces}
    return [r for r in records if r.event_id not in replaced]
