"""`leadflow rebuild`: read models anew from the event store, swapped in atomically.

The new tables are built beside the live ones (the API keeps answering from those), then
renamed into place in one transaction, and finally caught up with whatever was stored
meanwhile. Applying an event twice changes nothing (version guards), so the live consumer
and the catch-up may overlap safely.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from leadflow.infra.store import Store
from leadflow.logs import get_logger
from leadflow.producers.envelope import envelope
from leadflow.projections import schema
from leadflow.projections.handlers import PROJECTIONS

log = get_logger("leadflow.rebuild")

MODEL_OF = {
    "Lead": ("rm_leads", "rm_lead_changes"),
    "Opportunity": ("rm_opportunities",),
    "Contact": ("rm_contacts",),
    "Account": ("rm_accounts",),
    "Spend": ("rm_spend",),
}


def _needed(topic: str, state: bytes) -> bool:
    """Whether a stored event changes any read model. Most stored events are engagement
    records that only matter when they opt a lead out; skipping the rest without decoding
    them is what makes a rebuild fast. Skipping is safe: version guards only need order."""
    qualname = topic.rpartition(":")[2]
    aggregate_type, _, event_type = qualname.partition(".")
    projection = PROJECTIONS.get(aggregate_type)
    if projection is None or not (
        hasattr(projection, f"on_{event_type}") or hasattr(projection, f"set_{event_type}")
    ):
        return False
    if event_type == "EngagementRecorded":
        return b"unsubscribed" in state
    return True


def _project(
    store: Store,
    names: dict[str, str],
    aggregate_types: Sequence[str],
    start: int,
    batch: int = 5000,
) -> tuple[int, int]:
    """Applies stored events after `start`; returns (last position, events read)."""
    position, read = start, 0
    while True:
        notifications = store.app.recorder.select_notifications(start=position + 1, limit=batch)
        if not notifications:
            return position, read
        with store.side.transaction(names) as tx:
            for n in notifications:
                if not _needed(n.topic, n.state):
                    continue
                event = store.app.mapper.to_domain_event(n)
                env = envelope(event, n.id)
                projection = PROJECTIONS.get(env["aggregate_type"])
                if projection is not None and env["aggregate_type"] in aggregate_types:
                    projection.apply(tx, env)
        read += len(notifications)
        position = notifications[-1].id


def rebuild(store: Store, aggregate_types: Sequence[str] = tuple(MODEL_OF)) -> dict[str, float]:
    models = [m for a in aggregate_types for m in MODEL_OF[a]]
    suffix = f"_r{time.time_ns()}"
    schema.drop(store.side, suffix, models)
    schema.create(store.side, suffix, models)
    started = time.perf_counter()
    position, applied = _project(store, schema.table_names(suffix), aggregate_types, 0)
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
