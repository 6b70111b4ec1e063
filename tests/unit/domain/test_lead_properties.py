"""Property tests of the Lead aggregate: whatever the arrival order, and with re-deliveries,
the lead is a function of the set of its distinct engagements (CONTRACT 3.1, 3.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.config import load_config
from leadflow.domain.engagement import ENGAGEMENT_TYPES, PROFILE_FIELDS, Engagement
from leadflow.domain.lead import Lead
from leadflow.domain.scoring import ScoringPolicy

POLICY = load_config().scoring_policy()
T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
EMAIL = "ada@example.com"
PROFILE_SAMPLE = ("first_name", "company", "country", "company_size", "industry")


person_values = {
    "first_name": st.sampled_from(["Ada", "Grace", None]),
    "company": st.sampled_from(["Acme", "Initech", None]),
    "country": st.sampled_from(["GB", "FR", None]),
    "company_size": st.one_of(st.none(), st.integers(min_value=0, max_value=5000)),
    "industry": st.sampled_from(["software", "retail", None]),
}
persons = st.fixed_dictionaries({}, optional=person_values)


@st.composite
def engagement_sets(draw: st.DrawFn) -> list[Engagement]:
    """Distinct engagements (unique event_ids) with many ties on time."""
    ids = draw(
        st.lists(
            st.text(alphabet="abcxyz0", min_size=1, max_size=3),
            min_size=1,
            max_size=14,
            unique=True,
        )
    )
    out = []
    for event_id in ids:
        out.append(
            Engagement(
                event_id=event_id,
                type=draw(st.sampled_from(ENGAGEMENT_TYPES)),
                occurred_at=T0 + timedelta(minutes=draw(st.integers(min_value=-8, max_value=8))),
                email=EMAIL,
                source=draw(st.sampled_from(["web", "webinar", "ads"])),
                campaign=draw(st.sampled_from([None, "q3", "q4"])),
                person=draw(persons),
            )
        )
    return out


@st.composite
def deliveries(draw: st.DrawFn, events: list[Engagement]) -> list[Engagement]:
    """The events in some order, some of them delivered again (the same record resent)."""
    order = list(draw(st.permutations(events)))
    for again in draw(st.lists(st.sampled_from(events), max_size=5)):
        order.insert(draw(st.integers(min_value=0, max_value=len(order))), again)
    return order


def drive(arrivals: list[Engagement], policy: ScoringPolicy) -> Lead:
    first = arrivals[0]
    lead = Lead(
        email=first.email,
        event_id=first.event_id,
        occurred_at=first.occurred_at,
        source=first.source,
        campaign=first.campaign,
    )
    seen: set[str] = set()
    previous_mql: datetime | None = None
    for e in arrivals:
        assert lead.record_engagement(e, policy) is (e.event_id not in seen)
        seen.add(e.event_id)
        # MQL is never lost, and only ever moves earlier
        if previous_mql is not None:
            assert lead.mql_at is not None
            assert lead.mql_at <= previous_mql
        previous_mql = lead.mql_at
    return lead


# --- reference implementations, independent of leadflow.domain.scoring ------------------


def key(e: Engagement) -> tuple[datetime, str]:
    return (e.occurred_at, e.event_id)


def reference_mql_at(
    events: list[Engagement], points: dict[str, int], threshold: int
) -> datetime | None:
    running = 0
    for e in sorted(events, key=key):
        running += points[e.type]
        if running >= threshold:
            return e.occurred_at
    return None


def reference_profile(events: list[Engagement]) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        carriers = [e for e in events if e.person.get(name) is not None]
        if carriers:
            profile[name] = max(carriers, key=key).person[name]
    return profile


# --- properties -------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_lead_is_a_function_of_its_distinct_engagements(data: st.DataObject) -> None:
    events = data.draw(engagement_sets())
    arrivals = data.draw(deliveries(events))
    lead = drive(arrivals, POLICY)
    points = dict(POLICY.points)

    assert lead.score == sum(points[e.type] for e in events)

    first = min(events, key=key)
    assert lead.captured_at == first.occurred_at
    assert lead.source == first.source
    assert lead.campaign == first.campaign
    assert lead.first_touch_event_id == first.event_id

    assert lead.mql_at == reference_mql_at(events, points, POLICY.mql_threshold)

    breakdown = lead.score_breakdown()
    assert len(breakdown) == len(events)
    assert {b["event_id"] for b in breakdown} == {e.event_id for e in events}
    by_id = {e.event_id: e for e in events}
    for b in breakdown:
        e = by_id[b["event_id"]]
        assert (b["type"], b["points"], b["occurred_at"]) == (e.type, points[e.type], e.occurred_at)
    assert [(b["occurred_at"], b["event_id"]) for b in breakdown] == sorted(map(key, events))
    assert sum(b["points"] for b in breakdown) == lead.score

    assert lead.profile == reference_profile(events)
    assert lead.email_opt_out is any(e.type == "unsubscribed" for e in events)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_every_arrival_order_gives_the_same_lead(data: st.DataObject) -> None:
    events = data.draw(engagement_sets())
    one = drive(data.draw(deliveries(events)), POLICY)
    other = drive(data.draw(deliveries(events)), POLICY)
    for attr in (
        "score",
        "mql_at",
        "captured_at",
        "source",
        "campaign",
        "profile",
        "email_opt_out",
        "seen_event_ids",
    ):
        assert getattr(one, attr) == getattr(other, attr), attr
    assert one.score_breakdown() == other.score_breakdown()


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=120))
def test_mql_crossing_for_any_threshold(data: st.DataObject, threshold: int) -> None:
    policy = ScoringPolicy(points=dict(POLICY.points), mql_threshold=threshold)
    events = data.draw(engagement_sets())
    lead = drive(data.draw(deliveries(events)), policy)
    assert lead.mql_at == reference_mql_at(events, dict(policy.points), threshold)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_replayed_events_rebuild_the_same_lead(data: st.DataObject) -> None:
    events = data.draw(engagement_sets())
    lead = drive(data.draw(deliveries(events)), POLICY)
    recorded = lead.collect_events()
    copy: Any = None
    for e in recorded:
        copy = e.mutate(copy)
    assert isinstance(copy, Lead)
    assert copy.version == lead.version
    for attr in ("score", "mql_at", "captured_at", "source", "campaign", "profile"):
        assert getattr(copy, attr) == getattr(lead, attr), attr
    names = [type(e).__name__ for e in recorded]
    assert names.count("EngagementRecorded") == len(events)
    assert names.count("LeadScored") == len(events)
    assert names.count("LeadCaptured") == 1
