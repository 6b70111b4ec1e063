"""Funnel, conversion rates and lead-source ROI (CONTRACT 7), from the read models.

Every attribute of a lead is taken as it was at `as_of` (business time): stage times after
it do not count, and status and owner are the last changes at or before it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadflow.infra.sidetables import SideTables
from leadflow.projections import cube
from leadflow.projections.facts import MEASURES
from leadflow.projections.handlers import ts
from leadflow.projections.schema import table_names

STAGES = ("captured", "mql", "sql", "converted", "won")
NONE_KEY = "(none)"
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


@dataclass
class LeadAsOf:
    lead_id: str
    captured_at: str
    source: str
    campaign: str | None
    times: list[str | None]  # per stage, None unless reached by as_of
    status: str
    owner: str | None
    lost: bool
    opportunity: bool
    won_amount: Decimal | None

    @property
    def highest(self) -> int:
        return max(i for i, t in enumerate(self.times) if t is not None)


def _z(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _days(later: str, earlier: str) -> float:
    parse = datetime.fromisoformat
    return (
        parse(later.replace("Z", "+00:00")) - parse(earlier.replace("Z", "+00:00"))
    ).total_seconds() / 86400


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def cohort_leads(side: SideTables, c: Cohort, use_owner: bool = True) -> list[LeadAsOf]:
    as_of = ts(_z(c.as_of)) or ""
    where = ["l.captured_at <= ?"]
    params: list[Any] = [as_of]
    if c.from_ is not None:
        where.append("l.captured_at >= ?")
        params.append(ts(_z(c.from_)))
    if c.to is not None:
        where.append("l.captured_at < ?")
        params.append(ts(_z(c.to)))
    for column, value in (("source", c.source), ("campaign", c.campaign)):
        if value == NONE_KEY:
            where.append(f"l.{column} IS NULL")
        elif value is not None:
            where.append(f"l.{column} = ?")
            params.append(value)
    cond = " AND ".join(where)
    names = table_names()
    rows = side.query(
        "SELECT l.lead_id, l.captured_at, l.source, l.campaign, l.mql_at, l.sql_at,"
        " l.converted_at, o.opened_at, o.outcome, o.closed_at, o.won_amount"
        " FROM {rm_leads} l LEFT JOIN {rm_opportunities} o"
        " ON o.opportunity_id = l.opportunity_id WHERE " + cond,
        params,
        names,
    )
    changes = side.query(
        "SELECT c.lead_id, c.kind, c.value FROM {rm_lead_changes} c JOIN {rm_leads} l"
        " ON l.lead_id = c.lead_id WHERE " + cond + " AND c.occurred_at <= ?"
        " ORDER BY c.lead_id, c.occurred_at, c.version",
        [*params, as_of],
        names,
    )
    latest: dict[tuple[str, str], str | None] = {}
    for lead_id, kind, value in changes:
        latest[(lead_id, kind)] = value
    leads = []
    for lead_id, captured, source, campaign, mql, sql, conv, opened, outcome, closed, won in rows:

        def by(t: str | None) -> str | None:
            return t if t is not None and t <= as_of else None

        won_at = by(closed) if outcome == "won" else None
        lead = LeadAsOf(
            lead_id=lead_id,
            captured_at=captured,
            source=source,
            campaign=campaign,
            times=[captured, by(mql), by(sql), by(conv), won_at],
            status=latest.get((lead_id, "status")) or "New",
            owner=latest.get((lead_id, "owner")),
            lost=outcome == "lost" and by(closed) is not None,
            opportunity=by(opened) is not None,
            won_amount=Decimal(won) if won_at is not None and won is not None else None,
        )
        if use_owner and c.owner is not None and (lead.owner or NONE_KEY) != c.owner:
            continue
        leads.append(lead)
    return leads


def stage_counts(leads: Iterable[LeadAsOf]) -> list[int]:
    counts = [0] * len(STAGES)
    for lead in leads:
        for i in range(lead.highest + 1):
            counts[i] += 1
    return counts


def _funnel_from_leads(c: Cohort, leads: list[LeadAsOf]) -> list[list[Any]]:
    counts = stage_counts(leads)
    as_of = ts(_z(c.as_of)) or ""
    dropped, stuck, medians = [], [], []
    for i, name in enumerate(STAGES):
        gaps = []
        for lead in leads:
            this, previous = lead.times[i], lead.times[i - 1] if i > 0 else None
            if this is not None and previous is not None:
                gaps.append(_days(this, previous))
        at_stage = [lead for lead in leads if lead.highest == i]
        gone = [lead for lead in at_stage if lead.status == "Unqualified" or lead.lost]
        dropped.append(len(gone))
        stuck.append(
            0
            if name == "won"
            else sum(
                1
                for lead in at_stage
                if lead not in gone and _days(as_of, lead.times[i] or as_of) > c.stuck_days
            )
        )
        medians.append(statistics.median(gaps) if gaps else None)
    return [counts, dropped, stuck, medians]


def _funnel_from_cube(side: SideTables, c: Cohort) -> list[list[Any]]:
    tally = cube.tallies(side, c, None).get("", cube.Tally([0] * len(MEASURES)))
    counts = tally.reached()
    dropped = [tally.at(f"d{i}") for i in range(len(STAGES))]
    recent = cube.not_stuck(side, c)
    stuck = [
        0 if i == len(STAGES) - 1 else tally.at(f"n{i}") - dropped[i] - recent[i]
        for i in range(len(STAGES))
    ]
    gaps = [tally.at(f"k{i}") for i in range(1, len(STAGES))]
    medians = [None, *cube.medians(side, c, gaps, counts[0])]
    return [counts, dropped, stuck, medians]


def funnel(side: SideTables, c: Cohort) -> dict[str, Any]:
    if cube.applies(side, c.as_of):
        counts, dropped, stuck, medians = _funnel_from_cube(side, c)
    else:
        counts, dropped, stuck, medians = _funnel_from_leads(c, cohort_leads(side, c))
    stages = [
        {
            "stage": name,
            "count": counts[i],
            "rate_from_previous": None if i == 0 else _ratio(counts[i], counts[i - 1]),
            "rate_from_captured": _ratio(counts[i], counts[0]),
            "median_days_from_previous": None if i == 0 else medians[i],
            "stuck": stuck[i],
            "dropped": dropped[i],
        }
        for i, name in enumerate(STAGES)
    ]
    return {"query": {**c.echo(), "stuck_days": c.stuck_days}, "stages": stages}


def _tallies(side: SideTables, c: Cohort, by: str, use_owner: bool) -> dict[str, cube.Tally]:
    """Stage counts, opportunities and won revenue per key, from either path."""
    if cube.applies(side, c.as_of):
        return cube.tallies(side, c, by, use_owner)
    groups: dict[str, list[LeadAsOf]] = defaultdict(list)
    key = _key_fn(by)
    for lead in cohort_leads(side, c, use_owner=use_owner):
        groups[key(lead)].append(lead)
    out = {}
    for k, leads in groups.items():
        values = [0] * len(MEASURES)
        for lead in leads:
            values[lead.highest] += 1
        values[MEASURES.index("opp")] = sum(1 for lead in leads if lead.opportunity)
        revenue = sum((x.won_amount for x in leads if x.won_amount is not None), Decimal(0))
        values[MEASURES.index("revenue")] = int(revenue.scaleb(2))
        out[k] = cube.Tally(values)
    return out


def _key_fn(by: str) -> Callable[[LeadAsOf], str]:
    if by == "month":
        return lambda lead: lead.captured_at[:7]
    return lambda lead: getattr(lead, by) or NONE_KEY


def conversion_rates(side: SideTables, c: Cohort, by: str) -> dict[str, Any]:
    groups = _tallies(side, c, by, use_owner=True)
    rows = []
    for k in sorted(groups):
        n = groups[k].reached()
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
    empty = cube.Tally([0] * len(MEASURES))
    for k in sorted(set(groups) | set(spend)):
        tally = groups.get(k, empty)
        n = tally.reached()
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
                "opportunities": tally.at("opp"),
                "won": n[4],
                "won_revenue": _money(revenue),
                "cost_per_lead": _money(s / n[0]) if n[0] else None,
                "cost_per_conversion": _money(s / n[3]) if n[3] else None,
                "roi": float((revenue - s) / s) if s else None,
            }
        )
    query = {k: v for k, v in c.echo().items() if k != "owner"}
    return {"query": query, "by": by, "rows": rows}
