"""`leadflow rebuild`: read models anew from the event store, swapped in atomically.

The new tables are built beside the live ones (the API keeps answering from those), then
renamed into place in one transaction, and finally caught up with whatever was stored
meanwhile. Applying an event twice changes nothing (version guards), so the live consumer
and the catch-up may overlap safely.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from leadflow.infra.sidetables import Tx
from leadflow.infra.store import Store
from leadflow.logs import get_logger
from leadflow.projections import facts, rawread, replay, schema
from leadflow.projections.handlers import apply

log = get_logger("leadflow.rebuild")

MODEL_OF = {
    "Lead": ("rm_leads", "rm_lead_changes"),
    "Opportunity": ("rm_opportunities",),
    "Contact": ("rm_contacts",),
    "Account": ("rm_accounts",),
    "Spend": ("rm_spend",),
}
# The lead facts combine leads and opportunities: those two are rebuilt together with them.
_TOGETHER = ("Lead", "Opportunity")


def _project(
    store: Store,
    names: dict[str, str],
    aggregate_types: Sequence[str],
    start: int,
    batch: int = 10_000,
    refresh: bool = True,
) -> tuple[int, int]:
    """Applies stored events after `start`; returns (last position, events read). With
    `refresh` (live tables), the facts of the leads they touch follow in the same
    transaction; without (a build into empty tables), the facts are derived at the end."""
    position, read = start, 0
    build = None if refresh else replay.Build(store, aggregate_types)
    for rows in rawread.pages(store, start, batch, lean=build is not None):
        # The page's person keys, in one query per 500, before its transaction opens.
        rawread.prefetch_keys(store, rows, aggregate_types)
        with store.side.transaction(names) as tx:
            if build is not None:
                build.apply_page(tx, rows)
            else:
                _apply_live(tx, store, rows, aggregate_types)
        read += len(rows)
        position = rows[-1][0]
    if build is not None:
        with store.side.transaction(names) as tx:
            build.finish(tx)
    return position, read


def _apply_live(
    tx: Tx, store: Store, rows: Sequence[rawread.Row], aggregate_types: Sequence[str]
) -> None:
    wanted = [
        r for r in rows if rawread.needed(r[3], r[4]) and rawread.route(r[3])[0] in aggregate_types
    ]
    touched = set()
    for row in wanted:
        lead = apply(tx, rawread.decode(store, row))
        if lead is not None:
            touched.add(lead)
    if touched and "Lead" in aggregate_types:
        facts.refresh(tx, touched, store.side.dialect)


def rebuild(store: Store, aggregate_types: Sequence[str] = tuple(MODEL_OF)) -> dict[str, float]:
    if set(aggregate_types) & set(_TOGETHER):
        aggregate_types = tuple(dict.fromkeys([*aggregate_types, *_TOGETHER]))
    models = [m for a in aggregate_types for m in MODEL_OF[a]]
    if "Lead" in aggregate_types:
        models += schema.DERIVED
    suffix = f"_r{time.time_ns()}"
    schema.drop(store.side, suffix, models)
    schema.create(store.side, suffix, models)
    started = time.perf_counter()
    names = schema.table_names(suffix)
    position, applied = _project(store, names, aggregate_types, 0, refresh=False)
    if "Lead" in aggregate_types:
        with store.side.transaction(names) as tx:
            facts.build_all(tx)
    built = time.perf_counter() - started
    schema.create(store.side, "", models)  # the live tables exist before they are swapped
    live, new = schema.table_names(), schema.table_names(suffix)
    both = {**{f"live_{m}": live[m] for m in models}, **{f"new_{m}": new[m] for m in models}}
    # One transaction: readers see either all the old tables or all the new ones.
    with store.side.transaction(both) as tx:
        for m in models:
            tx.execute(f"ALTER TABLE {{live_{m}}} RENAME TO {live[m]}_old{suffix}")
            tx.execute(f"ALTER TABLE {{new_{m}}} RENAME TO {live[m]}")
    schema.drop(store.side, f"_old{suffix}", models)
    _, caught_up = _project(store, live, aggregate_types, position)
    log.info(
        "rebuild done", models=models, events=applied, seconds=round(built, 2), caught_up=caught_up
    )
    return {
        "events": applied,
        "seconds": built,
        "events_per_s": applied / built if built else 0.0,
        "caught_up": caught_up,
    }
