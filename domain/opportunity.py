"""The Opportunity aggregate: a possible deal on an account, won or lost once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from leadflow.domain.base import LeadflowAggregate
from leadflow.domain.errors import InvalidInput, OutcomeAlreadyRecorded

Audit = dict[str, Any]


class Opportunity(LeadflowAggregate):
    @event("OpportunityOpened")
    def __init__(
        self,
        name: str,
        amount: Decimal,
        account_id: UUID,
        contact_id: UUID | None,
        lead_id: UUID | None,
        occurred_at: datetime,
        audit: Audit | None,
    ) -> None:
        self.name = name
        self.amount = amount
        self.account_id = account_id
        self.contact_id = contact_id
        self.lead_id = lead_id
        self.opened_at = occurred_at
        self.outcome: str | None = None
        self.closed_at: datetime | None = None
        self.won_amount: Decimal | None = None

    def win(
        self, amount: Decimal | None, occurred_at: datetime, audit: Audit | None = None
    ) -> None:
        self._check_open()
        final = self.amount if amount is None else amount
        if final < 0:
            raise InvalidInput("amount must not be negative")
        self._won(amount=final, occurred_at=occurred_at, audit=audit)

    def lose(self, reason: str, occurred_at: datetime, audit: Audit | None = None) -> None:
        self._check_open()
        if not reason or not reason.strip():
            raise InvalidInput("a lost opportunity needs a reason", {"field": "reason"})
        if len(reason) > 2000:
            raise InvalidInput("reason must be at most 2000 characters", {"field": "reason"})
        self._lost(reason=reason, occurred_at=occurred_at, audit=audit)

    def _check_open(self) -> None:
        if self.outcome is not None:
            raise OutcomeAlreadyRecorded(
                f"the opportunity is already {self.outcome}",
                {"opportunity_id": str(self.id), "outcome": self.outcome},
            )

    @event("OpportunityWon")
    def _won(self, amount: Decimal, occurred_at: datetime, audit: Audit | None) -> None:
        self.outcome = "won"
        self.won_amount = amount
        self.closed_at = occurred_at

    @event("OpportunityLost")
    def _lost(self, reason: str, occurred_at: datetime, audit: Audit | None) -> None:
        self.outcome = "lost"
        self.closed_at = occurred_at
