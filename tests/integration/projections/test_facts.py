"""The lead facts and funnel cube (projections/facts.py, cube.py) on SQLite and PostgreSQL:
kept event by event (as the consumer and the catch-up do) they equal the ones derived at
once from the base rows, whatever the batching and re-deliveries; the cube's answers (as_of
now) equal the reference for windows of whole months, days that cut months and sub-day
edges; and read models from before the facts existed get them derived on start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadflow.container import Leadflow
from leadflow.projections import cube, schema
from leadflow.projections import rebuild as rebuild_module
from leadflow.projections.rebuild import rebuild
from tests.integration.projections.answers import check
from tests.integration.projections.history_driver import play
from tests.integration.projections.history_generator import (
    T0,
    RandomPick,
    random_cohort,
    random_plan,
)
from tests.integration.projections.tables import diff, dump

DERIVED = ("rm_lead_facts", "rm_funnel_cells")


def derived(app: Leadflow, suffix: str = "") -> dict[str, list[tuple[Any, ...]]]:
    names = schema.table_names(suffix)
    out = {}
    for model in DERIVED:
        rows = app.store.side.query(f"SELECT * FROM {{{model}}}", (), names)
        out[model] = sorted((tuple(r) for r in rows), key=str)
    return out


@pytest.mark.parametrize("batch", [1, 7, 50])
def test_facts_kept_event_by_event_equal_facts_derived_at_once(app: Leadflow, batch: int) -> None:
    play(app, random_plan(RandomPick(31 + batch), people=(8, 14), ops=(120, 160)))
    rebuild(app.store)  # derived at once, from the rebuilt base rows
    at_once = derived(app)
    assert at_once["rm_lead_facts"] and at_once["rm_funnel_cells"]

    suffix = "_kept"
    schema.create(app.store.side, suffix)
    names = schema.table_names(suffix)
    types = tuple(rebuild_module.MODEL_OF)
    rebuild_module._project(app.store, names, types, 0, batch=batch)
    kept = derived(app, suffix)
    assert kept == at_once, diff(kept, at_once)
    # Delivered again from the start: nothing moves.
    rebuild_module._project(app.store, names, types, 0, batch=batch + 3)
    assert derived(app, suffix) == at_once
    schema.drop(app.store.side, suffix)


def _month_start(value: datetime) -> datetime:
    return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("medians", ["walked in the gap indexes", "read and sorted"])
def test_the_cube_answers_windows_of_months_days_and_times_as_the_history_says(
    app: Leadflow, medians: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if medians.startswith("walked"):
        monkeypatch.setattr(cube, "_FETCH_AT_MOST", 0)
    ref = play(app, random_plan(RandomPick(41), people=(10, 16), ops=(150, 180)))
    rebuild(app.store)
    now = datetime.now(UTC)
    assert cube.applies(app.store.side, now)
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
            check(app.store.side, ref, {**c, "as_of": now, "from_": from_, "to": to})


def test_read_models_from_before_the_facts_get_them_on_start(app: Leadflow) -> None:
    ref = play(app, random_plan(RandomPick(51), people=(8, 12), ops=(100, 120)))
    rebuild(app.store)
    before = dump(app.store.side)
    schema.drop(app.store.side, "", DERIVED)
    schema.create(app.store.side)
    after = dump(app.store.side)
    assert after == before, diff(after, before)
    check(app.store.side, ref, {**random_cohort(RandomPick(52)), "as_of": datetime.now(UTC)})
