"""The Lead aggregate (CONTRACT 3.1-3.3): capture, first touch, dedupe, scoring, MQL, profile,
status, SQL, conversion and assignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from leadflow.config import load_config
from leadflow.domain.engagement import ENGAGEMENT_TYPES, Engagement
from leadflow.domain.errors import (
    ConversionRefused,
    InvalidInput,
    QualificationRefused,
    RuleViolation,
    StatusChangeRefused,
)
from leadflow.domain.lead import Lead
from leadflow.domain.scoring import FitRule, ScoringPolicy

POLICY = load_config().scoring_policy()
T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
EMAIL = "ada@example.com"

CONTRACT_POINTS = {
    "form_submitted": 10,
    "email_opened": 1,
    "email_clicked": 3,
    "page_viewed": 1,
    "pricing_page_viewed": 5,
    "content_downloaded": 5,
    "webinar_attended": 15,
    "demo_requested": 30,
    "call_logged": 5,
    "unsubscribed": 0,
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def eng(
    event_id: str,
    type_: str = "page_viewed",
    minutes: float = 0,
    source: str = "web",
    campaign: str | None = None,
    person: dict[str, Any] | None = None,
) -> Engagement:
    return Engagement(
        event_id=event_id,
        type=type_,
        occurred_at=at(minutes),
        email=EMAIL,
        source=source,
        campaign=campaign,
        person=person or {},
    )


def capture(first: Engagement, policy: ScoringPolicy = POLICY) -> Lead:
    """As the application does: the lead is captured from its first engagement."""
    lead = Lead(
        email=first.email,
        event_id=first.event_id,
        occurred_at=first.occurred_at,
        source=first.source,
        campaign=first.campaign,
    )
    assert lead.record_engagement(first, policy) is True
    return lead


def lead_with(*engagements: Engagement, policy: ScoringPolicy = POLICY) -> Lead:
    lead = capture(engagements[0], policy)
    for e in engagements[1:]:
        lead.record_engagement(e, policy)
    return lead


def pending_names(lead: Lead) -> list[str]:
    return [type(e).__name__ for e in lead.collect_events()]


def replayed(events: list[Any]) -> Lead:
    agg: Any = None
    for e in events:
        agg = e.mutate(agg)
    assert isinstance(agg, Lead)
    return agg


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


# --- status -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Working", "Nurturing", "Unqualified"])
def test_new_lead_can_be_set_to(status: str) -> None:
    lead = capture(eng("e1"))
    lead.collect_events()
    assert lead.change_status(status, "call", at(60)) is True
    assert lead.status == status
    (changed,) = lead.collect_events()
    assert type(changed).__name__ == "LeadStatusChanged"
    assert (changed.status, changed.previous, changed.reason) == (status, "New", "call")  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", ["Working", "Nurturing"])
def test_unqualified_lead_can_be_set_back(status: str) -> None:
    lead = capture(eng("e1"))
    lead.change_status("Unqualified", None, at(1))
    assert lead.change_status(status, None, at(2)) is True
    assert lead.status == status
    assert lead.is_open


@pytest.mark.parametrize(("first", "second"), [("Working", "Nurturing"), ("Nurturing", "Working")])
def test_working_and_nurturing_interchange(first: str, second: str) -> None:
    lead = capture(eng("e1"))
    lead.change_status(first, None, at(1))
    assert lead.change_status(second, None, at(2)) is True
    assert lead.status == second


@pytest.mark.parametrize("status", ["New", "Converted", "Done", "working", ""])
def test_status_that_cannot_be_set_by_command(status: str) -> None:
    lead = capture(eng("e1"))
    lead.collect_events()
    with pytest.raises(InvalidInput) as exc:
        lead.change_status(status, None, at(1))
    assert exc.value.details == {"status": status}
    assert lead.status == "New"
    assert lead.collect_events() == []


def test_setting_the_same_status_is_a_no_op() -> None:
    lead = capture(eng("e1"))
    lead.change_status("Working", None, at(1))
    lead.collect_events()
    assert lead.change_status("Working", None, at(2)) is False
    assert lead.collect_events() == []


def _converted_lead() -> Lead:
    lead = capture(eng("e1"))
    lead.convert(
        contact_id=uuid4(),
        contact_created=True,
        account_id=uuid4(),
        account_created=True,
        opportunity_id=None,
        opportunity_amount=None,
        occurred_at=at(60),
    )
    return lead


@pytest.mark.parametrize("status", ["Working", "Nurturing", "Unqualified"])
def test_converted_is_final(status: str) -> None:
    lead = _converted_lead()
    lead.collect_events()
    with pytest.raises(StatusChangeRefused) as exc:
        lead.change_status(status, None, at(90))
    assert isinstance(exc.value, RuleViolation)
    assert exc.value.details == {"lead_id": str(lead.id), "status": "Converted"}
    assert lead.status == "Converted"
    assert lead.collect_events() == []


@pytest.mark.parametrize(
    ("status", "is_open"),
    [("New", True), ("Working", True), ("Nurturing", True), ("Unqualified", False)],
)
def test_open_statuses(status: str, is_open: bool) -> None:
    lead = capture(eng("e1"))
    if status != "New":
        lead.change_status(status, None, at(1))
    assert lead.is_open is is_open
    assert _converted_lead().is_open is False


# --- SQL (BANT) ---------------------------------------------------------------------------

BANT_TRUE3 = {"budget": True, "authority": True, "need": True, "timeline": False}


@pytest.mark.parametrize(
    "bant",
    [
        BANT_TRUE3,
        {"budget": False, "authority": True, "need": True, "timeline": True},
        {"budget": True, "authority": True, "need": True, "timeline": True},
    ],
)
def test_three_or_more_true_answers_make_sql_at_command_time(bant: dict[str, bool]) -> None:
    lead = capture(eng("e1", "page_viewed", 0))  # 1 point: SQL without MQL is allowed
    lead.collect_events()
    assert lead.qualify(bant, "good call", at(120)) is True
    assert lead.sql_at == at(120)
    assert lead.mql_at is None
    (qualified,) = lead.collect_events()
    assert type(qualified).__name__ == "LeadQualified"
    assert qualified.stage == "SQL"  # type: ignore[attr-defined]
    assert qualified.bant == bant  # type: ignore[attr-defined]
    assert qualified.notes == "good call"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("bant", "yes"),
    [
        ({"budget": True, "authority": True, "need": False, "timeline": False}, 2),
        ({"budget": False, "authority": False, "need": False, "timeline": True}, 1),
        ({"budget": False, "authority": False, "need": False, "timeline": False}, 0),
    ],
)
def test_fewer_than_three_true_answers_are_refused(bant: dict[str, bool], yes: int) -> None:
    lead = capture(eng("e1"))
    lead.collect_events()
    with pytest.raises(QualificationRefused) as exc:
        lead.qualify(bant, None, at(120))
    assert exc.value.details == {"lead_id": str(lead.id), "true_answers": yes}
    assert lead.sql_at is None
    assert lead.collect_events() == []


@pytest.mark.parametrize(
    "bant",
    [
        {"budget": True, "authority": True, "need": True},
        {"budget": True, "authority": True, "need": True, "timeline": "yes"},
        {"budget": 1, "authority": True, "need": True, "timeline": True},
        {},
    ],
)
def test_bant_answers_must_be_booleans(bant: dict[str, Any]) -> None:
    lead = capture(eng("e1"))
    lead.collect_events()
    with pytest.raises(InvalidInput):
        lead.qualify(bant, None, at(120))
    assert lead.collect_events() == []


def test_qualifying_twice_keeps_the_first_sql_time() -> None:
    lead = capture(eng("e1"))
    lead.qualify(BANT_TRUE3, None, at(100))
    lead.collect_events()
    assert lead.qualify(BANT_TRUE3, None, at(200)) is False
    assert lead.sql_at == at(100)
    assert lead.collect_events() == []


def test_converted_lead_cannot_be_qualified() -> None:
    lead = _converted_lead()
    with pytest.raises(QualificationRefused):
        lead.qualify(BANT_TRUE3, None, at(120))


# --- conversion ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["New", "Working", "Nurturing"])
def test_conversion(status: str) -> None:
    lead = capture(eng("e1", source="webinar", campaign="q3"))
    if status != "New":
        lead.change_status(status, None, at(1))
    lead.assign("alice", at(2))
    lead.collect_events()
    contact_id, account_id, opportunity_id = uuid4(), uuid4(), uuid4()
    lead.convert(
        contact_id=contact_id,
        contact_created=True,
        account_id=account_id,
        account_created=False,
        opportunity_id=opportunity_id,
        opportunity_amount=Decimal("1250.00"),
        occurred_at=at(60),
    )
    assert lead.status == "Converted"
    assert lead.converted_at == at(60)
    assert lead.conversion == {
        "contact_id": contact_id,
        "account_id": account_id,
        "opportunity_id": opportunity_id,
    }
    (converted,) = lead.collect_events()
    assert type(converted).__name__ == "LeadConverted"
    payload = {
        k: getattr(converted, k)
        for k in (
            "email",
            "contact_id",
            "contact_created",
            "account_id",
            "account_created",
            "opportunity_id",
            "opportunity_amount",
            "owner",
            "source",
            "campaign",
            "converted_at",
        )
    }
    assert payload == {
        "email": EMAIL,
        "contact_id": contact_id,
        "contact_created": True,
        "account_id": account_id,
        "account_created": False,
        "opportunity_id": opportunity_id,
        "opportunity_amount": Decimal("1250.00"),
        "owner": "alice",
        "source": "webinar",
        "campaign": "q3",
        "converted_at": at(60),
    }


def test_unqualified_lead_cannot_be_converted() -> None:
    lead = capture(eng("e1"))
    lead.change_status("Unqualified", None, at(1))
    lead.collect_events()
    with pytest.raises(ConversionRefused) as exc:
        lead.convert(
            contact_id=uuid4(),
            contact_created=True,
            account_id=uuid4(),
            account_created=True,
            opportunity_id=None,
            opportunity_amount=None,
            occurred_at=at(60),
        )
    assert exc.value.details["lead_id"] == str(lead.id)
    assert lead.status == "Unqualified"
    assert lead.conversion is None
    assert lead.collect_events() == []


def test_second_conversion_is_refused_naming_existing_ids() -> None:
    lead = capture(eng("e1"))
    contact_id, account_id = uuid4(), uuid4()
    lead.convert(
        contact_id=contact_id,
        contact_created=True,
        account_id=account_id,
        account_created=True,
        opportunity_id=None,
        opportunity_amount=None,
        occurred_at=at(60),
    )
    lead.collect_events()
    with pytest.raises(ConversionRefused) as exc:
        lead.check_convertible()
    assert exc.value.details == {
        "lead_id": str(lead.id),
        "contact_id": str(contact_id),
        "account_id": str(account_id),
        "opportunity_id": None,
    }
    with pytest.raises(ConversionRefused):
        lead.convert(
            contact_id=uuid4(),
            contact_created=False,
            account_id=uuid4(),
            account_created=False,
            opportunity_id=uuid4(),
            opportunity_amount=Decimal("1"),
            occurred_at=at(90),
        )
    assert lead.conversion is not None
    assert lead.conversion["contact_id"] == contact_id
    assert lead.converted_at == at(60)
    assert lead.collect_events() == []


def test_engagement_after_conversion_still_has_effect_once() -> None:
    lead = _converted_lead()
    assert lead.record_engagement(eng("e1"), POLICY) is False


# --- assignment ---------------------------------------------------------------------------


def test_assign_and_reassign() -> None:
    lead = capture(eng("e1"))
    lead.collect_events()
    assert lead.assign("alice", at(1), queue="emea", rule="uk") is True
    assert lead.owner == "alice"
    (assigned,) = lead.collect_events()
    assert type(assigned).__name__ == "LeadAssigned"
    assert (assigned.owner, assigned.previous, assigned.queue, assigned.rule) == (  # type: ignore[attr-defined]
        "alice",
        None,
        "emea",
        "uk",
    )
    assert lead.assign("alice", at(2)) is False
    assert lead.collect_events() == []
    assert lead.assign("bob", at(3)) is True
    assert lead.owner == "bob"
    assert lead.assign(None, at(4)) is True
    assert lead.owner is None


# --- replay -------------------------------------------------------------------------------


def test_replaying_the_events_rebuilds_the_same_lead() -> None:
    policy = ScoringPolicy(
        points=CONTRACT_POINTS,
        fit_rules=(FitRule("sw", "industry", 5, values=("software",)),),
    )
    lead = lead_with(
        eng("e3", "form_submitted", 30, source="ads", person={"industry": "software"}),
        eng("e1", "demo_requested", 10, source="webinar", campaign="q3"),
        eng("e2", "unsubscribed", 20, person={"company": "Acme"}),
        eng("e4", "webinar_attended", 40),
        policy=policy,
    )
    lead.assign("alice", at(50))
    lead.change_status("Working", None, at(51))
    lead.qualify(BANT_TRUE3, None, at(52))
    events = lead.collect_events()
    copy = replayed(events)
    assert copy.id == lead.id
    assert copy.version == lead.version == len(events)
    for attr in (
        "email",
        "status",
        "owner",
        "score",
        "captured_at",
        "source",
        "campaign",
        "mql_at",
        "sql_at",
        "profile",
        "email_opt_out",
        "fit_points",
        "seen_event_ids",
    ):
        assert getattr(copy, attr) == getattr(lead, attr), attr
    assert copy.score_breakdown() == lead.score_breakdown()
    assert lead.mql_at == at(40)  # 30 + 0 + (10 + 5 fit) = 45, then + 15
    assert lead.captured_at == at(10)
