"""A person's erasure (CONTRACT 9): the one event that tells subscribers to delete copies.

It carries ids and the time only, never personal data. Its aggregate id is the id of the
person's (destroyed) key, a random id unrelated to the email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from leadflow.domain.base import LeadflowAggregate


class Person(LeadflowAggregate):
    @staticmethod
    def create_id(person_id: UUID) -> UUID:
        # Two concurrent erasures of one person collide here; the loser finds nobody.
        return person_id

    @event("PersonErased")
    def __init__(
        self,
        person_id: UUID,
        lead_ids: list[UUID],
        contact_ids: list[UUID],
        account_ids: list[UUID],
        opportunity_ids: list[UUID],
        erased_at: datetime,
        audit: dict[str, Any] | None,
    ) -> None:
        self.lead_ids = list(lead_ids)
        self.contact_ids = list(contact_ids)
        self.account_ids = list(account_ids)
        self.opportunity_ids = list(opportunity_ids)
        self.erased_at = erased_at
