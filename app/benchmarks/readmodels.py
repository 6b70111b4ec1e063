"""`leadflow bench rebuild` and `leadflow bench queries`.

rebuild: events/s of a full rebuild, beside the raw floor of reading the same events from
the store (every row read and its JSON decoded, no projecting), same run; and beside the
floor first reported, select_notifications + the mapper's to_domain_event for every event.
queries: p50/p99 of /funnel, /conversion-rates and /roi on read models holding N leads,
beside the raw floor of one full scan of the leads table, same run. The rows are written
straight into the read-model tables (and their facts derived once, as a first start does):
the figure is about the queries, not about ingest. Cohorts: everything as of now, one
source over whole months, one source over days that cut months (partly answered lead by
lead), and a past as_of (answered lead by lead).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from leadflow.benchmarks.ingest import records
from leadflow.config import load_config
from leadflow.container import build
from leadflow.infra.store import Store
from leadflow.projections import analytics, facts, rawread, schema
from leadflow.projections.rebuild import rebuild
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings


def _db() -> DatabaseSettings:
    path = Path(tempfile.mkdtemp(prefix="leadflow-bench-")) / "readmodels.sqlite3"
    return DatabaseSettings(kind="sqlite", sqlite_path=path)


def _lean_floor(store: Store) -> float:
    """Events/s of reading every stored event as a raw row and decoding its JSON: no
    objects per event, no decryption, no projecting."""
    started, read = time.perf_counter(), 0
    for rows in rawread.pages(store, 0, 10_000):
        for row in rows:
            json.loads(row[4])
        read += len(rows)
    return read / (time.perf_counter() - started)


def _notifications_floor(store: Store) -> float:
    """Events/s of the recorder's select_notifications and the mapper's to_domain_event
    (with decryption) for every stored event: the floor this bench reported first."""
    started, read, position = time.perf_counter(), 0, 0
    while batch := store.app.recorder.select_notifications(start=position + 1, limit=5000):
        for n in batch:
            store.app.mapper.to_domain_event(n)
        read += len(batch)
        position = batch[-1].id
    return read / (time.perf_counter() - started)


def _measure_rebuild(db: DatabaseSettings) -> dict[str, Any]:
    store = Store(db)
    stored = store.max_position()
    load = os.getloadavg()[0]
    result = rebuild(store)
    lean = _lean_floor(store)
    # After the rebuild, so the person keys are cached as they were for this floor when the
    # ingest's store measured it (the rebuild loaded its own).
    notifications = _notifications_floor(store)
    store.close()
    return {
        "stored_events": stored,
        "load_average_1m_before": load,
        "raw_floor_read_events_per_s": lean,
        "notifications_floor_events_per_s": notifications,
        "rebuild_events_per_s": result["events_per_s"],
        "rebuild_seconds": result["seconds"],
        "ratio_to_floor": result["events_per_s"] / lean,
        "ratio_to_notifications_floor": result["events_per_s"] / notifications,
    }


def bench_rebuild(engagements: int, people: int) -> dict[str, Any]:
    db = _db()
    lf = build(Settings(database=db), load_config(), sole_writer_cache=True)
    data = [parse_engagement(v) for _, v in records(engagements, people)]
    for i in range(0, len(data), 2000):
        lf.engagement.record(data[i : i + 2000])
    lf.close()
    # Measured as `leadflow rebuild` runs, in a process of its own: nothing cached from the
    # ingest (aggregates, person keys), and not the ingest's heap for every full garbage
    # collection to walk (that alone varied the figure by a third).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measure_rebuild, db).result()


def _fill(store: Store, leads: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    schema.create(store.side)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    names = schema.table_names()

    def t(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    for chunk in range(0, leads, 20000):
        lead_rows, change_rows, opp_rows = [], [], []
        for i in range(chunk, min(leads, chunk + 20000)):
            lid = str(uuid.UUID(int=rng.getrandbits(128)))
            captured = start + timedelta(minutes=rng.randrange(60 * 24 * 600))
            mql = captured + timedelta(days=rng.randrange(30)) if rng.random() < 0.4 else None
            sql = (
                (mql or captured) + timedelta(days=rng.randrange(20))
                if mql and rng.random() < 0.5
                else None
            )
            conv = sql + timedelta(days=rng.randrange(10)) if sql and rng.random() < 0.6 else None
            opp = str(uuid.uuid4()) if conv else None
            owner = rng.choice(("alice", "bob", "carol", None))
            lead_rows.append(
                (
                    lid,
                    5,
                    f"p{i}@x.example",
                    t(captured),
                    rng.choice(("webinar", "paid_social", "organic", "referral")),
                    f"c{rng.randrange(40)}",
                    10,
                    mql and t(mql),
                    sql and t(sql),
                    conv and t(conv),
                    None,
                    None,
                    opp,
                    "Converted" if conv else rng.choice(("New", "Working")),
                    owner,
                    0,
                )
            )
            if owner:
                change_rows.append((lid, 2, "owner", t(captured), owner))
            if opp and conv:
                won = rng.random() < 0.5
                opp_rows.append(
                    (
                        opp,
                        2,
                        lid,
                        str(uuid.uuid4()),
                        None,
                        "deal",
                        "1000.00",
                        t(conv),
                        "won" if won else None,
                        "1000.00" if won else None,
                        t(conv + timedelta(days=5)) if won else None,
                    )
                )
        with store.side.transaction(names) as tx:
            tx.executemany("INSERT INTO {rm_leads} VALUES (" + ",".join("?" * 16) + ")", lead_rows)
            tx.executemany("INSERT INTO {rm_lead_changes} VALUES (?,?,?,?,?)", change_rows)
            tx.executemany(
                "INSERT INTO {rm_opportunities} VALUES (" + ",".join("?" * 11) + ")", opp_rows
            )
    # The handlers derive these as they go; rows written directly need it done once.
    with store.side.transaction(names) as tx:
        facts.build_all(tx)


def _time(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    # Nearest rank: with few samples the p99 is the slowest one.
    rank = min(len(samples) - 1, math.ceil(len(samples) * 0.99) - 1)
    return {"p50_ms": statistics.median(samples), "p99_ms": samples[rank]}


def bench_queries(leads: int, repeat: int) -> dict[str, Any]:
    store = Store(_db())
    _fill(store, leads)
    side = store.side
    started = time.perf_counter()
    side.query("SELECT COUNT(*), MAX(captured_at) FROM {rm_leads}", (), schema.table_names())
    floor_ms = (time.perf_counter() - started) * 1000
    # "Now" is after every business time (_fill's last stage times fall in 2026-10): a
    # default as_of is the present, and business times are never in the future.
    now = datetime(2026, 12, 1, tzinfo=UTC)
    cohorts = {
        "all": analytics.Cohort(as_of=now),
        "filtered": analytics.Cohort(
            as_of=now,
            from_=datetime(2025, 6, 1, tzinfo=UTC),
            to=datetime(2025, 9, 1, tzinfo=UTC),
            source="webinar",
        ),
        "days": analytics.Cohort(
            as_of=now,
            from_=datetime(2025, 6, 10, 9, tzinfo=UTC),
            to=datetime(2025, 8, 20, tzinfo=UTC),
            source="webinar",
        ),
        "as_of": analytics.Cohort(as_of=datetime(2025, 7, 1, tzinfo=UTC)),
    }
    results: dict[str, Any] = {"leads": leads, "raw_floor_full_scan_ms": floor_ms}
    # The first query of a process loads every lead's facts into memory (columns.py); the
    # ones after it read only what changed since.
    started = time.perf_counter()
    analytics.funnel(side, cohorts["all"])
    results["first_query_loading_columns_ms"] = (time.perf_counter() - started) * 1000
    for name, c in cohorts.items():
        queries: dict[str, Callable[[], Any]] = {
            "funnel": partial(analytics.funnel, side, c),
            "rates": partial(analytics.conversion_rates, side, c, "source"),
            "roi": partial(analytics.roi, side, c, "source"),
        }
        for query, fn in queries.items():
            results[f"{query}_{name}"] = _time(fn, repeat)
    store.close()
    return results
