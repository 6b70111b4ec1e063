"""What a simulated world is made of: inbound records in publish order and rep commands.

The world is played in phases, one per simulated day: the commands that must come first
(pre-existing contacts), then the day's records (on time, then the late section), then, once
leadflow has every record a command depends on, the reps' commands of that day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.simulate.rules import Rules

ENGAGEMENT, SPEND = "engagement", "spend"
# Record kinds, as counted in the truth and in the unit tests of the fractions.
EVENT, LATE, DUPLICATE, MALFORMED = "event", "late", "duplicate", "malformed"
SPEND_LINE, RESTATEMENT = "spend", "restatement"


def iso(at: datetime, offset_minutes: int = 0) -> str:
    """RFC 3339 in the given UTC offset; `Z` for UTC."""
    local = at.astimezone(UTC) + timedelta(minutes=offset_minutes)
    text = local.replace(tzinfo=None).isoformat(timespec="seconds")
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Touch:
    """One valid engagement event (CONTRACT 3), with the instant it happened."""

    event_id: str
    type: str
    at: datetime
    email: str  # normalised
    source: str
    campaign: str | None
    person: dict[str, Any] = field(default_factory=dict)
    sent_email: str = ""  # as the sender wrote it (case, spaces)
    offset_minutes: int = 0

    @property
    def order_key(self) -> tuple[datetime, str]:
        return (self.at, self.event_id)

    def payload(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": iso(self.at, self.offset_minutes),
            "email": self.sent_email or self.email,
            "source": self.source,
            "campaign": self.campaign,
            "person": self.person,
            "properties": {"simulated": True},
        }


@dataclass(frozen=True)
class SpendLine:
    event_id: str
    source: str
    campaign: str | None
    amount: Decimal
    period_start: date
    period_end: date
    replaces: str | None = None

    def payload(self, currency: str) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "source": self.source,
            "campaign": self.campaign,
            "amount": f"{self.amount:.2f}",
            "currency": currency,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "replaces": self.replaces,
        }


@dataclass(frozen=True)
class Record:
    """One message for an inbound topic. `touch`/`spend` is what a valid value means."""

    topic: str  # ENGAGEMENT or SPEND
    phase: int
    kind: str
    key: bytes | None
    value: bytes
    touch: Touch | None = None
    spend: SpendLine | None = None
    marker: str | None = None  # malformed records: an id the check finds in the DLQ

    @property
    def email(self) -> str | None:
        return self.touch.email if self.touch else None


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Command:
    """One HTTP command a rep (or the CRM import) sends, and the answer leadflow must give."""

    phase: int
    at: datetime
    email: str  # the lead's (or the new contact's) normalised email
    action: str  # create_contact, assign, status, qualify, convert, won, lost
    body: dict[str, Any]
    key: str  # Idempotency-Key
    expect: int  # 200, 201 or 409
    before_publish: bool = False
    link_contact: str | None = None  # convert: the email of the contact to link

    def json_body(self, contact_id: str | None = None) -> bytes:
        body = {**self.body, "occurred_at": iso(self.at)}
        if contact_id is not None:
            body["contact_id"] = contact_id
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class World:
    seed: int
    days: int
    leads_per_day: int
    start: datetime
    rules: Rules
    run_id: str
    records: list[Record] = field(default_factory=list)  # in publish order
    commands: list[Command] = field(default_factory=list)  # in execution order
    fractions: dict[str, float] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    def phase_records(self, phase: int) -> list[Record]:
        return [r for r in self.records if r.phase == phase]

    def phase_commands(self, phase: int, before_publish: bool) -> list[Command]:
        return [c for c in self.commands if c.phase == phase and c.before_publish == before_publish]
