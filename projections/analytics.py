"""Funnel, conversion rates and lead-source ROI (CONTRACT 7), from the read models.

Every attribute of a lead is taken as it was at `as_of` (business time): stage times after
it do not count, and status and owner are the last changes at or before it. The leads are
the in-memory columns of their facts (columns.py), taken at `as_of` by asof.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from leadflow.infra.sidetables import SideTables
from leadflow.projections.asof import DAY_US, STAGES, At
from leadflow.projections.columns import columns_for
from leadflow.projections.schema import table_names
from leadflow.projections.timelines import NONE_KEY, Ints

__all__ = ["NONE_KEY", "STAGES", "Cohort", "conversion_rates", "funnel", "roi"]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Cohort:
    as_of: datetime
    from_: datetime | None = None
    to: datetime | None = None
    source: str | None = None
    campaign: str | None = None
    owner: str | None = None
    stuck_days: int = 14

    def echo(self) -> dict[str, Any]:
        return {
            "from": _z(self.from_),
            "to": _z(self.to),
            "source": self.source,
            "campaign": self.campaign,
            "owner": self.owner,
            "as_of": _z(self.as_of),
        }


def _z(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _median_days(gaps: Ints) -> float | None:
    size = len(gaps)
    if size == 0:
        return None
    mid = size // 2
    if size % 2:
        return int(np.partition(gaps, mid)[mid]) / DAY_US
    part = np.partition(gaps, [mid - 1, mid])
    return (int(part[mid - 1]) + int(part[mid])) / 2 / DAY_US


def _by_highest(values: Ints, minlength: int = len(STAGES)) -> list[int]:
    return [int(v) for v in np.bincount(values, minlength=minlength)]


def funnel(side: SideTables, c: Cohort) -> dict[str, Any]:
    with columns_for(side) as cols:
        v = At(cols, c, use_owner=True)
        by_highest = _by_highest(v.highest)
        counts = [sum(by_highest[i:]) for i in range(len(STAGES))]
        gone = v.dropped()
        dropped = _by_highest(v.highest[gone])
        stale = v.reached() < v.as_of - c.stuck_days * DAY_US
        stuck = _by_highest(v.highest[~gone & stale])
        stuck[-1] = 0
        medians: list[float | None] = [None]
        for i in range(1, len(STAGES)):
            medians.append(_median_days(v.gaps(i)))
    stages = [
        {
            "stage": name,
            "count": counts[i],
            "rate_from_previous": None if i == 0 else _ratio(counts[i], counts[i - 1]),
            "rate_from_captured": _ratio(counts[i], counts[0]),
            "median_days_from_previous": medians[i],
            "stuck": stuck[i],
            "dropped": dropped[i],
        }
        for i, name in enumerate(STAGES)
    ]
    return {"query": {**c.echo(), "stuck_days": c.stuck_days}, "stages": stages}


@dataclass(frozen=True)
class Tally:
    """One key's leads per stage reached, opportunities opened and won revenue (cents)."""

    reached: list[int]
    opportunities: int = 0
    revenue_cents: int = 0

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.revenue_cents).scaleb(-2)


def _tallies(side: SideTables, c: Cohort, by: str, use_owner: bool) -> dict[str, Tally]:
    with columns_for(side) as cols:
        v = At(cols, c, use_owner=use_owner, owner_key=by == "owner")
        key, names = v.key(by)
        if not len(key):
            return {}
        size = int(key.max()) + 1
        grid = np.bincount(key * len(STAGES) + v.highest, minlength=size * len(STAGES))
        reached = np.cumsum(grid.reshape(size, len(STAGES))[:, ::-1], axis=1)[:, ::-1]
        opened = np.bincount(key, weights=v.opened(), minlength=size)
        won = v.won()
        # Float sums of integer cents are exact below 2**53 cents.
        revenue = np.bincount(key[won], weights=v.revenue()[won], minlength=size)
        return {
            names(k): Tally([int(x) for x in reached[k]], int(opened[k]), round(float(revenue[k])))
            for k in np.flatnonzero(reached[:, 0]).tolist()
        }


def conversion_rates(side: SideTables, c: Cohort, by: str) -> dict[str, Any]:
    groups = _tallies(side, c, by, use_owner=True)
    rows = []
    for k in sorted(groups):
        n = groups[k].reached
        rows.append(
            {
                "key": k,
                "leads": n[0],
                "mql": n[1],
                "sql": n[2],
                "converted": n[3],
                "won": n[4],
                "lead_to_mql": _ratio(n[1], n[0]),
                "mql_to_sql": _ratio(n[2], n[1]),
                "sql_to_converted": _ratio(n[3], n[2]),
                "converted_to_won": _ratio(n[4], n[3]),
                "lead_to_converted": _ratio(n[3], n[0]),
            }
        )
    return {"query": c.echo(), "by": by, "rows": rows}


def _spend_by_key(side: SideTables, c: Cohort, by: str) -> dict[str, Decimal]:
    rows = side.query(
        "SELECT event_id, source, campaign, amount, period_start, replaces FROM {rm_spend}",
        (),
        table_names(),
    )
    replaced = {r[5] for r in rows if r[5]}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for event_id, source, campaign, amount, period_start, _ in rows:
        if event_id in replaced:
            continue
        start = datetime.combine(date.fromisoformat(period_start), datetime.min.time(), UTC)
        if start > c.as_of or (c.from_ and start < c.from_) or (c.to and start >= c.to):
            continue
        if c.source is not None and (source or NONE_KEY) != c.source:
            continue
        if c.campaign is not None and (campaign or NONE_KEY) != c.campaign:
            continue
        totals[(source if by == "source" else campaign) or NONE_KEY] += Decimal(amount)
    return totals


def roi(side: SideTables, c: Cohort, by: str) -> dict[str, Any]:
    groups = _tallies(side, c, by, use_owner=False)
    spend = _spend_by_key(side, c, by)
    rows = []
    empty = Tally([0] * len(STAGES))
    for k in sorted(set(groups) | set(spend)):
        tally = groups.get(k, empty)
        n = tally.reached
        s = spend.get(k, Decimal(0))
        revenue = tally.revenue
        rows.append(
            {
                "key": k,
                "spend": _money(s),
                "leads": n[0],
                "mql": n[1],
                "sql": n[2],
                "converted": n[3],
                "opportunities": tally.opportunities,
                "won": n[4],
                "won_revenue": _money(revenue),
                "cost_per_lead": _money(s / n[0]) if n[0] else None,
                "cost_per_conversion": _money(s / n[3]) if n[3] else None,
                "roi": float((revenue - s) / s) if s else None,
            }
        )
    query = {k: v for k, v in c.echo().items() if k != "owner"}
    return {"query": query, "by": by, "rows": rows}
