"""Read-model answers checked against the reference (history_reference.Reference), and
store counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from leadflow.container import Leadflow
from leadflow.projections.analytics import Cohort, conversion_rates, funnel, roi
from tests.integration.projections.history_generator import z
from tests.integration.projections.history_reference import Reference

FUNNEL_KEYS = ("stage", "count", "rate_from_previous", "rate_from_captured",
               "median_days_from_previous", "stuck", "dropped")


def same(got: Any, want: Any) -> bool:
    """Equal, floats to 1e-9 relative (the reference computes exactly, then converts)."""
    if isinstance(want, float) and isinstance(got, float | int) and not isinstance(got, bool):
        return got == pytest.approx(want, rel=1e-9, abs=1e-12)
    if isinstance(want, dict) and isinstance(got, dict):
        return set(got) >= set(want) and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    return type(got) is type(want) and got == want


def cohort_of(c: dict[str, Any]) -> Cohort:
    return Cohort(as_of=c["as_of"], from_=c["from_"], to=c["to"], source=c["source"],
                  campaign=c["campaign"], owner=c["owner"], stuck_days=c["stuck_days"])


def check(side: Any, ref: Reference, c: dict[str, Any]) -> None:
    cohort = cohort_of(c)
    got = funnel(side, cohort)
    assert got["query"]["as_of"] == z(c["as_of"])
    stages = [{k: s[k] for k in FUNNEL_KEYS} for s in got["stages"]]
    want = ref.funnel(c)
    assert same(stages, want), f"funnel for {c}:\n got {stages}\nwant {want}"
    for by in ("source", "campaign", "owner", "month"):
        answer = conversion_rates(side, cohort, by)
        assert answer["by"] == by
        rows = {r["key"]: r for r in answer["rows"]}
        assert len(rows) == len(answer["rows"]), "a key twice"
        want_rows = ref.rates(c, by)
        assert same(rows, want_rows) and set(rows) == set(want_rows), (
            f"rates by {by} for {c}:\n got {rows}\nwant {want_rows}")
    for by in ("source", "campaign"):
        answer = roi(side, cohort, by)
        assert answer["by"] == by and "owner" not in answer["query"]
        rows = {r["key"]: r for r in answer["rows"]}
        assert len(rows) == len(answer["rows"]), "a key twice"
        want_rows = ref.roi(c, by)
        assert same(rows, want_rows) and set(rows) == set(want_rows), (
            f"roi by {by} for {c}:\n got {rows}\nwant {want_rows}")


def everything(as_of: datetime) -> dict[str, Any]:
    """The cohort of every lead, as of `as_of`."""
    return {"as_of": as_of, "from_": None, "to": None, "source": None, "campaign": None,
            "owner": None, "stuck_days": 14}


def stored_events(app: Leadflow) -> int:
    """How many events the store holds (positions may have gaps, so not max_position)."""
    count, start = 0, 1
    while notes := app.store.app.recorder.select_notifications(start=start, limit=1000):
        count += len(notes)
        start = notes[-1].id + 1
    return count
