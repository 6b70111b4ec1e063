"""The lead facts (projections/facts.py) and their in-memory columns (columns.py) on SQLite and
PostgreSQL: facts kept event by event (as the consumer and the catch-up do) equal the ones
derived at once from the base rows, whatever the batching and re-deliveries; columns synced
batch by batch equal columns loaded at once; the answers equal the reference for windows of
whole months, days that cut months and sub-day edges, now and in the past; and read models
from before the facts (or from the facts' earlier layout) get them derived on start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadflow.container import Leadflow
from leadflow.projections import columns as columns_module
from leadflow.projections import rebuild as rebuild_module
from leadflow.projections import schema, timelines
from leadflow.projections.asof import micros
from leadflow.projections.columns import KEYS, Columns
from leadflow.projections.facts import DATA_COLUMNS
from leadflow.projections.rebuild import rebuild
from tests.integration.projections.answers import check
from tests.integration.projections.history_driver import play
from tests.integration.projections.history_generator import (
    DAYS,
    T0,
    RandomPick,
    random_cohort,
    random_plan,
)
from tests.integration.projections.tables import diff, dump


def facts(app: Leadflow, suffix: str = "") -> dict[str, list[tuple[Any, ...]]]:
    rows = app.store.side.query(
        f"SELECT {', '.join(DATA_COLUMNS)} FROM {{rm_lead_facts}}", (), schema.table_names(suffix)
    )
    return {"rm_lead_facts": sorted((tuple(r) for r in rows), key=str)}


def numbers(app: Leadflow, suffix: str = "") -> tuple[list[int], int]:
    names = schema.table_names(suffix)
    ns = sorted(int(r[0]) for r in app.store.side.query("SELECT n FROM {rm_lead_facts}", (), names))
    (next_n,) = app.store.side.query("SELECT next_n FROM {rm_facts_clock}", (), names)[0]
    return ns, int(next_n)


@pytest.mark.parametrize("batch", [1, 7, 50])
def test_facts_kept_event_by_event_equal_facts_derived_at_once(app: Leadflow, batch: int) -> None:
    play(app, random_plan(RandomPick(31 + batch), people=(8, 14), ops=(120, 160)))
    rebuild(app.store)  # derived at once, from the rebuilt base rows
    at_once = facts(app)
    assert at_once["rm_lead_facts"]
    ns, next_n = numbers(app)
    assert ns == list(range(next_n))

    suffix = "_kept"
    schema.create(app.store.side, suffix)
    names = schema.table_names(suffix)
    types = tuple(rebuild_module.MODEL_OF)
    rebuild_module._project(app.store, names, types, 0, batch=batch)
    kept = facts(app, suffix)
    assert kept == at_once, diff(kept, at_once)
    ns, next_n = numbers(app, suffix)
    assert len(set(ns)) == len(ns) and max(ns) < next_n  # an array index per lead
    # Delivered again from the start: nothing moves.
    rebuild_module._project(app.store, names, types, 0, batch=batch + 3)
    assert facts(app, suffix) == at_once
    assert numbers(app, suffix) == (ns, next_n)
    schema.drop(app.store.side, suffix)


def _state(cols: Columns, as_of: int) -> dict[str, Any]:
    """Per lead (in the order of its facts row's number), all the columns say of it as of
    `as_of`."""
    at = cols.pos[cols.pos >= 0]  # positions by number
    owners = cols.owner_history.values_at(as_of, cols.a["owner"][: cols.size])[at]
    unq = cols.status_history.values_at(as_of, cols.a["unq"][: cols.size])[at]
    return {
        **{c: cols.a[c][at].tolist() for c in cols.a if c not in (*KEYS, "unq")},
        "source": [cols.source.names[k] for k in cols.a["source"][at]],
        "campaign": [cols.campaign.names[k] for k in cols.a["campaign"][at]],
        "owner": [cols.owner.names[k] for k in owners],
        "unq": unq.tolist(),
    }


@pytest.mark.parametrize(
    ("fold", "page", "step"), [(False, 25_000, 5), (True, 25_000, 5), (False, 2, 40)]
)
def test_columns_synced_batch_by_batch_equal_columns_loaded_at_once(
    app: Leadflow, fold: bool, page: int, step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Histories kept in the tail (leads changed since the load), or folded into the bulk at
    every sync; the rows changed in `step` events read in one page or in pages of two."""
    monkeypatch.setattr(timelines.Timeline, "_due", lambda self: fold and bool(self.tail))
    monkeypatch.setattr(columns_module, "_PAGE", page)
    play(app, random_plan(RandomPick(61), people=(10, 14), ops=(150, 180)))
    suffix = "_synced"
    schema.create(app.store.side, suffix)
    names = schema.table_names(suffix)
    monkeypatch.setattr(columns_module, "table_names", lambda: names)
    types = tuple(rebuild_module.MODEL_OF)
    recorder = app.store.app.recorder
    real = recorder.select_notifications
    synced, position, steps = Columns(), 0, 0
    while upto := [n.id for n in real(start=position + 1, limit=step)]:
        # The store as it was when its first `upto[-1]` events were stored.
        def bounded(start: int, limit: int, upto: int = upto[-1], **kw: Any) -> Any:
            return [n for n in real(start=start, limit=limit, **kw) if n.id <= upto]

        monkeypatch.setattr(recorder, "select_notifications", bounded)
        position, _ = rebuild_module._project(app.store, names, types, position)
        monkeypatch.setattr(recorder, "select_notifications", real)
        synced.sync(app.store.side)
        steps += 1
    at_once = Columns()
    at_once.sync(app.store.side)
    assert steps * step > 100 and synced.size == at_once.size > 0
    histories = len(synced.owner_history.tail) + len(synced.status_history.tail)
    assert (histories == 0) == fold
    for as_of in (T0 - timedelta(days=1), T0 + timedelta(days=DAYS // 2), datetime.now(UTC)):
        assert _state(synced, micros(as_of)) == _state(at_once, micros(as_of))
    schema.drop(app.store.side, suffix)


def test_a_sync_after_many_changes_loads_everything_again(
    app: Leadflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Columns loaded early, then more changed rows than RELOAD_AT: one full load (in pages
    of three), equal to columns loaded at once, and not a catch-up lead by lead."""
    play(app, random_plan(RandomPick(67), people=(10, 14), ops=(150, 180)))
    suffix = "_reload"
    schema.create(app.store.side, suffix)
    names = schema.table_names(suffix)
    monkeypatch.setattr(columns_module, "table_names", lambda: names)
    monkeypatch.setattr(columns_module, "RELOAD_AT", 5)
    monkeypatch.setattr(columns_module, "_PAGE", 3)
    types = tuple(rebuild_module.MODEL_OF)
    recorder = app.store.app.recorder
    real = recorder.select_notifications

    def first(start: int, limit: int, **kw: Any) -> Any:
        return [n for n in real(start=start, limit=limit, **kw) if n.id <= 10]

    monkeypatch.setattr(recorder, "select_notifications", first)
    position, _ = rebuild_module._project(app.store, names, types, 0)
    monkeypatch.setattr(recorder, "select_notifications", real)
    synced = Columns()
    synced.sync(app.store.side)
    early = synced.size
    rebuild_module._project(app.store, names, types, position)
    loads: list[int] = []
    load_all = Columns._load_all

    def counted(cols: Columns, *args: Any) -> None:
        loads.append(1)
        load_all(cols, *args)

    monkeypatch.setattr(Columns, "_load_all", counted)
    monkeypatch.setattr(Columns, "_apply", _no_lead_by_lead(Columns._apply))
    synced.sync(app.store.side)
    assert loads == [1] and 0 < early < synced.size
    at_once = Columns()
    at_once.sync(app.store.side)
    for as_of in (T0 + timedelta(days=DAYS // 2), datetime.now(UTC)):
        assert _state(synced, micros(as_of)) == _state(at_once, micros(as_of))
    schema.drop(app.store.side, suffix)


def _no_lead_by_lead(apply: Any) -> Any:
    def only_bulk(cols: Columns, rows: Any, bulk: bool = False) -> None:
        assert bulk, "caught up lead by lead"
        apply(cols, rows, bulk)

    return only_bulk


def _month_start(value: datetime) -> datetime:
    return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def test_answers_for_windows_of_months_days_and_times_now_and_before(app: Leadflow) -> None:
    ref = play(app, random_plan(RandomPick(41), people=(10, 16), ops=(150, 180)))
    rebuild(app.store)
    pick = RandomPick(42)
    m1 = _month_start(T0 + timedelta(days=40))
    m2 = _month_start(T0 + timedelta(days=200))
    windows = [
        (None, None),
        (m1, m2),  # whole months only
        (m1, None),
        (None, m2),
        (m1 + timedelta(days=3), m2 - timedelta(days=9)),  # months with days either side
        (m1 + timedelta(days=3, hours=7, microseconds=5), m2 + timedelta(hours=13)),
        (m1 + timedelta(days=2), m1 + timedelta(days=20, seconds=1)),  # within one month
    ]
    for from_, to in windows:
        for _ in range(4):
            c = random_cohort(pick)
            check(app.store.side, ref, {**c, "from_": from_, "to": to})


def test_read_models_from_before_the_facts_get_them_on_start(app: Leadflow) -> None:
    ref = play(app, random_plan(RandomPick(51), people=(8, 12), ops=(100, 120)))
    rebuild(app.store)
    before = dump(app.store.side)
    schema.drop(app.store.side, "", schema.DERIVED)
    schema.create(app.store.side)
    after = dump(app.store.side)
    assert after == before, diff(after, before)
    check(app.store.side, ref, {**random_cohort(RandomPick(52)), "as_of": datetime.now(UTC)})


def test_facts_of_the_earlier_layout_are_derived_anew_on_start(app: Leadflow) -> None:
    ref = play(app, random_plan(RandomPick(53), people=(8, 12), ops=(100, 120)))
    rebuild(app.store)
    before = dump(app.store.side)
    names = {"facts": "leadflow_rm_lead_facts", "cells": "leadflow_rm_funnel_cells"}
    with app.store.side.transaction(names) as tx:  # the layout of the cube's time
        tx.execute("DROP TABLE {facts}")
        tx.execute("CREATE TABLE {facts} (lead_id TEXT PRIMARY KEY, cap BIGINT, cell TEXT)")
        tx.execute("CREATE TABLE {cells} (cell TEXT PRIMARY KEY)")
    schema.drop(app.store.side, "", ("rm_facts_clock",))
    schema.create(app.store.side)
    assert dump(app.store.side) == before
    assert not schema.exists(app.store.side, "leadflow_rm_funnel_cells")
    check(app.store.side, ref, {**random_cohort(RandomPick(54)), "as_of": datetime.now(UTC)})
