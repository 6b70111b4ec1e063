"""record_engagement triggers its two events by class (domain/lead.py): the events and the
lead's state are those the @event methods make, field for field and in the same order."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from eventsourcing.domain import decorated_func_callers

from leadflow.domain.lead import _SCORED, Lead
from leadflow.domain.scoring import evaluate
from tests.unit.domain._lead_helpers import POLICY, capture, eng


def triggered_by(method: str) -> type:
    (cls,) = [c for d, c in decorated_func_callers.items()
              if d.decorated_func.__qualname__ == f"Lead.{method}"]  # fmt: skip
    return cls


def test_the_classes_are_those_the_event_methods_trigger() -> None:
    assert triggered_by("_engagement_recorded") is Lead.EngagementRecorded
    assert triggered_by("_scored") is _SCORED


def through_methods(lead: Lead, e: Any) -> None:
    """What record_engagement did before, through the @event methods (no first-touch move
    or qualification in these engagements)."""
    points = POLICY.points_for(e.type)
    lead._engagement_recorded(event_id=e.event_id, type=e.type, occurred_at=e.occurred_at,
                              points=points, source=e.source, campaign=e.campaign,
                              person=dict(e.person), properties=dict(e.properties),
                              extra=dict(e.extra))  # fmt: skip
    result = evaluate(lead.touches, POLICY)
    lead._scored(score=result.score, points=points, event_id=e.event_id,
                 occurred_at=e.occurred_at, fit_points=result.fit_points)  # fmt: skip


def state(event: Any) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in vars(event).items() if k != "timestamp"]


def test_events_and_state_equal_the_event_methods() -> None:
    first = eng("e0", "form_submitted", 0, person={"company": "Acme", "country": "GB"})
    later = [eng("e1", "email_opened", 5, person={"job_title": "CTO"}),
             eng("e2", "page_viewed", 9)]  # fmt: skip
    a = capture(first)
    a.collect_events()
    b = deepcopy(a)
    for e in later:
        assert a.record_engagement(e, POLICY)
        through_methods(b, e)
    ours, theirs = a.collect_events(), b.collect_events()
    assert [type(x) for x in ours] == [type(x) for x in theirs]
    assert [state(x) for x in ours] == [state(x) for x in theirs]
    assert {k: v for k, v in vars(a).items() if k != "_modified_on"} == {
        k: v for k, v in vars(b).items() if k != "_modified_on"
    }
