"""Use case: record engagement. Captures leads, scores them, or records contact activity.

A batch is decided in memory and saved in one transaction with the ids it consumed, so a
replayed batch (a consumer restarted before committing its offsets) has no second effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from leadflow.application.changes import Changes, open_lead_loads
from leadflow.application.people import CONTACT, LEAD, PeopleIndex, PersonRef
from leadflow.domain.assignment import AssignmentPolicy
from leadflow.domain.contact import Contact
from leadflow.domain.engagement import Engagement
from leadflow.domain.lead import Lead
from leadflow.domain.scoring import ScoringPolicy
from leadflow.infra.sidetables import SideWrite
from leadflow.infra.store import Store, retrying

INBOUND_INSERT = "INSERT INTO {inbound} (kind, event_id) VALUES (?, ?)"
A = TypeVar("A", bound=Aggregate)


@dataclass
class EngagementOutcome:
    accepted: int = 0
    duplicates: int = 0
    leads_captured: int = 0
    contact_activities: int = 0
    lead_ids: dict[str, str] = field(default_factory=dict)  # event_id -> aggregate id


def _kinds(writes: Sequence[SideWrite]) -> Callable[[SideWrite], int]:
    """A stable sort key grouping writes by statement, kinds in order of first use."""
    order: dict[str, int] = {}
    for w in writes:
        order.setdefault(w.sql, len(order))
    return lambda w: order[w.sql]


def seen_inbound(store: Store, kind: str, event_ids: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    ids = list(event_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = store.side.query(
            "SELECT event_id FROM {inbound} WHERE kind = ? AND event_id IN "
            + store.side.in_clause(len(chunk)),
            [kind, *chunk],
        )
        seen.update(r[0] for r in rows)
    return seen


class RecordEngagement:
    def __init__(
        self,
        store: Store,
        people: PeopleIndex,
        scoring: ScoringPolicy,
        assignment: AssignmentPolicy,
    ) -> None:
        self._store = store
        self._people = people
        self._scoring = scoring
        self._assignment = assignment

    def record(self, batch: Sequence[Engagement]) -> EngagementOutcome:
        return retrying(lambda: self._borrowing(batch))

    def _borrowing(self, batch: Sequence[Engagement]) -> EngagementOutcome:
        """The aggregates are borrowed from a sole writer's cache (Store.get): a unit of work
        that fails must not leave its half-made changes there for the retry to build on."""
        borrowed: list[UUID] = []
        try:
            return self._attempt(batch, borrowed)
        except BaseException:
            self._store.evict(borrowed)
            raise

    def _attempt(self, batch: Sequence[Engagement], borrowed: list[UUID]) -> EngagementOutcome:
        outcome = EngagementOutcome()
        unique: dict[str, Engagement] = {}
        for e in batch:
            unique.setdefault(e.event_id, e)  # the first one processed wins
        seen = seen_inbound(self._store, "engagement", list(unique))
        fresh = [e for e in unique.values() if e.event_id not in seen]
        outcome.duplicates = len(batch) - len(fresh)
        if not fresh:
            return outcome

        by_email: dict[str, list[Engagement]] = {}
        for e in fresh:
            by_email.setdefault(e.email, []).append(e)
        known = self._people.lookup(by_email)
        changes = Changes()
        load_delta: dict[str, int] = {}
        for email, group in by_email.items():
            ref = known.get(email)
            if ref is not None and ref.kind == CONTACT:
                contact = self._load(ref.id, Contact, changes, borrowed)
                for e in group:
                    contact.record_activity(e)
                    outcome.lead_ids[e.event_id] = str(contact.id)
                outcome.contact_activities += len(group)
                changes.add(contact)
                continue
            if ref is None:
                lead = self._capture(email, group, changes)
                outcome.leads_captured += 1
            else:
                lead = self._load(ref.id, Lead, changes, borrowed)
            for e in group:
                lead.record_engagement(e, self._scoring)
                outcome.lead_ids[e.event_id] = str(lead.id)
            if ref is None:
                self._assign(lead, lead.captured_at, changes, load_delta)
            changes.add(lead)
        changes.write(*(SideWrite(INBOUND_INSERT, ("engagement", e.event_id)) for e in fresh))
        # Alike statements together, so each kind goes to the database as one batch (see
        # recorders.batched). Safe to reorder here: these are inserts of distinct keys and
        # additive owner-load upserts, none of which depends on another.
        changes.writes.sort(key=_kinds(changes.writes))
        changes.commit(self._store)
        outcome.accepted = len(fresh)
        return outcome

    def _load(self, aggregate_id: UUID, cls: type[A], changes: Changes, borrowed: list[UUID]) -> A:
        """The aggregate this unit of work already changed, if it did: a contact has several
        emails, and a second copy of it would replace the first in `changes` and lose its
        events (accepted records whose activity was never stored)."""
        mine = changes.aggregates.get(aggregate_id)
        if isinstance(mine, cls):
            return mine
        borrowed.append(aggregate_id)
        return self._store.get(aggregate_id, cls, borrow=True)

    def _capture(self, email: str, group: list[Engagement], changes: Changes) -> Lead:
        first = min(group, key=lambda e: e.order_key)
        lead = Lead(
            email=email,
            event_id=first.event_id,
            occurred_at=first.occurred_at,
            source=first.source,
            campaign=first.campaign,
        )
        changes.write(self._people.claim(email, PersonRef(LEAD, lead.id)))
        changes.write(*self._store.keys.new_person(lead.id))  # a new person, a new key
        return lead

    def _assign(
        self, lead: Lead, at: datetime, changes: Changes, load_delta: dict[str, int]
    ) -> None:
        if not self._assignment.rules:
            return
        facts = {**lead.profile, "source": lead.source, "campaign": lead.campaign}

        def loads(members: Sequence[str]) -> dict[str, int]:
            base = open_lead_loads(self._store, members)
            return {m: base.get(m, 0) + load_delta.get(m, 0) for m in members}

        decision = self._assignment.decide(facts, loads)
        if decision is None:
            return
        lead.assign(decision.owner, at, queue=decision.queue, rule=decision.rule)
        load_delta[decision.owner] = load_delta.get(decision.owner, 0) + 1
        changes.open_leads_delta(decision.owner, 1)
