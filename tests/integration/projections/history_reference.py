"""An independent reference of the read models (CONTRACT 3 and 7): `Reference`, a plain
model of the contract's sentences that imports nothing of leadflow, which
`history_driver.play` fills beside the use cases. `Reference.funnel`, `.rates` and `.roi`
answer CONTRACT 7 from what was issued.

Readings of the contract that the reference makes (where it is not explicit):
- A lead captured after `as_of` is not in the cohort (it was not a lead at `as_of`).
- Status and owner at `as_of` are the last change with `occurred_at <= as_of` in business
  time, ties in command order; `New` and no owner before any change. Conversion is a
  change to `Converted` at its `occurred_at`. Setting the status or owner a lead already
  has changes nothing.
- Lifecycle commands of one lead (status, qualify, convert, win/lose) are issued in business
  time order here, so "as it was at as_of" never has to weigh contradicting commands.
  Owner assignments are issued at random business times.
- A second qualify of an SQL lead keeps the first `sql_at` (issued later, see above).
- Engagement for a converted lead's email is the contact's activity: it neither scores nor
  moves the lead's first touch, whatever its `occurred_at`.
- Spend: the amounts of records named by an accepted record's `replaces` do not count; the
  restating record counts with its own source, campaign and period. The generator never
  lets two accepted records restate the same one (the contract does not say which wins).
- `won` needs the opportunity's won time at or before `as_of`; `lost` likewise its lost
  time; `opportunities` counts opportunities opened at or before `as_of`.
- `median_days_from_previous` is in days of 86,400 s, from the previous stage's time to
  this stage's, over leads having both at `as_of`.
- A `(none)` filter selects null keys; for ROI spend the filters apply to the record's
  own source and campaign.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from tests.integration.projections.history_generator import (
    NONE,
    POINTS,
    STAGES,
    THRESHOLD,
    money_text,
)

# --- the reference model ---------------------------------------------------------------


def normalise(email: str) -> str:
    return email.strip().lower()


@dataclass
class RefLead:
    email: str
    lead_id: str = ""
    touches: list[tuple[datetime, str, str, str, str | None]] = field(default_factory=list)
    statuses: list[tuple[datetime, int, str]] = field(default_factory=list)
    owners: list[tuple[datetime, int, str | None]] = field(default_factory=list)
    status: str = "New"  # now, in command order
    owner: str | None = None
    clock: datetime | None = None  # the last lifecycle command's business time
    sql_at: datetime | None = None
    converted_at: datetime | None = None
    opportunity_id: str | None = None
    opportunity_amount: Fraction | None = None
    opened_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    won_amount: Fraction | None = None

    @property
    def first(self) -> tuple[datetime, str, str, str, str | None]:
        return min(self.touches, key=lambda t: (t[0], t[1]))

    @property
    def captured_at(self) -> datetime:
        return self.first[0]

    @property
    def source(self) -> str:
        return self.first[3]

    @property
    def campaign(self) -> str | None:
        return self.first[4]

    @property
    def score(self) -> int:
        return sum(POINTS[t[2]] for t in self.touches)

    @property
    def mql_at(self) -> datetime | None:
        running = 0
        for at, _, kind, _, _ in sorted(self.touches, key=lambda t: (t[0], t[1])):
            running += POINTS[kind]
            if running >= THRESHOLD:
                return at
        return None


@dataclass
class RefSpend:
    event_id: str
    source: str
    campaign: str | None
    amount: Fraction
    period_start: date
    replaces: str | None


@dataclass
class View:
    """A lead as it was at `as_of`."""

    captured_at: datetime
    source: str
    campaign: str | None
    owner: str | None
    times: list[datetime | None]
    status: str
    lost: bool
    opportunity: bool
    won_amount: Fraction | None

    @property
    def highest(self) -> int:
        return max(i for i, t in enumerate(self.times) if t is not None)


def _at_or_before(value: datetime | None, as_of: datetime) -> datetime | None:
    return value if value is not None and value <= as_of else None


def _last(changes: list[tuple[datetime, int, Any]], as_of: datetime, default: Any) -> Any:
    before = [c for c in changes if c[0] <= as_of]
    return max(before, key=lambda c: (c[0], c[1]))[2] if before else default


def _days(later: datetime, earlier: datetime) -> Fraction:
    gap = later - earlier
    return (gap.days * 86_400 + gap.seconds + Fraction(gap.microseconds, 10**6)) / 86_400


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def money(value: Fraction) -> str:
    """Half-up to the cent (values here are never negative)."""
    cents = value * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return money_text(whole)


@dataclass
class Reference:
    leads: dict[str, RefLead] = field(default_factory=dict)
    contacts: set[str] = field(default_factory=set)  # emails that are a contact's
    seen: set[str] = field(default_factory=set)
    spend: dict[str, RefSpend] = field(default_factory=dict)
    seq: int = 0

    def tick(self) -> int:
        self.seq += 1
        return self.seq

    # --- CONTRACT 7 ---------------------------------------------------------------

    def cohort(self, c: dict[str, Any], use_owner: bool = True) -> list[View]:
        as_of: datetime = c["as_of"]
        out = []
        for lead in self.leads.values():
            captured = lead.captured_at
            if captured > as_of:
                continue
            if c["from_"] is not None and captured < c["from_"]:
                continue
            if c["to"] is not None and captured >= c["to"]:
                continue
            if c["source"] is not None and (lead.source or NONE) != c["source"]:
                continue
            if c["campaign"] is not None and (lead.campaign or NONE) != c["campaign"]:
                continue
            owner = _last(lead.owners, as_of, None)
            if use_owner and c["owner"] is not None and (owner or NONE) != c["owner"]:
                continue
            won_at = _at_or_before(lead.closed_at, as_of) if lead.outcome == "won" else None
            out.append(View(
                captured_at=captured, source=lead.source, campaign=lead.campaign, owner=owner,
                times=[captured, _at_or_before(lead.mql_at, as_of),
                       _at_or_before(lead.sql_at, as_of),
                       _at_or_before(lead.converted_at, as_of), won_at],
                status=_last(lead.statuses, as_of, "New"),
                lost=lead.outcome == "lost" and _at_or_before(lead.closed_at, as_of) is not None,
                opportunity=_at_or_before(lead.opened_at, as_of) is not None,
                won_amount=lead.won_amount if won_at is not None else None,
            ))  # fmt: skip
        return out

    @staticmethod
    def counts(views: list[View]) -> list[int]:
        return [sum(1 for v in views if v.highest >= i) for i in range(len(STAGES))]

    def funnel(self, c: dict[str, Any]) -> list[dict[str, Any]]:
        views = self.cohort(c)
        n = self.counts(views)
        stages = []
        for i, name in enumerate(STAGES):
            gaps = [
                _days(later, earlier)
                for later, earlier in ((v.times[i], v.times[i - 1]) for v in views if i > 0)
                if later is not None and earlier is not None
            ]
            here = [v for v in views if v.highest == i]
            dropped = [v for v in here if v.status == "Unqualified" or v.lost]
            stuck = [
                v for v in here
                if name != "won" and v not in dropped
                and c["as_of"] - v.times[i] > timedelta(days=c["stuck_days"])
            ]  # fmt: skip
            stages.append({
                "stage": name, "count": n[i],
                "rate_from_previous": None if i == 0 else _ratio(n[i], n[i - 1]),
                "rate_from_captured": _ratio(n[i], n[0]),
                "median_days_from_previous": float(statistics.median(gaps)) if gaps else None,
                "stuck": len(stuck), "dropped": len(dropped),
            })  # fmt: skip
        return stages

    @staticmethod
    def key(view: View, by: str) -> str:
        if by == "month":
            return view.captured_at.astimezone(UTC).strftime("%Y-%m")
        return getattr(view, by) or NONE

    def rates(self, c: dict[str, Any], by: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[View]] = defaultdict(list)
        for v in self.cohort(c):
            groups[self.key(v, by)].append(v)
        rows = {}
        for k, views in groups.items():
            n = self.counts(views)
            rows[k] = {
                "key": k, "leads": n[0], "mql": n[1], "sql": n[2], "converted": n[3],
                "won": n[4], "lead_to_mql": _ratio(n[1], n[0]), "mql_to_sql": _ratio(n[2], n[1]),
                "sql_to_converted": _ratio(n[3], n[2]), "converted_to_won": _ratio(n[4], n[3]),
                "lead_to_converted": _ratio(n[3], n[0]),
            }
        return rows

    def effective_spend(self) -> list[RefSpend]:
        replaced = {s.replaces for s in self.spend.values() if s.replaces}
        return [s for s in self.spend.values() if s.event_id not in replaced]

    def roi(self, c: dict[str, Any], by: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[View]] = defaultdict(list)
        for v in self.cohort(c, use_owner=False):
            groups[self.key(v, by)].append(v)
        spend: dict[str, Fraction] = defaultdict(Fraction)
        for s in self.effective_spend():
            start = datetime.combine(s.period_start, time(), UTC)
            if start > c["as_of"]:
                continue
            if c["from_"] is not None and start < c["from_"]:
                continue
            if c["to"] is not None and start >= c["to"]:
                continue
            if c["source"] is not None and s.source != c["source"]:
                continue
            if c["campaign"] is not None and (s.campaign or NONE) != c["campaign"]:
                continue
            spend[(s.source if by == "source" else s.campaign) or NONE] += s.amount
        rows = {}
        for k in set(groups) | set(spend):
            views = groups.get(k, [])
            n = self.counts(views)
            cost = spend.get(k, Fraction(0))
            revenue = sum((v.won_amount for v in views if v.won_amount is not None), Fraction(0))
            rows[k] = {
                "key": k, "spend": money(cost), "leads": n[0], "mql": n[1], "sql": n[2],
                "converted": n[3], "opportunities": sum(1 for v in views if v.opportunity),
                "won": n[4], "won_revenue": money(revenue),
                "cost_per_lead": money(cost / n[0]) if n[0] else None,
                "cost_per_conversion": money(cost / n[3]) if n[3] else None,
                "roi": float((revenue - cost) / cost) if cost else None,
            }
        return rows
