"""Small hand-made worlds for the truth's tests: touches, spend and commands by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.simulate.model import (
    DUPLICATE,
    ENGAGEMENT,
    EVENT,
    LATE,
    SPEND,
    SPEND_LINE,
    Command,
    Record,
    SpendLine,
    Touch,
    World,
    encode,
)
from leadflow.simulate.rules import load_rules

START = datetime(2025, 3, 3, tzinfo=UTC)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour, minutes=minute)


class Hand:
    """Builds a World record by record, in the publish order given."""

    def __init__(self, days: int = 10) -> None:
        self.world = World(1, days, 1, START, load_rules(), run_id="hand")
        self.n = 0

    def touch(
        self,
        email: str,
        kind: str,
        when: datetime,
        *,
        phase: int | None = None,
        source: str = "webinar",
        campaign: str | None = "q1",
        event_id: str | None = None,
        record_kind: str = EVENT,
        person: dict[str, Any] | None = None,
    ) -> Touch:
        self.n += 1
        t = Touch(event_id or f"e{self.n:03d}", kind, when, email, source, campaign, person or {})
        p = (when - START).days if phase is None else phase
        self.world.records.append(
            Record(ENGAGEMENT, p, record_kind, email.encode(), encode(t.payload()), touch=t)
        )
        return t

    def again(self, t: Touch, phase: int, kind: str = "demo_requested") -> None:
        """The same event_id again, with another payload."""
        value = encode({**t.payload(), "type": kind})
        changed = Touch(t.event_id, kind, t.at, t.email, t.source, t.campaign, t.person)
        self.world.records.append(
            Record(ENGAGEMENT, phase, DUPLICATE, t.email.encode(), value, touch=changed)
        )

    def spend(
        self,
        event_id: str,
        source: str,
        campaign: str | None,
        amount: str,
        month: int,
        *,
        phase: int = 0,
        replaces: str | None = None,
    ) -> None:
        start = date(2025, month, 1)
        end = date(2025, month + 1, 1) - timedelta(days=1)
        line = SpendLine(event_id, source, campaign, Decimal(amount), start, end, replaces)
        self.world.records.append(
            Record(
                SPEND, phase, SPEND_LINE, source.encode(), encode(line.payload("USD")), spend=line
            )
        )

    def command(
        self,
        phase: int,
        when: datetime,
        email: str,
        action: str,
        body: dict[str, Any] | None = None,
        *,
        expect: int = 200,
        before_publish: bool = False,
        link: str | None = None,
    ) -> None:
        self.world.commands.append(
            Command(
                phase,
                when,
                email,
                action,
                body or {},
                f"k{len(self.world.commands)}",
                expect,
                before_publish,
                link,
            )
        )

    def bant(self, yes: int) -> dict[str, Any]:
        answers = [True] * yes + [False] * (4 - yes)
        return dict(zip(("budget", "authority", "need", "timeline"), answers, strict=True))


__all__ = ["LATE", "Hand", "at"]
