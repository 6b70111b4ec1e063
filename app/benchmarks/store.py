"""`leadflow bench store`: engagement events/s through the application, beside the raw
floor of eventsourcing saving a trivial aggregate (one event per save), same database."""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from leadflow.cli.demo import sample_engagements
from leadflow.config import load_config
from leadflow.container import build
from leadflow.infra.store import ensure_schema, eventsourcing_env
from leadflow.settings import DatabaseSettings, Settings


class Trivial(Aggregate):
    @event("Noted")
    def __init__(self, n: int) -> None:
        self.n = n


def raw_floor(db: DatabaseSettings, n: int) -> float:
    """Events/s for eventsourcing alone: one trivial aggregate (one event) per save."""
    if db.kind == "postgres" and db.schema:
        ensure_schema(db)
    env = eventsourcing_env(db)
    env.pop("APPLICATION_RECORDER_TOPIC")
    app: Application[uuid.UUID] = Application(env=env)
    try:
        started = time.perf_counter()
        for i in range(n):
            app.save(Trivial(n=i))
        return n / (time.perf_counter() - started)
    finally:
        app.close()


def leadflow_rate(db: DatabaseSettings, people: int, batch: int) -> dict[str, Any]:
    lf = build(Settings(database=db), load_config())
    try:
        engagements = sample_engagements(people, seed=11)
        # Interleave people, as real traffic does, so most events find their lead stored
        # by an earlier batch and must load it.
        random.Random(5).shuffle(engagements)
        before = lf.store.max_position()
        started = time.perf_counter()
        for i in range(0, len(engagements), batch):
            lf.engagement.record(engagements[i : i + batch])
        elapsed = time.perf_counter() - started
        stored = lf.store.max_position() - before
        return {
            "engagements": len(engagements),
            "batch": batch,
            "seconds": round(elapsed, 3),
            "engagements_per_s": len(engagements) / elapsed,
            "stored_events": stored,
            "stored_events_per_s": stored / elapsed,
        }
    finally:
        lf.close()


def run(
    databases: dict[str, Callable[[], DatabaseSettings]], people: int, batch: int, floor_n: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, make_db in databases.items():
        floor = raw_floor(make_db(), floor_n)
        measured = leadflow_rate(make_db(), people, batch)
        results[name] = {
            "raw_floor_events_per_s": floor,
            **measured,
            "ratio_engagements_to_floor": measured["engagements_per_s"] / floor,
        }
    return results


def sqlite_db() -> DatabaseSettings:
    path = Path(tempfile.mkdtemp(prefix="leadflow-bench-")) / "bench.sqlite3"
    return DatabaseSettings(kind="sqlite", sqlite_path=path)


def postgres_db(url: str) -> Callable[[], DatabaseSettings]:
    def make() -> DatabaseSettings:
        return DatabaseSettings.from_url(f"{url}?schema=bench_{uuid.uuid4().hex[:10]}", Path("."))

    return make
