"""Per-lead facts and the funnel cube, derived from rm_leads, rm_lead_changes and
rm_opportunities in the same transaction as the rows they come from.

`rm_lead_facts` holds one row per lead as it is now (state after every known business time):
integer microsecond times, highest stage, dropped, current owner, gaps between stages.
`rm_funnel_cells` sums those rows per (captured month, source, campaign, owner), so that the
read models answer whole months from a few thousand rows (see cube.py). Facts are recomputed
from the base rows rather than patched by each handler: a lead's facts depend on events of two
aggregates (lead and opportunity) that different consumers may apply, and recomputing under a
row lock makes the last writer see both.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from leadflow.infra.sidetables import Tx

STAGE_COUNT = 5
FACT_COLUMNS = (
    "lead_id", "cap", "cmonth", "source", "campaign", "owner", "t1", "t2", "t3", "t4",
    "g1", "g2", "g3", "g4", "hi", "hi_at", "dropped", "opened", "revenue", "last_at", "cell",
)  # fmt: skip
# Per cell: leads by highest stage (n), dropped by highest stage (d), leads with both times of
# a stage gap (k), opportunities opened, won revenue in cents.
MEASURES = (
    *(f"n{h}" for h in range(STAGE_COUNT)),
    *(f"d{h}" for h in range(STAGE_COUNT)),
    *(f"k{i}" for i in range(1, STAGE_COUNT)),
    "opp",
    "revenue",
)
# Lead events that change no column facts are made of (the most frequent ones).
_NO_FACTS = frozenset({"EngagementRecorded", "LeadScored"})
_EPOCH = date(1970, 1, 1).toordinal()
_PAGE = 500
_BASE = (
    "SELECT l.lead_id, l.captured_at, l.source, l.campaign, l.mql_at, l.sql_at, l.converted_at,"
    " o.opened_at, o.outcome, o.closed_at, o.won_amount FROM {rm_leads} l"
    " LEFT JOIN {rm_opportunities} o ON o.opportunity_id = l.opportunity_id"
)
_CHANGES = "SELECT lead_id, kind, value, occurred_at FROM {rm_lead_changes}"


def us(text: str | None) -> int | None:
    """Microseconds since 1970 of a fixed-width UTC text time (handlers.ts)."""
    if text is None:
        return None
    day = date(int(text[0:4]), int(text[5:7]), int(text[8:10])).toordinal() - _EPOCH
    seconds = day * 86_400 + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    return seconds * 1_000_000 + int(text[20:26])


def cell_key(cmonth: int, source: str, campaign: str | None, owner: str | None) -> str:
    return json.dumps([cmonth, source, campaign, owner])


def compute(base: Sequence[Any], changes: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """A facts row from a base row (`_BASE`) and the lead's changes in business order."""
    lead_id, captured, source, campaign, mql, sql, conv, opened, outcome, closed, won = base
    status, owner = "New", None
    for _, kind, value, _ in changes:
        if kind == "status":
            status = value
        elif kind == "owner":
            owner = value
    cap = us(captured)
    assert cap is not None
    times = [cap, us(mql), us(sql), us(conv), us(closed) if outcome == "won" else None]
    gaps = [
        None if later is None or earlier is None else later - earlier
        for earlier, later in pairwise(times)
    ]
    hi = max(i for i, t in enumerate(times) if t is not None)
    lost = outcome == "lost" and closed is not None
    revenue = None
    if outcome == "won" and won is not None:
        # Amounts are quantized to the cent before they are stored (CONTRACT 1).
        revenue = int(Decimal(won).scaleb(2))
    others = [us(closed), us(opened), *(us(c[3]) for c in changes if c[3] > captured)]
    last_at = max([t for t in (*times, *others) if t is not None])
    cmonth = int(captured[0:4]) * 12 + int(captured[5:7]) - 1
    return (
        lead_id, cap, cmonth, source, campaign, owner, *times[1:], *gaps, hi, times[hi],
        int(status == "Unqualified" or lost), us(opened), revenue, last_at,
        cell_key(cmonth, source, campaign, owner),
    )  # fmt: skip


def contribution(fact: Sequence[Any]) -> list[int]:
    """What one facts row adds to its cell, in MEASURES order."""
    row = dict(zip(FACT_COLUMNS, fact, strict=True))
    out = [0] * len(MEASURES)
    out[row["hi"]] = 1
    if row["dropped"]:
        out[STAGE_COUNT + row["hi"]] = 1
    for i in range(1, STAGE_COUNT):
        out[2 * STAGE_COUNT + i - 1] = int(row[f"g{i}"] is not None)
    out[-2] = int(row["opened"] is not None)
    out[-1] = row["revenue"] or 0
    return out


