"""Paged lists and account roll-ups from the read models."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from leadflow.domain.errors import InvalidInput
from leadflow.infra.sidetables import SideTables
from leadflow.projections.schema import table_names

MAX_LIMIT = 500
STAGE_SQL = (
    "CASE WHEN o.outcome = 'won' THEN 'won' WHEN l.converted_at IS NOT NULL THEN 'converted'"
    " WHEN l.sql_at IS NOT NULL THEN 'sql' WHEN l.mql_at IS NOT NULL THEN 'mql'"
    " ELSE 'captured' END"
)


@dataclass(frozen=True)
class Page:
    ids: list[str]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise InvalidInput("cursor is not one this API gave out", {"cursor": cursor}) from None
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(v, str) and len(v) <= 200 for v in values)
    ):
        raise InvalidInput("cursor is not one this API gave out", {"cursor": cursor})
    return values


def check_limit(limit: int | None, default: int = 50) -> int:
    limit = default if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", {"limit": limit})
    return limit


def _eq(column: str, value: str | None, where: list[str], params: list[Any]) -> None:
    if value == "(none)":
        where.append(f"{column} IS NULL")
    elif value is not None:
        where.append(f"{column} = ?")
        params.append(value)


def _filters(pairs: Iterable[tuple[str, str | None]]) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, value in pairs:
        _eq(column, value, where, params)
    return where, params


def _fetch(
    side: SideTables,
    select: str,
    where: list[str],
    params: list[Any],
    order: str,
    size: int,
    cursor_of: Callable[[tuple[Any, ...]], list[Any]],
) -> Page:
    """One page in keyset order; one row more than asked tells whether there is a next."""
    sql = select + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} LIMIT ?"
    rows = side.query(sql, [*params, size + 1], table_names())
    more = len(rows) > size
    rows = rows[:size]
    return Page([r[0] for r in rows], encode_cursor(cursor_of(rows[-1])) if more and rows else None)


def leads_page(
    side: SideTables,
    *,
    email: str | None = None,
    status: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    size = check_limit(limit)
    where, params = _filters(
        (("l.email", email), ("l.status", status), ("l.owner", owner), ("l.source", source))
    )
    if stage is not None:
        where.append(f"{STAGE_SQL} = ?")
        params.append(stage)
    after = decode_cursor(cursor, 2)
    if after is not None:
        where.append("(l.captured_at > ? OR (l.captured_at = ? AND l.lead_id > ?))")
        params += [after[0], after[0], after[1]]
    select = (
        "SELECT l.lead_id, l.captured_at FROM {rm_leads} l LEFT JOIN {rm_opportunities} o"
        " ON o.opportunity_id = l.opportunity_id"
    )
    return _fetch(
        side, select, where, params, "l.captured_at, l.lead_id", size, lambda row: [row[1], row[0]]
    )


def contacts_page(
    side: SideTables,
    *,
    account_id: str | None = None,
    owner: str | None = None,
    country: str | None = None,
    industry: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    size = check_limit(limit)
    where, params = _filters(
        (("account_id", account_id), ("owner", owner), ("country", country), ("industry", industry))
    )
    after = decode_cursor(cursor, 1)
    if after is not None:
        where.append("contact_id > ?")
        params.append(after[0])
    return _fetch(
        side,
        "SELECT contact_id FROM {rm_contacts}",
        where,
        params,
        "contact_id",
        size,
        lambda row: [row[0]],
    )


def account_extras(side: SideTables, account_id: str) -> dict[str, Any]:
    names = table_names()
    children = [
        r[0]
        for r in side.query(
            "SELECT account_id FROM {rm_accounts} WHERE parent_id = ? ORDER BY account_id",
            (account_id,),
            names,
        )
    ]
    contacts = [
        r[0]
        for r in side.query(
            "SELECT contact_id FROM {rm_contacts} WHERE account_id = ? ORDER BY contact_id",
            (account_id,),
            names,
        )
    ]
    subtree = {account_id}
    frontier = [account_id]
    while frontier:
        found = side.query(
            "SELECT account_id FROM {rm_accounts} WHERE parent_id IN "
            + side.in_clause(len(frontier)),
            frontier,
            names,
        )
        frontier = [r[0] for r in found if r[0] not in subtree]
        subtree.update(frontier)
    ids = sorted(subtree)
    won = side.query(
        "SELECT won_amount FROM {rm_opportunities} WHERE outcome = 'won' AND account_id IN "
        + side.in_clause(len(ids)),
        ids,
        names,
    )
    revenue = sum((Decimal(r[0]) for r in won), Decimal(0))
    return {
        "children": children,
        "contacts": contacts,
        "won_revenue": str(revenue.quantize(Decimal("0.01"))),
    }
