"""Random lead histories (CONTRACT 3 and 7): what a history is made of, and how one is drawn.

`random_plan` makes a history: engagement batches (out of business order, duplicated ids with
other payloads, email spelled in several ways), status changes, owner assignments, BANT
qualification, conversions with and without an opportunity, wins and losses, spend records
with restatements. `random_cohort` makes the filters of a CONTRACT 7 question. Choices come
from Hypothesis (`DrawPick`, failures shrink) or from `random.Random` (`RandomPick`).

`history_driver.play` issues a plan; `history_reference.Reference` is what it is checked
against.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Protocol

# --- the contract's defaults (CONTRACT 3.2) -------------------------------------------

POINTS = {
    "form_submitted": 10, "email_opened": 1, "email_clicked": 3, "page_viewed": 1,
    "pricing_page_viewed": 5, "content_downloaded": 5, "webinar_attended": 15,
    "demo_requested": 30, "call_logged": 5, "unsubscribed": 0,
}  # fmt: skip
THRESHOLD = 50
STAGES = ("captured", "mql", "sql", "converted", "won")
NONE = "(none)"
STATUSES = ("Working", "Nurturing", "Unqualified")

SOURCES = ("webinar", "paid_social", "seo")
SPEND_SOURCES = (*SOURCES, "events")  # "events" has spend and never a lead
CAMPAIGNS = ("c-alpha", "c-beta", None)
SPEND_CAMPAIGNS = ("c-alpha", "c-beta", "c-gamma", None)
OWNERS = ("alice", "bob", "carol")
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)),
         timezone(timedelta(hours=5, minutes=30)))
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 300


# --- choices: from Hypothesis (shrinks) or from random.Random (fixed seeds) -------------


class Pick(Protocol):
    def int(self, lo: int, hi: int) -> int: ...


class RandomPick:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)


class DrawPick:
    """Draws through Hypothesis' `data` so that failures shrink (towards `lo`)."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data, self._st = data, st

    def int(self, lo: int, hi: int) -> int:
        return int(self._data.draw(self._st.integers(lo, hi)))


def choice(pick: Pick, options: Sequence[Any]) -> Any:
    return options[pick.int(0, len(options) - 1)]


def chance(pick: Pick, percent: int) -> bool:
    """True with `percent` % probability; shrinks to False."""
    return pick.int(0, 99) >= 100 - percent


def when(pick: Pick, days: int = DAYS) -> datetime:
    """A business time in the window; often on a day's midnight or noon, so that times tie."""
    day = T0 + timedelta(days=pick.int(0, days))
    kind = pick.int(0, 3)
    seconds = 0 if kind == 0 else 43_200 if kind == 1 else pick.int(0, 86_399)
    return day + timedelta(seconds=seconds)


def z(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def email_of(person: int) -> str:
    return f"person{person}@example{person % 2}.com"


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- the plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    """One engagement record as a marketing system sends it."""

    event_id: str
    type: str
    at: datetime  # UTC
    zone: int
    person: int
    spelling: int
    source: str
    campaign: str | None

    @property
    def email(self) -> str:
        base = email_of(self.person)
        return (base, base.upper(), f"  {base.capitalize()} ")[self.spelling]

    def record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "type": self.type,
            "occurred_at": self.at.astimezone(ZONES[self.zone]).isoformat(),
            "email": self.email, "source": self.source, "campaign": self.campaign,
        }  # fmt: skip


@dataclass(frozen=True)
class SpendSpec:
    event_id: str
    source: str
    campaign: str | None
    cents: int
    as_number: bool
    period_start: date
    days: int
    replaces: str | None

    def record(self, replaces: str | None) -> dict[str, Any]:
        amount: Any = self.cents // 100 if self.as_number else money_text(self.cents)
        return {
            "event_id": self.event_id, "source": self.source, "campaign": self.campaign,
            "amount": amount, "currency": "USD",
            "period_start": self.period_start.isoformat(),
            "period_end": (self.period_start + timedelta(days=self.days)).isoformat(),
            "replaces": replaces,
        }  # fmt: skip


@dataclass(frozen=True)
class Command:
    kind: str  # status, assign, qualify, convert, close
    person: int
    at: datetime
    arg: Any = None


@dataclass(frozen=True)
class Engage:
    touches: tuple[Touch, ...]


@dataclass(frozen=True)
class SpendBatch:
    records: tuple[SpendSpec, ...]


