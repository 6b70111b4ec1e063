"""The Contact aggregate: activity (dedupe, profile, opt-out), emails, owner, relationships."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from leadflow.domain.contact import Contact
from leadflow.domain.engagement import Engagement
from leadflow.domain.errors import InvalidInput

T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def eng(
    event_id: str,
    type_: str = "page_viewed",
    minutes: float = 0,
    person: dict[str, Any] | None = None,
) -> Engagement:
    return Engagement(
        event_id=event_id,
        type=type_,
        occurred_at=at(minutes),
        email="ada@example.com",
        source="web",
        campaign="q3",
        person=person or {},
    )


def new_contact(profile: dict[str, Any] | None = None, owner: str | None = None) -> Contact:
    return Contact(
        email="ada@example.com",
        profile=profile or {"first_name": "Ada"},
        account_id=uuid4(),
        owner=owner,
        lead_id=None,
        occurred_at=T0,
        audit=None,
    )


def names(contact: Contact) -> list[str]:
    return [type(e).__name__ for e in contact.collect_events()]


def test_created_contact() -> None:
    lead_id, account_id = uuid4(), uuid4()
    contact = Contact(
        email="ada@example.com",
        profile={"first_name": "Ada", "company": "Acme"},
        account_id=account_id,
        owner="alice",
        lead_id=lead_id,
        occurred_at=T0,
        audit={"key": "k1"},
    )
    assert contact.emails == ["ada@example.com"]
    assert contact.profile == {"first_name": "Ada", "company": "Acme"}
    assert contact.account_id == account_id
    assert contact.owner == "alice"
    assert contact.lead_ids == [lead_id]
    assert contact.activities == []
    assert contact.relationships == []
    assert contact.email_opt_out is False
    assert names(contact) == ["ContactCreated"]


def test_activity_is_recorded_once_per_event_id() -> None:
    contact = new_contact()
    contact.collect_events()
    assert contact.record_activity(eng("e1", "webinar_attended", 5)) is True
    assert names(contact) == ["ContactActivityRecorded"]
    assert contact.record_activity(eng("e1", "demo_requested", 9)) is False
    assert contact.collect_events() == []
    assert contact.activities == [
        {"event_id": "e1", "type": "webinar_attended", "occurred_at": at(5)}
    ]


def test_activities_keep_every_distinct_event() -> None:
    contact = new_contact()
    for i, t in enumerate(["page_viewed", "email_opened", "page_viewed"]):
        contact.record_activity(eng(f"e{i}", t, i))
    assert [a["event_id"] for a in contact.activities] == ["e0", "e1", "e2"]


def test_activity_updates_profile_by_latest_time_ignoring_nulls() -> None:
    contact = new_contact({"first_name": "Ada"})
    contact.record_activity(eng("e2", minutes=20, person={"job_title": "CTO", "company": "New"}))
    contact.record_activity(eng("e1", minutes=10, person={"job_title": "Dev", "country": "GB"}))
    contact.record_activity(eng("e3", minutes=30, person={"company": None}))
    assert contact.profile == {
        "first_name": "Ada",
        "job_title": "CTO",
        "company": "New",
        "country": "GB",
    }


def test_unsubscribe_activity_sets_opt_out() -> None:
    contact = new_contact()
    contact.record_activity(eng("e1", "email_opened"))
    assert contact.email_opt_out is False
    contact.record_activity(eng("e2", "unsubscribed", 1))
    assert contact.email_opt_out is True


def test_add_email_once() -> None:
    contact = new_contact()
    contact.collect_events()
    lead_id = uuid4()
    contact.add_email("ada.l@other.org", lead_id, at(1))
    assert contact.emails == ["ada@example.com", "ada.l@other.org"]
    assert contact.lead_ids == [lead_id]
    assert names(contact) == ["ContactEmailAdded"]
    contact.add_email("ada.l@other.org", uuid4(), at(2))
    contact.add_email("ada@example.com", None, at(3))
    assert contact.collect_events() == []
    assert contact.emails == ["ada@example.com", "ada.l@other.org"]
    assert contact.lead_ids == [lead_id]


def test_add_email_without_lead() -> None:
    contact = new_contact()
    contact.add_email("second@example.com", None, at(1))
    assert contact.emails[-1] == "second@example.com"
    assert contact.lead_ids == []


def test_change_owner() -> None:
    contact = new_contact(owner=None)
    contact.collect_events()
    assert contact.change_owner("alice", at(1)) is True
    assert contact.owner == "alice"
    (changed,) = contact.collect_events()
    assert type(changed).__name__ == "ContactOwnerChanged"
    assert (changed.owner, changed.previous) == ("alice", None)  # type: ignore[attr-defined]
    assert contact.change_owner("alice", at(2)) is False
    assert contact.collect_events() == []
    assert contact.change_owner(None, at(3)) is True
    assert contact.owner is None


def test_relationships() -> None:
    contact = new_contact()
    other = uuid4()
    contact.collect_events()
    assert contact.relate(other, "reports_to", at(1)) is True
    assert contact.relationships == [{"to_contact_id": other, "kind": "reports_to", "since": at(1)}]
    assert names(contact) == ["ContactRelationshipAdded"]
    assert contact.relate(other, "reports_to", at(2)) is False
    assert contact.collect_events() == []
    assert contact.relate(other, "influences", at(3)) is True
    assert len(contact.relationships) == 2


def test_self_relation_is_refused() -> None:
    contact = new_contact()
    contact.collect_events()
    with pytest.raises(InvalidInput):
        contact.relate(contact.id, "colleague", at(1))
    assert contact.relationships == []
    assert contact.collect_events() == []


@pytest.mark.parametrize("kind", ["", "x" * 101])
def test_relationship_kind_length(kind: str) -> None:
    contact = new_contact()
    with pytest.raises(InvalidInput):
        contact.relate(uuid4(), kind, at(1))
    assert contact.relationships == []


def test_replay_rebuilds_contact() -> None:
    contact = new_contact()
    contact.record_activity(eng("e1", "unsubscribed", 1, person={"country": "FR"}))
    contact.add_email("b@example.com", uuid4(), at(2))
    contact.change_owner("bob", at(3))
    contact.relate(uuid4(), "colleague", at(4))
    agg: Any = None
    for e in contact.collect_events():
        agg = e.mutate(agg)
    for attr in (
        "emails",
        "profile",
        "owner",
        "lead_ids",
        "activities",
        "relationships",
        "email_opt_out",
        "seen_event_ids",
    ):
        assert getattr(agg, attr) == getattr(contact, attr), attr
