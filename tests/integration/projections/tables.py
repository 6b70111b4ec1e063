"""Read-model tables as plain data, for comparing a live projection with a rebuild."""

from __future__ import annotations

from typing import Any

from leadflow.infra.sidetables import SideTables
from leadflow.projections.facts import DATA_COLUMNS
from leadflow.projections.schema import READ_MODELS, table_names

Dump = dict[str, list[tuple[Any, ...]]]
PATTERN = "leadflow_rm_%"  # a parameter: a literal % would need escaping for psycopg


def _order(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((v is None, str(v)) for v in row)


def dump(side: SideTables, models: tuple[str, ...] = READ_MODELS) -> Dump:
    """Every row of every read model (not the consumers' positions), sorted. Of the facts
    only what they say of the lead: their numbers and stamps depend on the order of writes."""
    names = table_names()
    out: Dump = {}
    for model in models:
        if model == "rm_facts_clock":
            continue
        columns = ", ".join(DATA_COLUMNS) if model == "rm_lead_facts" else "*"
        rows = side.query(f"SELECT {columns} FROM {{{model}}}", (), names)
        out[model] = sorted((tuple(r) for r in rows), key=_order)
    return out


def rm_tables(side: SideTables) -> set[str]:
    """Names of the read-model tables that exist (live, half-built or left over)."""
    if side.dialect == "sqlite":
        rows = side.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?", (PATTERN,)
        )
    else:
        rows = side.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
            " AND table_name LIKE ?",
            (side.schema or "public", PATTERN),
        )
    return {r[0] for r in rows}


def live_tables() -> set[str]:
    return set(table_names().values())


def diff(a: Dump, b: Dump) -> str:
    """A short account of how two dumps differ, for assertion messages."""
    lines = []
    for model in sorted(set(a) | set(b)):
        left, right = set(a.get(model, [])), set(b.get(model, []))
        if left != right or len(a.get(model, [])) != len(b.get(model, [])):
            lines.append(f"{model}: {len(a.get(model, []))} vs {len(b.get(model, []))} rows")
            lines += [f"  only left:  {r}" for r in sorted(left - right, key=_order)[:5]]
            lines += [f"  only right: {r}" for r in sorted(right - left, key=_order)[:5]]
    return "\n".join(lines)
