"""CONTRACT 7 answered from the funnel cube (facts.py) when `as_of` is at or after every
business time the read models hold, so that every lead is as it is now.

Whole captured months come from rm_funnel_cells (a few rows per month and key); the rest of
the window (partial months, sub-day edges) from rm_lead_facts by its `cap` index. `stuck`
subtracts the leads that reached their stage within `stuck_days` of `as_of` (a range of the
`hi_at` index); medians walk the partial index of each stage's gap up to the middle.
Answers are exact: integer microseconds throughout, as in the per-lead path.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.infra.sidetables import SideTables
from leadflow.projections.facts import MEASURES, STAGE_COUNT
from leadflow.projections.schema import table_names

NONE_KEY = "(none)"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_ANY = 10**6  # a month number beyond any bound: no bound
_FETCH_AT_MOST = 100_000
_KEY_COLUMN = {"source": "source", "campaign": "campaign", "owner": "owner", "month": "cmonth"}
_PER_LEAD = ", ".join(
    f"{expression} AS {name}"
    for expression, name in zip(
        (
            *(f"CASE WHEN hi = {h} THEN 1 ELSE 0 END" for h in range(STAGE_COUNT)),
            *(f"CASE WHEN hi = {h} AND dropped = 1 THEN 1 ELSE 0 END" for h in range(STAGE_COUNT)),
            *(f"CASE WHEN g{i} IS NOT NULL THEN 1 ELSE 0 END" for i in range(1, STAGE_COUNT)),
            "CASE WHEN opened IS NOT NULL THEN 1 ELSE 0 END",
            "COALESCE(revenue, 0)",
        ),
        MEASURES,
        strict=True,
    )
)


@dataclass
class Tally:
    """Sums of MEASURES for one key."""

    values: list[int]

    def reached(self) -> list[int]:
        by_highest = self.values[:STAGE_COUNT]
        return [sum(by_highest[i:]) for i in range(STAGE_COUNT)]

    def at(self, name: str) -> int:
        return self.values[MEASURES.index(name)]

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.at("revenue")).scaleb(-2)


def micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def applies(side: SideTables, as_of: datetime) -> bool:
    """Whether every lead is, at `as_of`, as it is now."""
    rows = side.query("SELECT MAX(last_at) FROM {rm_lead_facts}", (), table_names())
    latest = rows[0][0] if rows else None
    return latest is None or micros(as_of) >= int(latest)


def _month(value: datetime) -> int:
    return value.year * 12 + value.month - 1


def _month_start(cmonth: int) -> int:
    year, month = divmod(cmonth, 12)
    if year > datetime.max.year:  # the month after December 9999: after every time there is
        return micros(datetime.max.replace(tzinfo=UTC)) + 1
    return micros(datetime(year, month + 1, 1, tzinfo=UTC))


def _split(start: datetime | None, end: datetime | None) -> tuple[tuple[int, int], list[Any]]:
    """Whole months inside [start, end) and the leftover [lo, hi) ranges of captured time."""
    lo = None if start is None else micros(start)
    hi = None if end is None else micros(end)
    first = -_ANY if start is None else _month(start)
    if lo is not None and _month_start(first) < lo:
        first += 1
    last = _ANY if end is None else _month(end) - 1
    if first > last:
        return (1, 0), [(lo, hi)]
    edges = []
    if lo is not None and lo < _month_start(first):
        edges.append((lo, _month_start(first)))
    if hi is not None and _month_start(last + 1) < hi:
        edges.append((_month_start(last + 1), hi))
    return (first, last), edges


def _filters(c: Any, use_owner: bool) -> tuple[str, list[Any]]:
    where, params = [], []
    for column, value in (("source", c.source), ("campaign", c.campaign)):
        if value == NONE_KEY:
            where.append(f"{column} IS NULL")
        elif value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if use_owner and c.owner is not None:
        if c.owner == NONE_KEY:
            where.append("(owner IS NULL OR owner = '' OR owner = ?)")
        else:
            where.append("owner = ?")
        params.append(c.owner)
    return "".join(f" AND {w}" for w in where), params


def _window(c: Any, cap: str = "cap") -> tuple[str, list[Any]]:
    where, params = f" AND {cap} IS NOT NULL", []
    if c.from_ is not None:
        where += f" AND {cap} >= ?"
        params.append(micros(c.from_))
    if c.to is not None:
        where += f" AND {cap} < ?"
        params.append(micros(c.to))
    return where, params


def tallies(side: SideTables, c: Any, by: str | None, use_owner: bool = True) -> dict[str, Tally]:
    """MEASURES summed per key (`by` None: one key, "")."""
    (first, last), edges = _split(c.from_, c.to)
    cond, cond_params = _filters(c, use_owner)
    key = "0" if by is None else _KEY_COLUMN[by]
    parts, params = [], []
    if first <= last:
        # Unbounded months read the whole (small) table: cheaper than index lookups.
        months = [(op, v) for op, v in ((">=", first), ("<=", last)) if abs(v) != _ANY]
        parts.append(
            f"SELECT {key} AS k, {', '.join(MEASURES)} FROM {{rm_funnel_cells}} WHERE 1 = 1"
            + "".join(f" AND cmonth {op} ?" for op, _ in months)
            + cond
        )
        params += [v for _, v in months] + cond_params
    for lo, hi in edges:
        bounds = " AND ".join(b for b, v in (("cap >= ?", lo), ("cap < ?", hi)) if v is not None)
        parts.append(f"SELECT {key} AS k, {_PER_LEAD} FROM {{rm_lead_facts}} WHERE {bounds}{cond}")
        params += [v for v in (lo, hi) if v is not None] + cond_params
    sums = ", ".join(f"SUM({m}) AS {m}" for m in MEASURES)  # PostgreSQL rows are dicts
    rows = side.query(
        f"SELECT k, {sums} FROM ({' UNION ALL '.join(parts)}) x GROUP BY k",
        params,
        table_names(),
    )
    out: dict[str, Tally] = {}
    for k, *values in rows:
        name = _name(k, by)
        tally = out.setdefault(name, Tally([0] * len(MEASURES)))
        for j, v in enumerate(values):
            tally.values[j] += int(v or 0)
    return out


def _name(key: Any, by: str | None) -> str:
    if by is None:
        return ""
    if by == "month":
        return f"{int(key) // 12:04d}-{int(key) % 12 + 1:02d}"
    return str(key) if key else NONE_KEY


def not_stuck(side: SideTables, c: Any) -> list[int]:
    """Per stage: leads not dropped whose highest stage was reached within `stuck_days`."""
    cutoff = micros(c.as_of) - c.stuck_days * _DAY_US
    # `+cap`: not an index term, so that the planner takes the (short) hi_at range.
    window, window_params = _window(c, "+cap")
    cond, params = _filters(c, True)
    rows = side.query(
        "SELECT hi, COUNT(*) FROM {rm_lead_facts} WHERE hi_at >= ? AND dropped = 0"
        f"{window}{cond} GROUP BY hi",
        [cutoff, *window_params, *params],
        table_names(),
    )
    out = [0] * STAGE_COUNT
    for hi, n in rows:
        out[int(hi)] = int(n)
    return out


def median_days(side: SideTables, c: Any, stage: int, count: int) -> float | None:
    """The median gap to `stage` from the one before, over `count` leads having both."""
    if count == 0:
        return None
    window, window_params = _window(c)
    cond, params = _filters(c, True)
    rows = side.query(
        f"SELECT g{stage} FROM {{rm_lead_facts}} WHERE g{stage} IS NOT NULL{window}{cond}"
        f" ORDER BY g{stage} LIMIT 2 OFFSET ?",
        [*window_params, *params, (count - 1) // 2],
        table_names(),
    )
    middle = int(rows[0][0]) if count % 2 else int(rows[0][0]) + int(rows[1][0])
    return middle / (1 if count % 2 else 2) / _DAY_US


def medians(side: SideTables, c: Any, counts: list[int], leads: int) -> list[float | None]:
    """Median gaps of stages 1..4, given how many leads have each gap and the cohort's size.
    A small cohort's gaps are read in one pass and sorted here; a large one's are walked in
    each gap's index (no sort, but up to half the index)."""
    if leads > _FETCH_AT_MOST:
        return [median_days(side, c, i, counts[i - 1]) for i in range(1, STAGE_COUNT)]
    window, window_params = _window(c)
    cond, params = _filters(c, True)
    rows = side.query(
        f"SELECT g1, g2, g3, g4 FROM {{rm_lead_facts}} WHERE 1 = 1{window}{cond}",
        [*window_params, *params],
        table_names(),
    )
    out: list[float | None] = []
    for i in range(STAGE_COUNT - 1):
        gaps = sorted(int(r[i]) for r in rows if r[i] is not None)
        out.append(statistics.median(gaps) / _DAY_US if gaps else None)
    return out
