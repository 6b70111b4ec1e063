"""CONTRACT 7 from the simulation's lead facts: funnel, conversion rates, lead-source ROI.

Written from the contract's text alone. `as_of=None` is "now": the world ended more than
`stuck_days` before any now at which it can be checked, so "now" is any far-future time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadflow.simulate.model import SpendLine, iso

STAGES = ("captured", "mql", "sql", "converted", "won")
NONE = "(none)"
NOW = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LeadFacts:
    email: str
    captured_at: datetime
    source: str
    campaign: str | None
    mql_at: datetime | None
    sql_at: datetime | None
    converted_at: datetime | None
    opened_at: datetime | None  # the opportunity, opened by the conversion
    won_at: datetime | None
    won_amount: Decimal | None
    lost_at: datetime | None
    statuses: tuple[tuple[datetime, str], ...]
    owners: tuple[tuple[datetime, str | None], ...]

    def times(self, as_of: datetime) -> list[datetime | None]:
        stages = (self.captured_at, self.mql_at, self.sql_at, self.converted_at, self.won_at)
        return [t if t is not None and t <= as_of else None for t in stages]

    def status_at(self, as_of: datetime) -> str:
        """The last change at or before as_of; New before any."""
        changes = [s for at, s in sorted(self.statuses, key=lambda h: h[0]) if at <= as_of]
        return changes[-1] if changes else "New"

    def owner_at(self, as_of: datetime) -> str | None:
        changes = [o for at, o in sorted(self.owners, key=lambda h: h[0]) if at <= as_of]
        return changes[-1] if changes else None


@dataclass(frozen=True)
class Query:
    from_: datetime | None = None
    to: datetime | None = None
    source: str | None = None
    campaign: str | None = None
    owner: str | None = None
    as_of: datetime | None = None

    @property
    def at(self) -> datetime:
        return self.as_of or NOW

    def params(self, with_owner: bool = True) -> dict[str, str]:
        out = {"from": self.from_, "to": self.to, "as_of": self.as_of}
        params = {k: iso(v) for k, v in out.items() if v is not None}
        for k, v in (("source", self.source), ("campaign", self.campaign), ("owner", self.owner)):
            if v is not None and (with_owner or k != "owner"):
                params[k] = v
        return params


@dataclass
class AtAsOf:
    lead: LeadFacts
    times: list[datetime | None]
    status: str
    owner: str | None
    lost: bool

    @property
    def highest(self) -> int:
        return max(i for i, t in enumerate(self.times) if t is not None)


def cohort(leads: list[LeadFacts], q: Query, use_owner: bool = True) -> list[AtAsOf]:
    out = []
    for lead in leads:
        c = lead.captured_at
        if c > q.at or (q.from_ and c < q.from_) or (q.to and c >= q.to):
            continue
        if q.source is not None and lead.source != q.source:
            continue
        if q.campaign is not None and (lead.campaign or NONE) != q.campaign:
            continue
        owner = lead.owner_at(q.at)
        if use_owner and q.owner is not None and (owner or NONE) != q.owner:
            continue
        lost = lead.lost_at is not None and lead.lost_at <= q.at
        out.append(AtAsOf(lead, lead.times(q.at), lead.status_at(q.at), owner, lost))
    return out


def counts(leads: list[AtAsOf]) -> list[int]:
    return [sum(1 for x in leads if x.highest >= i) for i in range(len(STAGES))]


def ratio(num: int | Decimal, den: int | Decimal) -> float | None:
    return None if den == 0 else float(Decimal(num) / Decimal(den))


def funnel(leads: list[LeadFacts], q: Query, stuck_days: int) -> dict[str, Any]:
    members = cohort(leads, q)
    n = counts(members)
    stages = []
    for i, name in enumerate(STAGES):
        gaps = []
        for x in members:
            this, prev = x.times[i], x.times[i - 1] if i else None
            if this is not None and prev is not None:
                gaps.append((this - prev).total_seconds() / 86400)
        here = [x for x in members if x.highest == i]
        dropped = [x for x in here if x.status == "Unqualified" or x.lost]
        stuck = [
            x
            for x in here
            if x not in dropped
            and name != "won"
            and (q.at - (x.times[i] or q.at)).total_seconds() > stuck_days * 86400
        ]
        stages.append(
            {
                "stage": name,
                "count": n[i],
                "rate_from_previous": None if i == 0 else ratio(n[i], n[i - 1]),
                "rate_from_captured": ratio(n[i], n[0]),
                "median_days_from_previous": statistics.median(gaps) if gaps else None,
                "stuck": len(stuck),
                "dropped": len(dropped),
            }
        )
    return {"stages": stages}


def _key(x: AtAsOf, by: str) -> str:
    if by == "month":
        return x.lead.captured_at.strftime("%Y-%m")
    value = {"source": x.lead.source, "campaign": x.lead.campaign, "owner": x.owner}[by]
    return value or NONE


def rates(leads: list[LeadFacts], q: Query, by: str) -> dict[str, Any]:
    groups: dict[str, list[AtAsOf]] = {}
    for x in cohort(leads, q):
        groups.setdefault(_key(x, by), []).append(x)
    rows = []
    for key in sorted(groups):
        n = counts(groups[key])
        rows.append(
            {
                "key": key,
                "leads": n[0],
                "mql": n[1],
                "sql": n[2],
                "converted": n[3],
                "won": n[4],
                "lead_to_mql": ratio(n[1], n[0]),
                "mql_to_sql": ratio(n[2], n[1]),
                "sql_to_converted": ratio(n[3], n[2]),
                "converted_to_won": ratio(n[4], n[3]),
                "lead_to_converted": ratio(n[3], n[0]),
            }
        )
    return {"by": by, "rows": rows}


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def spend_by_key(spend: list[SpendLine], q: Query, by: str) -> dict[str, Decimal]:
    """Records after replacements, by period_start in [from, to) and not after as_of."""
    replaced = {s.replaces for s in spend if s.replaces}
    totals: dict[str, Decimal] = {}
    for s in spend:
        start = datetime.combine(s.period_start, datetime.min.time(), UTC)
        if s.event_id in replaced or start > q.at:
            continue
        if (q.from_ and start < q.from_) or (q.to and start >= q.to):
            continue
        if q.source is not None and s.source != q.source:
            continue
        if q.campaign is not None and (s.campaign or NONE) != q.campaign:
            continue
        key = (s.source if by == "source" else s.campaign) or NONE
        totals[key] = totals.get(key, Decimal(0)) + s.amount
    return totals


def roi(leads: list[LeadFacts], spend: list[SpendLine], q: Query, by: str) -> dict[str, Any]:
    groups: dict[str, list[AtAsOf]] = {}
    for x in cohort(leads, q, use_owner=False):
        groups.setdefault(_key(x, by), []).append(x)
    totals = spend_by_key(spend, q, by)
    rows = []
    for key in sorted(set(groups) | set(totals)):
        members, s = groups.get(key, []), totals.get(key, Decimal(0))
        n = counts(members)
        revenue = sum((x.lead.won_amount or Decimal(0) for x in members if x.times[4]), Decimal(0))
        rows.append(
            {
                "key": key,
                "spend": money(s),
                "leads": n[0],
                "mql": n[1],
                "sql": n[2],
                "converted": n[3],
                "opportunities": sum(
                    1 for x in members if x.lead.opened_at is not None and x.lead.opened_at <= q.at
                ),
                "won": n[4],
                "won_revenue": money(revenue),
                "cost_per_lead": money(s / n[0]) if n[0] else None,
                "cost_per_conversion": money(s / n[3]) if n[3] else None,
                "roi": ratio(revenue - s, s),
            }
        )
    return {"by": by, "rows": rows}


def parse_day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
