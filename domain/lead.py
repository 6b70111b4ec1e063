"""The Lead aggregate: a person known only by marketing engagement."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from leadflow.domain.base import LeadflowAggregate
from leadflow.domain.engagement import OPT_OUT_TYPE, Engagement, merge_profile
from leadflow.domain.errors import (
    ConversionRefused,
    InvalidInput,
    QualificationRefused,
    StatusChangeRefused,
)
from leadflow.domain.scoring import ScoringPolicy, Touch, evaluate

NEW, WORKING, NURTURING, UNQUALIFIED, CONVERTED = (
    "New",
    "Working",
    "Nurturing",
    "Unqualified",
    "Converted",
)
STATUSES = (NEW, WORKING, NURTURING, UNQUALIFIED, CONVERTED)
SETTABLE_STATUSES = (WORKING, NURTURING, UNQUALIFIED)
OPEN_STATUSES = frozenset({NEW, WORKING, NURTURING})
# Who may follow whom by command; Converted is reached only by conversion.
_TRANSITIONS = {
    NEW: {WORKING, NURTURING, UNQUALIFIED},
    WORKING: {NURTURING, UNQUALIFIED},
    NURTURING: {WORKING, UNQUALIFIED},
    UNQUALIFIED: {WORKING, NURTURING},
    CONVERTED: set(),
}
BANT_KEYS = ("budget", "authority", "need", "timeline")

Audit = dict[str, Any]


class Lead(LeadflowAggregate):
    class EngagementRecorded(Aggregate.Event):
        """Version 2 added `extra` (unknown top-level fields of the inbound record, kept as
        given); version-1 events in old stores are upcast with none."""

        class_version = 2

        event_id: str
        type: str
        occurred_at: datetime
        points: int
        source: str
        campaign: str | None
        person: dict[str, Any]
        properties: dict[str, Any]
        extra: dict[str, Any]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["extra"] = {}

    @event("LeadCaptured")
    def __init__(
        self,
        email: str,
        event_id: str,
        occurred_at: datetime,
        source: str,
        campaign: str | None,
    ) -> None:
        self.email = email
        self.captured_at = occurred_at
        self.first_touch_event_id = event_id
        self.source = source
        self.campaign = campaign
        self.status = NEW
        self.owner: str | None = None
        self.score = 0
        self.touches: list[Touch] = []
        self.seen_event_ids: set[str] = set()
        self.fit_points: dict[str, int] = {}
        self.profile: dict[str, Any] = {}
        self.profile_stamps: dict[str, list[str]] = {}
        self.email_opt_out = False
        self.mql_at: datetime | None = None
        self.sql_at: datetime | None = None
        self.converted_at: datetime | None = None
        self.conversion: dict[str, Any] | None = None

    # --- queries -------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen_event_ids

    def score_breakdown(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "event_id": t.event_id,
                "type": t.type,
                "points": t.points,
                "occurred_at": t.occurred_at,
            }
            for t in sorted(self.touches, key=lambda t: t.order_key)
        ]
        items += [
            {"event_id": None, "type": f"fit:{name}", "points": pts, "occurred_at": None}
            for name, pts in sorted(self.fit_points.items())
        ]
        return items

    # --- commands ------------------------------------------------------------------

    def record_engagement(self, engagement: Engagement, policy: ScoringPolicy) -> bool:
        """Records an engagement; False (and no event) if this lead has already seen it."""
        if self.has_seen(engagement.event_id):
            return False
        points = policy.points_for(engagement.type)
        # The two events every engagement makes are triggered by class, not through their
        # @event methods: the same event and state change, without the decorator matching
        # the call's arguments to the method each time (a third of the cost).
        self.trigger_event(
            Lead.EngagementRecorded,
            event_id=engagement.event_id,
            type=engagement.type,
            occurred_at=engagement.occurred_at,
            points=points,
            source=engagement.source,
            campaign=engagement.campaign,
            person=dict(engagement.person),
            properties=dict(engagement.properties),
            extra=dict(engagement.extra),
        )
        if engagement.order_key < (self.captured_at, self.first_touch_event_id):
            self._first_touch_changed(
                event_id=engagement.event_id,
                captured_at=engagement.occurred_at,
                source=engagement.source,
                campaign=engagement.campaign,
            )
        result = evaluate(self.touches, policy)
        self.trigger_event(
            _SCORED,
            score=result.score,
            points=points,
            event_id=engagement.event_id,
            occurred_at=engagement.occurred_at,
            fit_points=result.fit_points,
        )
        # A lead never loses MQL; a late event that happened earlier moves mql_at earlier.
        if result.mql_at is not None and (self.mql_at is None or result.mql_at < self.mql_at):
            self._qualified(
                stage="MQL",
                occurred_at=result.mql_at,
                corrected=self.mql_at is not None,
                bant=None,
                notes=None,
                audit=None,
            )
        return True

    def change_status(
        self, status: str, reason: str | None, occurred_at: datetime, audit: Audit | None = None
    ) -> bool:
        if status not in SETTABLE_STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(SETTABLE_STATUSES)}", {"status": status}
            )
        if status == self.status:
            return False
        if status not in _TRANSITIONS[self.status]:
            raise StatusChangeRefused(
                f"a {self.status} lead cannot become {status}",
                {"lead_id": str(self.id), "status": self.status},
            )
        self._status_changed(
            status=status,
            previous=self.status,
            reason=reason,
            occurred_at=occurred_at,
            audit=audit,
        )
        return True

    def assign(
        self,
        owner: str | None,
        occurred_at: datetime,
        queue: str | None = None,
        rule: str | None = None,
        audit: Audit | None = None,
    ) -> bool:
        if owner == self.owner:
            return False
        self._assigned(
            owner=owner,
            previous=self.owner,
            queue=queue,
            rule=rule,
            occurred_at=occurred_at,
            audit=audit,
        )
        return True

    def qualify(
        self,
        bant: dict[str, bool],
        notes: str | None,
        occurred_at: datetime,
        audit: Audit | None = None,
    ) -> bool:
        """SQL when at least three BANT answers are true; False if already SQL."""
        missing = [k for k in BANT_KEYS if not isinstance(bant.get(k), bool)]
        if missing:
            raise InvalidInput("BANT answers must be true or false", {"missing": missing})
        if self.status == CONVERTED:
            raise QualificationRefused("a converted lead cannot be qualified", self._ids())
        if self.status == UNQUALIFIED:
            raise QualificationRefused(
                "an Unqualified lead must be set back to Working or Nurturing first",
                {"lead_id": str(self.id), "status": self.status},
            )
        yes = sum(1 for k in BANT_KEYS if bant[k])
        if yes < 3:
            raise QualificationRefused(
                f"SQL needs at least three of budget, authority, need, timeline; got {yes}",
                {"lead_id": str(self.id), "true_answers": yes},
            )
        if self.sql_at is not None:
            return False
        self._qualified(
            stage="SQL",
            occurred_at=occurred_at,
            corrected=False,
            bant={k: bant[k] for k in BANT_KEYS},
            notes=notes,
            audit=audit,
        )
        return True

    def check_convertible(self) -> None:
        if self.status == CONVERTED:
            raise ConversionRefused("the lead is already converted", self._ids())
        if self.status == UNQUALIFIED:
            raise ConversionRefused(
                "an Unqualified lead cannot be converted",
                {"lead_id": str(self.id), "status": self.status},
            )

    def convert(
        self,
        *,
        contact_id: UUID,
        contact_created: bool,
        account_id: UUID,
        account_created: bool,
        opportunity_id: UUID | None,
        opportunity_amount: Any,
        occurred_at: datetime,
        audit: Audit | None = None,
    ) -> None:
        self.check_convertible()
        self._converted(
            email=self.email,
            contact_id=contact_id,
            contact_created=contact_created,
            account_id=account_id,
            account_created=account_created,
            opportunity_id=opportunity_id,
            opportunity_amount=opportunity_amount,
            owner=self.owner,
            source=self.source,
            campaign=self.campaign,
            converted_at=occurred_at,
            occurred_at=occurred_at,
            previous_status=self.status,
            audit=audit,
        )

    def _ids(self) -> dict[str, Any]:
        ids: dict[str, Any] = {"lead_id": str(self.id)}
        ids.update({k: (str(v) if v else None) for k, v in (self.conversion or {}).items()})
        return ids

    # --- events (the decorated bodies are the state changes, replayed on load) ------

    @event(EngagementRecorded)
    def _engagement_recorded(
        self,
        event_id: str,
        type: str,
        occurred_at: datetime,
        points: int,
        source: str,
        campaign: str | None,
        person: dict[str, Any],
        properties: dict[str, Any],
        extra: dict[str, Any],
    ) -> None:
        self.touches.append(Touch(event_id, type, occurred_at, points, source, campaign, person))
        self.seen_event_ids.add(event_id)
        merge_profile(self.profile, self.profile_stamps, person, occurred_at, event_id)
        if type == OPT_OUT_TYPE:
            self.email_opt_out = True

    @event("LeadFirstTouchChanged")
    def _first_touch_changed(
        self, event_id: str, captured_at: datetime, source: str, campaign: str | None
    ) -> None:
        self.first_touch_event_id = event_id
        self.captured_at = captured_at
        self.source = source
        self.campaign = campaign

    @event("LeadScored")
    def _scored(
        self,
        score: int,
        points: int,
        event_id: str,
        occurred_at: datetime,
        fit_points: dict[str, int],
    ) -> None:
        self.score = score
        self.fit_points = dict(fit_points)

    @event("LeadQualified")
    def _qualified(
        self,
        stage: str,
        occurred_at: datetime,
        corrected: bool,
        bant: dict[str, bool] | None,
        notes: str | None,
        audit: Audit | None,
    ) -> None:
        if stage == "MQL":
            self.mql_at = occurred_at
        else:
            self.sql_at = occurred_at

    @event("LeadStatusChanged")
    def _status_changed(
        self,
        status: str,
        previous: str,
        reason: str | None,
        occurred_at: datetime,
        audit: Audit | None,
    ) -> None:
        self.status = status

    @event("LeadAssigned")
    def _assigned(
        self,
        owner: str | None,
        previous: str | None,
        queue: str | None,
        rule: str | None,
        occurred_at: datetime,
        audit: Audit | None,
    ) -> None:
        self.owner = owner

    @event("LeadConverted")
    def _converted(
        self,
        email: str,
        contact_id: UUID,
        contact_created: bool,
        account_id: UUID,
        account_created: bool,
        opportunity_id: UUID | None,
        opportunity_amount: Any,
        owner: str | None,
        source: str,
        campaign: str | None,
        converted_at: datetime,
        occurred_at: datetime,
        previous_status: str,
        audit: Audit | None,
    ) -> None:
        self.status = CONVERTED
        self.converted_at = converted_at
        self.conversion = {
            "contact_id": contact_id,
            "account_id": account_id,
            "opportunity_id": opportunity_id,
        }


# The class @event("LeadScored") made (what calling `_scored` triggers).
_SCORED: type[Aggregate.Event] = Lead.__dict__["LeadScored"]
