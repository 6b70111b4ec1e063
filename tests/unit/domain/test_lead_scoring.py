"""The Lead aggregate (CONTRACT 3.2-3.3): score and breakdown, MQL and fit rules."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.domain.engagement import ENGAGEMENT_TYPES
from leadflow.domain.scoring import FitRule, ScoringPolicy
from tests.unit.domain._lead_helpers import (
    CONTRACT_POINTS,
    POLICY,
    at,
    capture,
    eng,
    lead_with,
    pending_names,
)

# --- score and breakdown --------------------------------------------------------------


def test_score_is_sum_of_points_of_every_type() -> None:
    engagements = [eng(f"e{i}", t, i) for i, t in enumerate(ENGAGEMENT_TYPES)]
    lead = lead_with(*engagements)
    assert lead.score == sum(CONTRACT_POINTS.values())
    breakdown = lead.score_breakdown()
    assert [(b["event_id"], b["type"], b["points"]) for b in breakdown] == [
        (f"e{i}", t, CONTRACT_POINTS[t]) for i, t in enumerate(ENGAGEMENT_TYPES)
    ]
    assert [b["occurred_at"] for b in breakdown] == [at(i) for i in range(len(ENGAGEMENT_TYPES))]


def test_breakdown_is_in_business_time_order_whatever_the_arrival() -> None:
    lead = lead_with(eng("z", "email_opened", 3), eng("y", "email_clicked", 1), eng("x", minutes=2))
    assert [b["event_id"] for b in lead.score_breakdown()] == ["y", "x", "z"]
    assert lead.score == 5


def test_unsubscribed_is_zero_points_listed_and_sets_opt_out() -> None:
    lead = lead_with(eng("e1", "form_submitted", 0), eng("e2", "unsubscribed", 1))
    assert lead.email_opt_out is True
    assert lead.score == 10
    assert {"event_id": "e2", "type": "unsubscribed", "points": 0, "occurred_at": at(1)} in (
        lead.score_breakdown()
    )


def test_no_opt_out_without_unsubscribe() -> None:
    lead = lead_with(*(eng(f"e{i}", t, i) for i, t in enumerate(ENGAGEMENT_TYPES[:-1])))
    assert lead.email_opt_out is False


def test_lead_scored_event_carries_the_new_score() -> None:
    lead = capture(eng("e1", "demo_requested"))
    lead.collect_events()
    lead.record_engagement(eng("e2", "webinar_attended", 1), POLICY)
    scored = [e for e in lead.collect_events() if type(e).__name__ == "LeadScored"]
    assert len(scored) == 1
    assert scored[0].score == 45  # type: ignore[attr-defined]
    assert scored[0].points == 15  # type: ignore[attr-defined]
    assert scored[0].event_id == "e2"  # type: ignore[attr-defined]


# --- MQL ----------------------------------------------------------------------------------


def test_mql_at_is_the_crossing_event_time() -> None:
    lead = lead_with(
        eng("e1", "demo_requested", 0),  # 30
        eng("e2", "webinar_attended", 10),  # 45
        eng("e3", "form_submitted", 20),  # 55
        eng("e4", "demo_requested", 30),
    )
    assert lead.mql_at == at(20)
    assert lead.score == 85


def test_mql_reached_exactly_at_threshold() -> None:
    lead = lead_with(
        eng("e1", "demo_requested", 0),  # 30
        eng("e2", "form_submitted", 1),  # 40
        eng("e3", "form_submitted", 2),  # 50
    )
    assert lead.mql_at == at(2)


def test_no_mql_below_threshold() -> None:
    lead = lead_with(eng("e1", "demo_requested", 0), eng("e2", "webinar_attended", 1))
    assert lead.score == 45
    assert lead.mql_at is None
    assert "LeadQualified" not in pending_names(lead)


def test_mql_at_uses_business_order_not_arrival_order() -> None:
    lead = lead_with(
        eng("e3", "form_submitted", 20),
        eng("e2", "webinar_attended", 10),
        eng("e1", "demo_requested", 0),  # arrives last; 30+15 < 50, crossing is at e3
    )
    assert lead.mql_at == at(20)


def test_mql_tie_on_time_is_ordered_by_event_id() -> None:
    # same occurred_at: the order is by event_id, the crossing time is that shared time
    lead = lead_with(eng("b", "demo_requested", 5), eng("a", "demo_requested", 5))
    assert lead.mql_at == at(5)


def test_late_earlier_event_moves_mql_earlier() -> None:
    lead = lead_with(
        eng("e2", "demo_requested", 10),
        eng("e3", "form_submitted", 20),
        eng("e4", "form_submitted", 30),
    )
    assert lead.mql_at == at(30)
    lead.collect_events()
    lead.record_engagement(eng("e1", "demo_requested", 0), POLICY)
    events = lead.collect_events()
    qualified = [e for e in events if type(e).__name__ == "LeadQualified"]
    assert len(qualified) == 1
    assert qualified[0].stage == "MQL"  # type: ignore[attr-defined]
    assert qualified[0].corrected is True  # type: ignore[attr-defined]
    assert qualified[0].occurred_at == at(10)  # type: ignore[attr-defined]
    assert lead.mql_at == at(10)


def test_first_mql_event_is_not_a_correction() -> None:
    lead = capture(eng("e1", "demo_requested", 0))
    lead.collect_events()
    lead.record_engagement(eng("e2", "demo_requested", 1), POLICY)
    qualified = [e for e in lead.collect_events() if type(e).__name__ == "LeadQualified"]
    assert [(q.stage, q.corrected) for q in qualified] == [("MQL", False)]  # type: ignore[attr-defined]


def test_events_after_mql_do_not_requalify() -> None:
    lead = lead_with(eng("e1", "demo_requested", 0), eng("e2", "demo_requested", 1))
    lead.collect_events()
    lead.record_engagement(eng("e3", "demo_requested", 2), POLICY)
    assert "LeadQualified" not in pending_names(lead)
    assert lead.mql_at == at(1)


def test_custom_threshold() -> None:
    policy = ScoringPolicy(points=CONTRACT_POINTS, mql_threshold=3)
    lead = lead_with(
        eng("e1", "email_opened", 0),
        eng("e2", "email_opened", 1),
        eng("e3", "page_viewed", 2),
        policy=policy,
    )
    assert lead.mql_at == at(2)


def test_mql_is_never_lost_when_a_fit_rule_stops_matching() -> None:
    policy = ScoringPolicy(
        points=CONTRACT_POINTS,
        fit_rules=(FitRule("target-industry", "industry", 40, values=("software",)),),
    )
    lead = lead_with(
        eng("e1", "page_viewed", 0, person={"industry": "Software"}),  # 1 + 40
        eng("e2", "form_submitted", 10),  # 51
        policy=policy,
    )
    assert lead.mql_at == at(10)
    lead.record_engagement(eng("e3", "page_viewed", 20, person={"industry": "retail"}), policy)
    assert lead.score == 12
    assert lead.fit_points == {}
    assert lead.mql_at == at(10)


# --- fit rules ----------------------------------------------------------------------------


def test_fit_rules_add_points_and_are_explained() -> None:
    policy = ScoringPolicy(
        points=CONTRACT_POINTS,
        fit_rules=(
            FitRule("target-industry", "industry", 10, values=("software", "fintech")),
            FitRule("big-company", "company_size", 7, min=100),
            FitRule("uk", "country", 3, values=("GB",)),
        ),
    )
    lead = lead_with(
        eng("e1", "form_submitted", 0, person={"industry": " FinTech ", "company_size": 120}),
        policy=policy,
    )
    assert lead.fit_points == {"target-industry": 10, "big-company": 7}
    assert lead.score == 27
    fit_items = [b for b in lead.score_breakdown() if b["event_id"] is None]
    assert {(b["type"], b["points"]) for b in fit_items} == {
        ("fit:target-industry", 10),
        ("fit:big-company", 7),
    }
    assert sum(b["points"] for b in lead.score_breakdown()) == lead.score


def test_fit_points_count_toward_mql() -> None:
    policy = ScoringPolicy(
        points=CONTRACT_POINTS,
        fit_rules=(FitRule("big-company", "company_size", 25, min=100),),
    )
    lead = lead_with(
        eng("e1", "demo_requested", 0),  # 30
        eng("e2", "page_viewed", 5, person={"company_size": 500}),  # 31 + 25
        policy=policy,
    )
    assert lead.score == 56
    assert lead.mql_at == at(5)


@pytest.mark.parametrize(
    ("rule", "profile", "matches"),
    [
        (FitRule("r", "industry", 1, values=("Software",)), {"industry": "software"}, True),
        (FitRule("r", "industry", 1, values=("software",)), {"industry": "SOFTWARE "}, True),
        (FitRule("r", "industry", 1, values=("software",)), {"industry": "hardware"}, False),
        (FitRule("r", "industry", 1, values=("software",)), {}, False),
        (FitRule("r", "industry", 1, values=("software",)), {"industry": None}, False),
        (FitRule("r", "company_size", 1, min=100), {"company_size": 100}, True),
        (FitRule("r", "company_size", 1, min=100), {"company_size": 99}, False),
        (FitRule("r", "company_size", 1, min=100), {"company_size": 100.5}, True),
        (FitRule("r", "company_size", 1, min=100), {"company_size": "500"}, False),
        (FitRule("r", "company_size", 1, min=100), {}, False),
    ],
)
def test_fit_rule_matching(rule: FitRule, profile: dict[str, Any], matches: bool) -> None:
    assert rule.matches(profile) is matches