def lead_of(tx: Tx, env: dict[str, Any]) -> str | None:
    """The lead whose facts (facts.py) an event may change."""
    kind = env.get("aggregate_type")
    if env.get("type") in _NO_FACTS:
        return None
    if kind == "Lead":
        return str(env["aggregate_id"])
    if kind == "Opportunity":
        if env.get("type") == "OpportunityOpened":
            lead = env["payload"].get("lead_id")
            return None if lead is None else str(lead)
        rows = tx.query(
            "SELECT lead_id FROM {rm_opportunities} WHERE opportunity_id = ?",
            (env["aggregate_id"],),
        )
        return rows[0][0] if rows else None
    return None


def _facts_of(tx: Tx, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    marks = "(" + ",".join("?" * len(ids)) + ")"
    base = tx.query(_BASE + f" WHERE l.lead_id IN {marks}", ids)
    changes: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for c in tx.query(
        _CHANGES + f" WHERE lead_id IN {marks} ORDER BY lead_id, occurred_at, version", ids
    ):
        changes[c[0]].append(c)
    return {row[0]: compute(row, changes[row[0]]) for row in base}


_UPSERT_FACT = (
    "INSERT INTO {rm_lead_facts} (" + ", ".join(FACT_COLUMNS) + ") VALUES ("
    + ", ".join("?" * len(FACT_COLUMNS)) + ") ON CONFLICT (lead_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS[1:])
)  # fmt: skip
_UPSERT_CELL = (
    "INSERT INTO {rm_funnel_cells} AS c (cell, cmonth, source, campaign, owner, "
    + ", ".join(MEASURES) + ") VALUES (?, ?, ?, ?, ?, " + ", ".join("?" * len(MEASURES))
    + ") ON CONFLICT (cell) DO UPDATE SET "
    + ", ".join(f"{m} = c.{m} + excluded.{m}" for m in MEASURES)
)  # fmt: skip
_PLACEHOLDER = [None] * (len(FACT_COLUMNS) - 1)


def refresh(tx: Tx, lead_ids: Iterable[str], dialect: str) -> None:
    """Recomputes the facts of these leads and moves their cell counts accordingly."""
    ids = sorted(set(lead_ids))
    deltas: dict[str, list[int]] = {}
    cells: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), _PAGE):
        page = ids[start : start + _PAGE]
        marks = "(" + ",".join("?" * len(page)) + ")"
        lock = ""
        if dialect == "postgres":
            # A row to lock even for a new lead; sorted, so that consumers never deadlock.
            tx.executemany(
                "INSERT INTO {rm_lead_facts} (lead_id) VALUES (?) ON CONFLICT DO NOTHING",
                [(i,) for i in page],
            )
            lock = " ORDER BY lead_id FOR UPDATE"
        old = tx.query(
            "SELECT " + ", ".join(FACT_COLUMNS) + " FROM {rm_lead_facts}"
            f" WHERE lead_id IN {marks}" + lock,
            page,
        )
        new = _facts_of(tx, page)
        moves = [*((f, -1) for f in old if f[1] is not None), *((f, 1) for f in new.values())]
        for fact, sign in moves:
            delta = deltas.setdefault(fact[-1], [0] * len(MEASURES))
            cells[fact[-1]] = fact[2:6]
            for j, v in enumerate(contribution(fact)):
                delta[j] += sign * v
        tx.executemany(_UPSERT_FACT, list(new.values()))
        gone = [(i, *_PLACEHOLDER) for i in page if i not in new]
        if gone:  # no lead row (yet): the lead counts nowhere
            tx.executemany(_UPSERT_FACT, gone)
    changed = sorted(k for k, d in deltas.items() if any(d))
    tx.executemany(_UPSERT_CELL, [(k, *cells[k], *deltas[k]) for k in changed])
    if changed:
        tx.executemany(
            "DELETE FROM {rm_funnel_cells} WHERE cell = ? AND n0 + n1 + n2 + n3 + n4 = 0",
            [(k,) for k in changed],
        )


def build_all(tx: Tx, page: int = 50_000) -> int:
    """Facts and cells of every lead, anew (a rebuild, or the first start with facts)."""
    tx.execute("DELETE FROM {rm_lead_facts}")
    tx.execute("DELETE FROM {rm_funnel_cells}")
    totals: dict[str, list[int]] = {}
    cells: dict[str, tuple[Any, ...]] = {}
    after, count = "", 0
    while True:
        base = tx.query(_BASE + " WHERE l.lead_id > ? ORDER BY l.lead_id LIMIT ?", (after, page))
        if not base:
            break
        last = base[-1][0]
        changes: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for c in tx.query(
            _CHANGES + " WHERE lead_id > ? AND lead_id <= ? ORDER BY lead_id, occurred_at, version",
            (after, last),
        ):
            changes[c[0]].append(c)
        facts = [compute(row, changes[row[0]]) for row in base]
        tx.executemany(_UPSERT_FACT, facts)
        for fact in facts:
            total = totals.setdefault(fact[-1], [0] * len(MEASURES))
            cells[fact[-1]] = fact[2:6]
            for j, v in enumerate(contribution(fact)):
                total[j] += v
        after, count = last, count + len(base)
    tx.executemany(_UPSERT_CELL, [(k, *cells[k], *totals[k]) for k in sorted(totals)])
    return count
