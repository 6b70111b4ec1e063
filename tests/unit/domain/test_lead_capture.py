"""The Lead aggregate (CONTRACT 3.1-3.3): capture, first touch, dedupe and profile."""

from __future__ import annotations

import pytest

from leadflow.domain.engagement import ENGAGEMENT_TYPES
from tests.unit.domain._lead_helpers import (
    CONTRACT_POINTS,
    EMAIL,
    POLICY,
    T0,
    at,
    capture,
    eng,
    lead_with,
    pending_names,
)

# --- capture and first touch ------------------------------------------------------------


def test_default_points_table_is_the_contract_table() -> None:
    assert dict(POLICY.points) == CONTRACT_POINTS
    assert set(ENGAGEMENT_TYPES) == set(CONTRACT_POINTS)
    assert POLICY.mql_threshold == 50
    assert POLICY.fit_rules == ()


def test_capture_from_first_engagement() -> None:
    lead = capture(eng("e1", "form_submitted", 0, source="webinar", campaign="q3"))
    assert lead.email == EMAIL
    assert lead.status == "New"
    assert lead.captured_at == T0
    assert lead.source == "webinar"
    assert lead.campaign == "q3"
    assert lead.owner is None
    assert lead.score == 10
    assert lead.mql_at is None
    assert lead.sql_at is None
    assert lead.converted_at is None
    assert lead.conversion is None
    assert lead.email_opt_out is False
    assert lead.is_open
    assert pending_names(lead) == ["LeadCaptured", "EngagementRecorded", "LeadScored"]


def test_later_event_does_not_move_first_touch() -> None:
    lead = capture(eng("e1", minutes=0, source="webinar", campaign="q3"))
    lead.collect_events()
    lead.record_engagement(eng("e2", minutes=10, source="ads", campaign="q4"), POLICY)
    assert "LeadFirstTouchChanged" not in pending_names(lead)
    assert (lead.captured_at, lead.source, lead.campaign) == (T0, "webinar", "q3")
    assert lead.first_touch_event_id == "e1"


def test_late_earlier_event_moves_first_touch() -> None:
    lead = capture(eng("e2", minutes=10, source="ads", campaign="q4"))
    lead.collect_events()
    lead.record_engagement(eng("e1", minutes=-5, source="webinar", campaign=None), POLICY)
    events = lead.collect_events()
    assert [type(e).__name__ for e in events] == [
        "EngagementRecorded",
        "LeadFirstTouchChanged",
        "LeadScored",
    ]
    moved = events[1]
    assert moved.event_id == "e1"  # type: ignore[attr-defined]
    assert moved.captured_at == at(-5)  # type: ignore[attr-defined]
    assert lead.captured_at == at(-5)
    assert lead.source == "webinar"
    assert lead.campaign is None  # the campaign follows the first touch, even when null
    assert lead.first_touch_event_id == "e1"


def test_first_touch_tie_on_time_is_broken_by_event_id() -> None:
    lead = capture(eng("b", minutes=0, source="second"))
    lead.record_engagement(eng("c", minutes=0, source="third"), POLICY)
    assert lead.source == "second"
    lead.record_engagement(eng("a", minutes=0, source="first"), POLICY)
    assert lead.source == "first"
    assert lead.first_touch_event_id == "a"
    assert lead.captured_at == T0


def test_first_touch_moves_repeatedly() -> None:
    lead = capture(eng("e3", minutes=30, source="s3"))
    lead.record_engagement(eng("e2", minutes=20, source="s2"), POLICY)
    lead.record_engagement(eng("e4", minutes=40, source="s4"), POLICY)
    lead.record_engagement(eng("e1", minutes=10, source="s1", campaign="c1"), POLICY)
    assert (lead.captured_at, lead.source, lead.campaign) == (at(10), "s1", "c1")


# --- dedupe -------------------------------------------------------------------------------


def test_same_event_id_has_effect_once() -> None:
    lead = capture(eng("e1", "form_submitted"))
    lead.collect_events()
    assert lead.has_seen("e1")
    assert lead.record_engagement(eng("e1", "form_submitted"), POLICY) is False
    assert lead.collect_events() == []
    assert lead.score == 10
    assert len(lead.score_breakdown()) == 1


def test_duplicate_with_other_payload_is_ignored_first_wins() -> None:
    lead = capture(eng("e1", "page_viewed", 5, source="web", person={"company": "First"}))
    lead.collect_events()
    again = eng("e1", "demo_requested", -60, source="ads", person={"company": "Second"})
    assert lead.record_engagement(again, POLICY) is False
    assert lead.collect_events() == []
    assert lead.score == 1
    assert lead.source == "web"
    assert lead.captured_at == at(5)
    assert lead.profile == {"company": "First"}
    assert [b["type"] for b in lead.score_breakdown()] == ["page_viewed"]


# --- profile ------------------------------------------------------------------------------


def test_profile_field_with_latest_occurred_at_wins() -> None:
    lead = lead_with(
        eng("e2", minutes=20, person={"company": "New Co", "job_title": "CTO"}),
        eng("e1", minutes=10, person={"company": "Old Co", "country": "GB"}),  # late, older
        eng("e3", minutes=30, person={"company": None, "job_title": "CEO", "phone": None}),
    )
    assert lead.profile == {"company": "New Co", "job_title": "CEO", "country": "GB"}


def test_profile_ignores_unknown_person_fields() -> None:
    lead = lead_with(eng("e1", person={"first_name": "Ada", "shoe_size": 38}))
    assert lead.profile == {"first_name": "Ada"}


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_profile_tie_on_time_same_for_every_order(order: tuple[str, str]) -> None:
    by_id = {
        "a": eng("a", minutes=5, person={"industry": "from-a"}),
        "b": eng("b", minutes=5, person={"industry": "from-b"}),
    }
    lead = lead_with(*(by_id[i] for i in order))
    assert lead.profile == {"industry": "from-b"}

