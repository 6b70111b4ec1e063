"""The Lead aggregate (CONTRACT 3.3): status, SQL (BANT), assignment and replay."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.domain.errors import (
    InvalidInput,
    QualificationRefused,
    RuleViolation,
    StatusChangeRefused,
)
from leadflow.domain.scoring import FitRule, ScoringPolicy
from tests.unit.domain._lead_helpers import (
    CONTRACT_POINTS,
    _converted_lead,
    at,
    capture,
    eng,
    lead_with,
    replayed,
)

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
