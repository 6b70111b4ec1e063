"""The contract's rules (CONTRACT 3, 4), applied to a world in the order leadflow sees it.

An independent implementation: it follows the contract's text, not leadflow's code. A
`Ledger` takes records in publish order and commands in execution order and keeps what
leadflow must then hold: leads (first touch, score, MQL, lifecycle), contacts' activity,
spend after deduplication, and the malformed records that must reach a DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from leadflow.simulate.model import SPEND, Command, Record, SpendLine, Touch
from leadflow.simulate.rules import Rules, SimulationError

NEW, WORKING, NURTURING, UNQUALIFIED, CONVERTED = (
    "New",
    "Working",
    "Nurturing",
    "Unqualified",
    "Converted",
)
# CONTRACT 3.3: New, Working, Nurturing by command; Unqualified back to Working or Nurturing.
ALLOWED = {
    NEW: {WORKING, NURTURING, UNQUALIFIED},
    WORKING: {NURTURING, UNQUALIFIED},
    NURTURING: {WORKING, UNQUALIFIED},
    UNQUALIFIED: {WORKING, NURTURING},
    CONVERTED: set(),
}
BANT = ("budget", "authority", "need", "timeline")


@dataclass
class Opportunity:
    amount: Decimal
    opened_at: datetime
    outcome: str | None = None
    closed_at: datetime | None = None
    won_amount: Decimal | None = None


@dataclass
class LeadState:
    email: str
    phase_captured: int
    touches: list[Touch] = field(default_factory=list)
    statuses: list[tuple[datetime, str]] = field(default_factory=list)
    owners: list[tuple[datetime, str | None]] = field(default_factory=list)
    sql_at: datetime | None = None
    converted_at: datetime | None = None
    opportunity: Opportunity | None = None
    contact: str | None = None  # the key (first email) of the contact it converted into

    @property
    def status(self) -> str:
        return self.statuses[-1][1] if self.statuses else NEW

    @property
    def owner(self) -> str | None:
        return self.owners[-1][1] if self.owners else None

    def ordered(self) -> list[Touch]:
        return sorted(self.touches, key=lambda t: t.order_key)

    @property
    def first(self) -> Touch:
        return min(self.touches, key=lambda t: t.order_key)

    def score(self, rules: Rules) -> int:
        return sum(rules.points[t.type] for t in self.touches)

    def mql_at(self, rules: Rules) -> datetime | None:
        """The event at which the running sum, in (occurred_at, event_id) order, first
        reaches the threshold, whatever order the events arrived in (CONTRACT 3.2)."""
        total = 0
        for t in self.ordered():
            total += rules.points[t.type]
            if total >= rules.mql_threshold:
                return t.at
        return None

    def profile(self) -> dict[str, Any]:
        """Per field, the value with the latest occurred_at wins; nulls are ignored."""
        profile: dict[str, Any] = {}
        for t in self.ordered():
            profile.update({k: v for k, v in t.person.items() if v is not None})
        return profile


@dataclass
class Ledger:
    rules: Rules
    seen: dict[str, set[str]] = field(default_factory=lambda: {"engagement": set(), SPEND: set()})
    leads: dict[str, LeadState] = field(default_factory=dict)
    contacts: dict[str, list[Touch]] = field(default_factory=dict)
    contact_of: dict[str, str] = field(default_factory=dict)  # email -> contact key
    spend: list[SpendLine] = field(default_factory=list)
    dlq: dict[str, list[str]] = field(default_factory=lambda: {"engagement": [], SPEND: []})
    duplicates: int = 0

    def publish(self, record: Record) -> None:
        if record.marker is not None:
            self.dlq[record.topic].append(record.marker)
            return
        event_id = record.touch.event_id if record.touch else record.spend.event_id  # type: ignore[union-attr]
        seen = self.seen[record.topic]
        if event_id in seen:  # the first one processed wins, whatever the payload
            self.duplicates += 1
            return
        seen.add(event_id)
        if record.spend is not None:
            self.spend.append(record.spend)
            return
        touch = record.touch
        assert touch is not None
        contact = self.contact_of.get(touch.email)
        if contact is not None:  # a contact's email: its activity, no lead, no score
            self.contacts[contact].append(touch)
            return
        lead = self.leads.get(touch.email)
        if lead is None:
            lead = self.leads[touch.email] = LeadState(touch.email, record.phase)
        lead.touches.append(touch)

    def lead(self, email: str) -> LeadState:
        lead = self.leads.get(email)
        if lead is None:
            raise SimulationError("a command names a lead that leadflow would not have")
        return lead

    def command(self, c: Command) -> int:
        """Applies a command as leadflow must; the HTTP status it must answer."""
        if c.action == "create_contact":
            if c.email in self.leads or c.email in self.contact_of:
                return 409
            self.contact_of[c.email] = c.email
            self.contacts[c.email] = []
            return 201
        lead = self.lead(c.email)
        if c.action == "assign":
            if c.body["owner"] != lead.owner:
                lead.owners.append((c.at, c.body["owner"]))
            return 200
        if c.action == "status":
            new = c.body["status"]
            if new == lead.status:
                return 200
            if new not in ALLOWED[lead.status]:
                return 409
            lead.statuses.append((c.at, new))
            return 200
        if c.action == "qualify":
            if lead.status in (CONVERTED, UNQUALIFIED):
                return 409
            if sum(1 for k in BANT if c.body[k]) < 3:
                return 409
            if lead.sql_at is None:
                lead.sql_at = c.at
            return 200
        if c.action == "convert":
            return self._convert(lead, c)
        if c.action in ("won", "lost"):
            opp = lead.opportunity
            if opp is None or opp.outcome is not None:
                return 409
            opp.outcome, opp.closed_at = c.action, c.at
            if c.action == "won":
                amount = c.body.get("amount")
                opp.won_amount = opp.amount if amount is None else Decimal(str(amount))
            return 200
        raise SimulationError(f"unknown command {c.action!r}")

    def _convert(self, lead: LeadState, c: Command) -> int:
        if lead.status in (CONVERTED, UNQUALIFIED):
            return 409
        key = c.link_contact or lead.email
        if c.link_contact is not None and c.link_contact not in self.contacts:
            raise SimulationError("a conversion links a contact that does not exist")
        lead.converted_at = c.at
        lead.statuses.append((c.at, CONVERTED))
        lead.contact = key
        self.contact_of[lead.email] = key
        self.contacts.setdefault(key, [])
        opportunity = c.body.get("opportunity")
        if opportunity is not None:
            lead.opportunity = Opportunity(Decimal(str(opportunity["amount"])), c.at)
        return 200

    def play(self, records: list[Record], commands: list[Command], days: int) -> list[str]:
        """Plays a whole world in run order; the keys of commands answered otherwise."""
        by_phase: dict[int, list[Record]] = {}
        for r in records:
            by_phase.setdefault(r.phase, []).append(r)
        pre: dict[int, list[Command]] = {}
        post: dict[int, list[Command]] = {}
        for c in commands:
            (pre if c.before_publish else post).setdefault(c.phase, []).append(c)
        mismatches = []
        for phase in range(days):
            for c in pre.get(phase, []):
                if self.command(c) != c.expect:
                    mismatches.append(c.key)
            for r in by_phase.get(phase, []):
                self.publish(r)
            for c in post.get(phase, []):
                if self.command(c) != c.expect:
                    mismatches.append(c.key)
        return mismatches
