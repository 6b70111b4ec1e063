"""The projection consumer's batches (projections/batching.py) leave the read models as
applying every envelope on its own does: a random stream of lead events, interleaved across
leads, with re-deliveries (the relay starting again from an earlier position), in random
batch sizes, against the same stream applied one envelope at a time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadflow.infra.sidetables import SideTables
from leadflow.infra.store import Store
from leadflow.projections import schema
from leadflow.projections.batching import Batch
from leadflow.projections.handlers import apply
from leadflow.settings import DatabaseSettings
from tests.integration.projections.tables import dump

T0 = datetime(2026, 9, 1, tzinfo=UTC)
MODELS = ("rm_leads", "rm_lead_changes")


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def lead_events(rng: random.Random, lead: str) -> list[dict[str, Any]]:
    """One lead's envelopes in version order: column-only changes and handled ones mixed."""
    at = T0 + timedelta(hours=rng.randrange(1000))
    out = [("LeadCaptured", {"email": f"{lead[:8]}@x.example", "occurred_at": z(at),
                             "source": "webinar", "campaign": None})]  # fmt: skip
    for step in range(rng.randrange(3, 14)):
        at += timedelta(minutes=rng.randrange(1, 90))
        kind = rng.choices(("engaged", "qualified", "first", "assigned", "status"),
                           (8, 1, 1, 1, 1))[0]  # fmt: skip
        if kind == "engaged":
            etype = "unsubscribed" if rng.random() < 0.1 else "page_viewed"
            out.append(("EngagementRecorded", {"type": etype, "occurred_at": z(at)}))
            out.append(("LeadScored", {"score": rng.randrange(100), "occurred_at": z(at)}))
        elif kind == "qualified":
            stage = rng.choice(("MQL", "SQL"))
            out.append(("LeadQualified", {"stage": stage, "occurred_at": z(at)}))
        elif kind == "first":
            moved = {"captured_at": z(at - timedelta(days=3)),
                     "source": rng.choice(("organic", "paid")), "campaign": f"c{step}"}  # fmt: skip
            out.append(("LeadFirstTouchChanged", moved))
        elif kind == "assigned":
            out.append(("LeadAssigned", {"owner": rng.choice(("ann", "bo", None)),
                        "previous": None, "rule": None, "occurred_at": z(at)}))  # fmt: skip
        else:
            out.append(("LeadStatusChanged", {"status": rng.choice(("Working", "Nurturing")),
                        "occurred_at": z(at)}))  # fmt: skip
    return [
        {"type": kind, "aggregate_type": "Lead", "aggregate_id": lead, "aggregate_version": v,
         "occurred_at": payload.get("occurred_at", z(at)), "payload": payload}
        for v, (kind, payload) in enumerate(out, start=1)
    ]  # fmt: skip


def stream(seed: int) -> list[dict[str, Any]]:
    """Leads interleaved, each in order; then re-deliveries from earlier points, as a relay
    that starts again from a saved position publishes everything after it once more."""
    rng = random.Random(seed)
    queues = [lead_events(rng, f"{rng.getrandbits(128):032x}") for _ in range(12)]
    published: list[dict[str, Any]] = []
    while queues:
        q = rng.choice(queues)
        published.append(q.pop(0))
        if not q:
            queues.remove(q)
    out = list(published)
    for _ in range(3):
        start = rng.randrange(len(published))
        out += published[start : start + rng.randrange(1, 60)]
    return out


def side_tables(path: Path) -> tuple[Store, SideTables]:
    store = Store(DatabaseSettings(kind="sqlite", sqlite_path=path))
    schema.create(store.side)
    return store, store.side


@pytest.mark.parametrize("seed", range(12))
def test_batches_leave_what_one_at_a_time_leaves(tmp_path: Path, seed: int) -> None:
    events = stream(seed)
    names = schema.table_names()
    one_store, one = side_tables(tmp_path / "one.sqlite3")
    many_store, many = side_tables(tmp_path / "many.sqlite3")
    try:
        for env in events:
            with one.transaction(names) as tx:
                apply(tx, env)
        rng = random.Random(seed)
        i = 0
        while i < len(events):
            size = rng.choice((1, 2, 5, 17, 60, 500))
            with many.transaction(names) as tx:
                batch = Batch(tx)
                for env in events[i : i + size]:
                    batch.apply(env)
                batch.flush()
            i += size
        expected = dump(one, MODELS)
        assert expected["rm_leads"] and expected["rm_lead_changes"]
        assert dump(many, MODELS) == expected
    finally:
        one_store.close()
        many_store.close()
