"""Per-lead facts, derived from rm_leads, rm_lead_changes and rm_opportunities in the same
transaction as the rows they come from.

`rm_lead_facts` holds one row per lead as it is known now: integer microsecond times of every
stage, the loss, the opportunity, won revenue in cents, and the status and owner changes in
business order (`hist`), everything the read models need to take a lead as it was at any
`as_of` (columns.py keeps them in memory as arrays). Facts are recomputed from the base rows
rather than patched by each handler: a lead's facts depend on events of two aggregates (lead
and opportunity) that different consumers may apply, and recomputing under a row lock makes
the last writer see both.

Every row carries a dense number `n` (its index in the arrays) and the `stamp` of the
transaction that last wrote it, from the one-row clock table: readers load only the rows
stamped after what they hold. Writers take the clock row first, so on PostgreSQL stamps are
committed in order and a reader that saw stamp S has seen every row stamped up to S.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from leadflow.infra.sidetables import Tx

# What compute() derives; `n` and `stamp` follow in the stored row.
DATA_COLUMNS = (
    "lead_id", "cap", "source", "campaign", "owner", "t1", "t2", "t3", "t4", "lost", "unq",
    "opened", "revenue", "hist",
)  # fmt: skip
FACT_COLUMNS = (*DATA_COLUMNS, "n", "stamp")
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
_HISTORY_KINDS = {"status": "s", "owner": "o"}


def us(text: str | None) -> int | None:
    """Microseconds since 1970 of a fixed-width UTC text time (handlers.ts)."""
    if text is None:
        return None
    day = date(int(text[0:4]), int(text[5:7]), int(text[8:10])).toordinal() - _EPOCH
    seconds = day * 86_400 + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    return seconds * 1_000_000 + int(text[20:26])


def compute(base: Sequence[Any], changes: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """A facts row (DATA_COLUMNS) from a base row (`_BASE`) and the lead's changes in
    business order."""
    lead_id, captured, source, campaign, mql, sql, conv, opened, outcome, closed, won = base
    status, owner = "New", None
    hist = []
    for _, kind, value, at in changes:
        short = _HISTORY_KINDS.get(kind)
        if short is None:
            continue
        if short == "s":
            status = value
        else:
            owner = value
        hist.append([us(at), short, value])
    revenue = None
    if outcome == "won" and won is not None:
        # Amounts are quantized to the cent before they are stored (CONTRACT 1).
        revenue = int(Decimal(won).scaleb(2))
    return (
        lead_id, us(captured), source, campaign, owner, us(mql), us(sql), us(conv),
        us(closed) if outcome == "won" else None, us(closed) if outcome == "lost" else None,
        int(status == "Unqualified"), us(opened), revenue,
        json.dumps(hist, separators=(",", ":")) if hist else None,
    )  # fmt: skip


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
_PLACEHOLDER = (None,) * (len(DATA_COLUMNS) - 1)


def new_clock(tx: Tx, next_n: int = 0) -> None:
    """A new generation of numbers: readers holding arrays of the old one load anew."""
    tx.execute("DELETE FROM {rm_facts_clock}")
    tx.execute(
        "INSERT INTO {rm_facts_clock} (id, generation, stamp, next_n) VALUES (1, ?, 1, ?)",
        (uuid.uuid4().hex, next_n),
    )


def _tick(tx: Tx) -> tuple[int, int]:
    # The UPDATE comes first: on PostgreSQL it locks the row until commit (stamps in order).
    tx.execute("UPDATE {rm_facts_clock} SET stamp = stamp + 1")
    rows = tx.query("SELECT stamp, next_n FROM {rm_facts_clock}")
    if not rows:
        new_clock(tx)
        return _tick(tx)
    return int(rows[0][0]), int(rows[0][1])


def refresh(tx: Tx, lead_ids: Iterable[str], dialect: str) -> None:
    """Recomputes the facts of these leads."""
    ids = sorted(set(lead_ids))
    if not ids:
        return
    stamp, next_n = _tick(tx)
    first_n = next_n
    for start in range(0, len(ids), _PAGE):
        page = ids[start : start + _PAGE]
        marks = "(" + ",".join("?" * len(page)) + ")"
        # Sorted, so that consumers never deadlock (they hold the clock already, too).
        lock = " ORDER BY lead_id FOR UPDATE" if dialect == "postgres" else ""
        numbers = {
            lead: n
            for lead, n in tx.query(
                f"SELECT lead_id, n FROM {{rm_lead_facts}} WHERE lead_id IN {marks}" + lock,
                page,
            )
        }
        new = _facts_of(tx, page)
        rows = []
        for lead in page:
            n = numbers.get(lead)
            if n is None:
                n, next_n = next_n, next_n + 1
            # No lead row (yet): the lead counts nowhere.
            rows.append((*new.get(lead, (lead, *_PLACEHOLDER)), n, stamp))
        tx.executemany(_UPSERT_FACT, rows)
    if next_n != first_n:
        tx.execute("UPDATE {rm_facts_clock} SET next_n = ?", (next_n,))


def build_all(tx: Tx, page: int = 50_000) -> int:
    """Facts of every lead, anew (a rebuild, or the first start with facts)."""
    tx.execute("DELETE FROM {rm_lead_facts}")
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
        tx.executemany(
            _UPSERT_FACT,
            [(*compute(row, changes[row[0]]), count + i, 1) for i, row in enumerate(base)],
        )
        after, count = last, count + len(base)
    new_clock(tx, count)
    return count
