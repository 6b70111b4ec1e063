"""`rebuild(store)` on SQLite and PostgreSQL: deterministic, one model alone, atomic swap
that leaves no old tables, catch-up with events stored while it builds, and the same tables
whatever the page size and however long column changes stay pending."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from leadflow.container import Leadflow
from leadflow.projections import rebuild as rebuild_module
from leadflow.projections import replay
from leadflow.projections.rebuild import rebuild
from leadflow.projections.schema import table_names
from tests.integration.projections.answers import check, everything, stored_events
from tests.integration.projections.history_driver import play
from tests.integration.projections.history_generator import (
    T0,
    RandomPick,
    random_cohort,
    random_plan,
)
from tests.integration.projections.history_reference import Reference
from tests.integration.projections.tables import diff, dump, live_tables, rm_tables

BIG = {"people": (8, 14), "ops": (120, 160)}


def populate(app: Leadflow, seed: int, tag: str = "", ref: Reference | None = None) -> Reference:
    return play(app, random_plan(RandomPick(seed), **BIG, tag=tag), ref)


def test_rebuild_twice_gives_identical_tables_and_leaves_no_old_ones(app: Leadflow) -> None:
    ref = populate(app, 7)
    first = rebuild(app.store)
    assert first["events"] == stored_events(app) and first["caught_up"] == 0
    once = dump(app.store.side)
    assert all(once[m] for m in ("rm_leads", "rm_lead_changes", "rm_contacts", "rm_spend"))
    assert rm_tables(app.store.side) == live_tables()
    rebuild(app.store)
    twice = dump(app.store.side)
    assert once == twice, diff(once, twice)
    assert rm_tables(app.store.side) == live_tables()
    # And the rebuilt tables answer as the history says, on this database too.
    for as_of in (datetime.now(UTC), T0.replace(month=6)):
        check(app.store.side, ref, everything(as_of))
    pick = RandomPick(8)
    for _ in range(10):
        check(app.store.side, ref, random_cohort(pick))


def test_rebuild_of_one_model_leaves_the_others_alone(app: Leadflow) -> None:
    populate(app, 11)
    rebuild(app.store)
    good = dump(app.store.side)
    names = table_names()
    with app.store.side.transaction(names) as tx:
        assert tx.execute("UPDATE {rm_leads} SET score = -1, status = 'Broken'") > 0
        assert tx.execute("DELETE FROM {rm_lead_changes}") > 0
        assert tx.execute("UPDATE {rm_spend} SET amount = '0.01'") > 0
        assert tx.execute("UPDATE {rm_accounts} SET name = 'broken'") > 0
    broken = dump(app.store.side)

    result = rebuild(app.store, ("Lead",))
    assert result["events"] > 0
    now = dump(app.store.side)
    assert now["rm_leads"] == good["rm_leads"] and now["rm_lead_changes"] == good["rm_lead_changes"]
    for model in ("rm_spend", "rm_accounts", "rm_contacts", "rm_opportunities"):
        assert now[model] == broken[model], model
    assert rm_tables(app.store.side) == live_tables()

    rebuild(app.store, ("Spend",))
    now = dump(app.store.side)
    assert now["rm_spend"] == good["rm_spend"] and now["rm_accounts"] == broken["rm_accounts"]
    rebuild(app.store, ("Account",))
    assert dump(app.store.side) == good
    assert rm_tables(app.store.side) == live_tables()


def test_rebuild_catches_up_with_events_stored_while_it_builds(
    app: Leadflow, monkeypatch: Any
) -> None:
    """A writer thread stores events while the new tables are built, and more after the
    build's last read and before the swap: the catch-up must apply them all."""
    ref = populate(app, 23)
    rebuild(app.store)
    built = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            populate(app, 24, tag="w1-", ref=ref)  # concurrently with the build
            built.wait(60)
            populate(app, 25, tag="w2-", ref=ref)  # after it, before the swap
        except BaseException as e:  # surfaced in the test thread
            failures.append(e)

    thread = threading.Thread(target=writer, name="writer")
    original = rebuild_module._project
    calls: list[int] = []

    def project(store: Any, names: Any, types: Any, start: int, **options: Any) -> Any:
        calls.append(start)
        if len(calls) > 1:
            return original(store, names, types, start, **options)
        thread.start()
        try:
            return original(store, names, types, start, **options)
        finally:
            built.set()
            thread.join(120)

    monkeypatch.setattr(rebuild_module, "_project", project)
    before = app.store.max_position()
    result = rebuild(app.store)
    monkeypatch.undo()
    assert not failures, failures
    assert not thread.is_alive()
    assert len(calls) == 2
    assert app.store.max_position() > before
    assert result["caught_up"] > 0, result
    assert result["events"] + result["caught_up"] == stored_events(app)
    caught_up = dump(app.store.side)
    assert rm_tables(app.store.side) == live_tables()

    rebuild(app.store)
    fresh = dump(app.store.side)
    assert caught_up == fresh, diff(caught_up, fresh)
    check(app.store.side, ref, everything(datetime.now(UTC)))


@pytest.mark.parametrize(("batch", "pending"), [(1, 0), (3, 10**9), (17, 5)])
def test_rebuild_in_small_pages_builds_the_same_tables(
    app: Leadflow, monkeypatch: Any, batch: int, pending: int
) -> None:
    """Pages as small as one event, and column changes written at every page, at the end
    only, or now and then: the tables are those of a rebuild in large pages."""
    ref = populate(app, 41)
    rebuild(app.store)
    large = dump(app.store.side)
    original = rebuild_module._project

    def project(store: Any, names: Any, types: Any, start: int, **options: Any) -> Any:
        return original(store, names, types, start, **{**options, "batch": batch})

    monkeypatch.setattr(rebuild_module, "_project", project)
    monkeypatch.setattr(replay, "_MAX_PENDING", pending)
    result = rebuild(app.store)
    assert result["events"] == stored_events(app)
    small = dump(app.store.side)
    assert small == large, diff(small, large)
    check(app.store.side, ref, everything(datetime.now(UTC)))
