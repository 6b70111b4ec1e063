"""Scrubbing an erased person's personal data out of the read models (CONTRACT 9).

Applied by the erasure itself (same database, at once) and by the projection consumer when
`PersonErased` arrives, so read models built from the topics are scrubbed too. Counts,
times and amounts stay: only the personal columns become null. An UPDATE by id is
idempotent, so replays and re-deliveries are harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadflow.infra.sidetables import SideTables, Tx
from leadflow.projections import schema

# read model -> (id column, the PersonErased payload field listing its ids, personal columns)
PERSONAL_COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "rm_leads": ("lead_id", "lead_ids", ("email",)),
    # Only accounts named after the person are listed in the event.
    "rm_accounts": ("account_id", "account_ids", ("name",)),
}


def not_erased(value_sql: str = "?") -> str:
    """SQL for a personal value that becomes NULL when the row's id (the first parameter)
    belongs to an erased person: parameters (id, value)."""
    erased = "EXISTS (SELECT 1 FROM {rm_erased} WHERE id = ?)"
    return f"CASE WHEN {erased} THEN NULL ELSE {value_sql} END"


def scrub(
    tx: Tx, payload: Mapping[str, Any], tables: Sequence[str] = tuple(PERSONAL_COLUMNS)
) -> None:
    # Remembered first: an insert that comes later (a capture re-delivered or applied after
    # this, from another topic) then writes no personal value either.
    tx.execute(schema.ERASED_DDL)
    fields = [field for _, field, _ in PERSONAL_COLUMNS.values()] + ["contact_ids"]
    erased = sorted({str(i) for field in fields for i in payload.get(field) or ()})
    if erased:
        tx.executemany(
            "INSERT INTO {rm_erased} (id) VALUES (?) ON CONFLICT (id) DO NOTHING",
            [(i,) for i in erased],
        )
    for table in tables:
        key, listed, columns = PERSONAL_COLUMNS[table]
        ids = [str(i) for i in payload.get(listed) or ()]
        if not ids:
            continue
        assignments = ", ".join(f"{c} = NULL" for c in columns)
        tx.execute(
            f"UPDATE {{{table}}} SET {assignments} WHERE {key} IN ("
            + ",".join("?" * len(ids))
            + ")",
            ids,
        )


def on_person_erased(tx: Tx, envelope: Mapping[str, Any]) -> None:
    """The projection consumer's handler for `PersonErased`."""
    scrub(tx, envelope.get("payload") or {})


def scrub_live(side: SideTables, payload: Mapping[str, Any]) -> list[str]:
    """Scrubs the live read models that exist; returns their table names."""
    names = schema.table_names()
    present = [t for t in PERSONAL_COLUMNS if schema.exists(side, names[t])]
    if present:
        with side.transaction(names) as tx:
            scrub(tx, payload, present)
    return [names[t] for t in present]
