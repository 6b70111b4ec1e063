"""The Contact aggregate: a person under an account."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from leadflow.domain.base import LeadflowAggregate
from leadflow.domain.engagement import OPT_OUT_TYPE, Engagement, merge_profile
from leadflow.domain.errors import InvalidInput

Audit = dict[str, Any]


class Contact(LeadflowAggregate):
    @event("ContactCreated")
    def __init__(
        self,
        email: str,
        profile: dict[str, Any],
        account_id: UUID,
        owner: str | None,
        lead_id: UUID | None,
        occurred_at: datetime,
        audit: Audit | None,
        profile_stamps: dict[str, list[str]] | None = None,
    ) -> None:
        self.emails = [email]
        self.profile = dict(profile)
        # When each profile value was true, so that later activity wins only if it is later.
        self.profile_stamps: dict[str, list[str]] = dict(
            profile_stamps
            if profile_stamps is not None
            else {k: [occurred_at.isoformat(), ""] for k in profile}
        )
        self.account_id = account_id
        self.owner = owner
        self.lead_ids: list[UUID] = [lead_id] if lead_id else []
        self.created_at = occurred_at
        self.activities: list[dict[str, Any]] = []
        self.seen_event_ids: set[str] = set()
        self.relationships: list[dict[str, Any]] = []
        self.email_opt_out = False

    def record_activity(self, engagement: Engagement) -> bool:
        if engagement.event_id in self.seen_event_ids:
            return False
        self._activity_recorded(
            event_id=engagement.event_id,
            type=engagement.type,
            occurred_at=engagement.occurred_at,
            source=engagement.source,
            campaign=engagement.campaign,
            person=dict(engagement.person),
            properties=dict(engagement.properties),
        )
        return True

    def add_email(self, email: str, lead_id: UUID | None, occurred_at: datetime) -> None:
        if email not in self.emails:
            self._email_added(email=email, lead_id=lead_id, occurred_at=occurred_at)

    def change_owner(
        self, owner: str | None, occurred_at: datetime, audit: Audit | None = None
    ) -> bool:
        if owner == self.owner:
            return False
        self._owner_changed(owner=owner, previous=self.owner, occurred_at=occurred_at, audit=audit)
        return True

    def relate(
        self, to_contact_id: UUID, kind: str, occurred_at: datetime, audit: Audit | None = None
    ) -> bool:
        if to_contact_id == self.id:
            raise InvalidInput("a contact cannot be related to itself")
        if not kind or len(kind) > 100:
            raise InvalidInput("kind must be 1-100 characters")
        if any(
            r["to_contact_id"] == to_contact_id and r["kind"] == kind for r in self.relationships
        ):
            return False
        self._related(to_contact_id=to_contact_id, kind=kind, occurred_at=occurred_at, audit=audit)
        return True

    @event("ContactActivityRecorded")
    def _activity_recorded(
        self,
        event_id: str,
        type: str,
        occurred_at: datetime,
        source: str,
        campaign: str | None,
        person: dict[str, Any],
        properties: dict[str, Any],
    ) -> None:
        self.activities.append({"event_id": event_id, "type": type, "occurred_at": occurred_at})
        self.seen_event_ids.add(event_id)
        merge_profile(self.profile, self.profile_stamps, person, occurred_at, event_id)
        if type == OPT_OUT_TYPE:
            self.email_opt_out = True

    @event("ContactEmailAdded")
    def _email_added(self, email: str, lead_id: UUID | None, occurred_at: datetime) -> None:
        self.emails.append(email)
        if lead_id:
            self.lead_ids.append(lead_id)

    @event("ContactOwnerChanged")
    def _owner_changed(
        self, owner: str | None, previous: str | None, occurred_at: datetime, audit: Audit | None
    ) -> None:
        self.owner = owner

    @event("ContactRelationshipAdded")
    def _related(
        self, to_contact_id: UUID, kind: str, occurred_at: datetime, audit: Audit | None
    ) -> None:
        self.relationships.append(
            {"to_contact_id": to_contact_id, "kind": kind, "since": occurred_at}
        )