Op = Engage | SpendBatch | Command


def random_plan(pick: Pick, people: tuple[int, int] = (2, 5), ops: tuple[int, int] = (10, 50),
                tag: str = "") -> list[Op]:
    """A history; `tag` prefixes event ids, so that several plans can share a store."""
    n_people = pick.int(*people)
    plan: list[Op] = []
    events = spends = 0
    sent: list[Touch] = []
    for _ in range(pick.int(*ops)):
        kind = pick.int(0, 15)
        if kind <= 4:
            touches: list[Touch] = []
            for _ in range(pick.int(1, 6)):
                if sent and chance(pick, 8):  # delivered again, as it was
                    touches.append(choice(pick, sent))
                    continue
                if events and chance(pick, 12):  # a reused id with another payload
                    event_id = f"{tag}e{pick.int(0, events - 1)}"
                else:
                    event_id, events = f"{tag}e{events}", events + 1
                touches.append(Touch(
                    event_id=event_id, type=choice(pick, tuple(POINTS)), at=when(pick),
                    zone=pick.int(0, len(ZONES) - 1), person=pick.int(0, n_people - 1),
                    spelling=pick.int(0, 2), source=choice(pick, SOURCES),
                    campaign=choice(pick, CAMPAIGNS),
                ))  # fmt: skip
                sent.append(touches[-1])
            plan.append(Engage(tuple(touches)))
        elif kind == 5:
            records = []
            for _ in range(pick.int(1, 3)):
                if spends and chance(pick, 12):
                    event_id = f"{tag}s{pick.int(0, spends - 1)}"
                else:
                    event_id, spends = f"{tag}s{spends}", spends + 1
                replaces = None
                if spends > 1 and chance(pick, 35):
                    replaces = f"{tag}s{pick.int(0, spends - 2)}"
                records.append(SpendSpec(
                    event_id=event_id, source=choice(pick, SPEND_SOURCES),
                    campaign=choice(pick, SPEND_CAMPAIGNS), cents=pick.int(0, 900_000),
                    as_number=chance(pick, 10),
                    period_start=(T0 + timedelta(days=pick.int(-40, DAYS + 20))).date(),
                    days=pick.int(0, 40), replaces=replaces,
                ))  # fmt: skip
            plan.append(SpendBatch(tuple(records)))
        else:
            person, at = pick.int(0, n_people - 1), when(pick)
            if kind in (6, 7):
                plan.append(Command("status", person, at, choice(pick, STATUSES)))
            elif kind in (8, 15):
                plan.append(Command("assign", person, at, choice(pick, (*OWNERS, None))))
            elif kind in (9, 12):
                # BANT answers as four bits; at least three true most of the time.
                bits = pick.int(0, 15) if chance(pick, 30) else choice(pick, (7, 11, 13, 14, 15))
                plan.append(Command("qualify", person, at, bits))
            elif kind in (10, 11):
                amount = pick.int(0, 5_000_000) if chance(pick, 65) else None
                plan.append(Command("convert", person, at, amount))
            else:
                won = chance(pick, 60)
                amount = pick.int(0, 5_000_000) if chance(pick, 40) else None
                plan.append(Command("close", person, at, ("won" if won else "lost", amount)))
    return plan


def random_cohort(pick: Pick) -> dict[str, Any]:
    """Filters mostly absent (so that cohorts are rarely empty), as_of anywhere."""
    roll = pick.int(0, 9)
    as_of = (when(pick) if roll < 5 else datetime.now(UTC) if roll < 8
             else T0 - timedelta(days=10) if roll == 8 else T0 + timedelta(days=DAYS + 60))
    from_ = None
    if chance(pick, 30):
        from_ = when(pick) if chance(pick, 50) else datetime.combine(when(pick).date(), time(),
                                                                     UTC)
    to = None
    if chance(pick, 30):
        base = from_ or T0
        to = base + timedelta(days=pick.int(1, DAYS)) if chance(pick, 70) else when(pick)

    def key(percent: int, options: Sequence[str]) -> str | None:
        return choice(pick, (NONE, *options)) if chance(pick, percent) else None

    return {
        "as_of": as_of, "from_": from_, "to": to,
        "source": key(20, SOURCES), "campaign": key(20, ("c-alpha", "c-beta", "c-gamma")),
        "owner": key(20, OWNERS), "stuck_days": choice(pick, (14, 7, 30)),
    }  # fmt: skip


