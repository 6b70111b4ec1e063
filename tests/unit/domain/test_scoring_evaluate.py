"""scoring.evaluate against the rule as first written: the profile merged touch by touch with
merge_profile's stamps and every fit rule evaluated at every touch (the fast version skips
both when it may: touches in order, a profile that did not change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.domain.engagement import merge_profile
from leadflow.domain.scoring import FitRule, ScoreResult, ScoringPolicy, Touch, evaluate

POLICY = ScoringPolicy(
    points={"a": 10, "b": 25, "c": -5},
    mql_threshold=50,
    fit_rules=(
        FitRule("title", "job_title", 15, values=("VP", "1")),
        FitRule("size", "company_size", 20, min=100),
        FitRule("country", "country", 5, values=("de", "True")),
    ),
)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
values = st.one_of(
    st.none(), st.sampled_from(["VP", "vp", "CTO", "de", "fr", "True", "1"]),
    # Equal values of other types (1, 1.0, True): a fit rule reads str(value).
    st.sampled_from([0, 1, 1.0, True, False, 100, 100.0, 150]),
    st.integers(0, 300), st.floats(0, 300, allow_nan=False),
)  # fmt: skip
touches = st.lists(
    st.builds(
        lambda i, kind, minutes, person: Touch(
            event_id=f"e{i}", type=kind, occurred_at=T0 + timedelta(minutes=minutes),
            points=POLICY.points[kind], source="s", campaign=None, person=person,
        ),
        st.integers(0, 30), st.sampled_from(["a", "b", "c"]), st.integers(0, 50),
        st.dictionaries(st.sampled_from(["job_title", "company_size", "country"]), values),
    ),
    max_size=25,
)  # fmt: skip


def reference(all_touches: list[Touch]) -> ScoreResult:
    ordered = sorted(all_touches, key=lambda t: t.order_key)
    profile: dict[str, Any] = {}
    stamps: dict[str, list[str]] = {}
    points, mql_at, fit = 0, None, {}
    for touch in ordered:
        points += touch.points
        merge_profile(profile, stamps, dict(touch.person), touch.occurred_at, touch.event_id)
        fit = {r.name: r.points for r in POLICY.fit_rules if r.matches(profile)}
        if mql_at is None and points + sum(fit.values()) >= POLICY.mql_threshold:
            mql_at = touch.occurred_at
    return ScoreResult(score=points + sum(fit.values()), mql_at=mql_at, fit_points=fit)


@settings(max_examples=300, deadline=None)
@given(touches)
def test_evaluate_equals_the_rule_as_first_written(all_touches: list[Touch]) -> None:
    assert evaluate(all_touches, POLICY) == reference(all_touches)
