"""Recording engagement and spend through the application, on SQLite and PostgreSQL.

CONTRACT 3.1 (capture, dedupe by event_id across restarts, contact activity) and 4 (spend,
replaces, duplicate ids). Real databases via the ``app`` fixture; no mocks.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from leadflow.application.commands import CommandContext
from leadflow.application.people import CONTACT, LEAD
from leadflow.config import LeadflowConfig
from leadflow.container import Leadflow, build
from leadflow.domain.contact import Contact
from leadflow.domain.engagement import Engagement
from leadflow.domain.lead import Lead
from leadflow.domain.spend import Spend, effective_spend
from leadflow.schemas import SpendIn, parse_engagement, parse_spend
from leadflow.settings import DatabaseSettings, Settings


def eng(
    event_id: str,
    email: str,
    type: str = "form_submitted",
    occurred_at: str = "2026-09-14T16:02:11+02:00",
    source: str = "webinar",
    campaign: str | None = "q3",
    **more: Any,
) -> Engagement:
    return parse_engagement(
        {
            "event_id": event_id,
            "type": type,
            "occurred_at": occurred_at,
            "email": email,
            "source": source,
            "campaign": campaign,
            **more,
        }
    )


def spend(event_id: str, amount: str, replaces: str | None = None, **more: Any) -> SpendIn:
    return parse_spend(
        {
            "event_id": event_id,
            "source": "paid_social",
            "campaign": "q3",
            "amount": amount,
            "currency": "USD",
            "period_start": "2026-09-01",
            "period_end": "2026-09-30",
            "replaces": replaces,
            **more,
        },
        "USD",
    )


def positions(app: Leadflow) -> int:
    return app.store.app.recorder.max_notification_id() or 0


def topics(app: Leadflow) -> Counter[str]:
    notes = app.store.app.recorder.select_notifications(start=1, limit=10000)
    return Counter(n.topic.rsplit(".", 1)[-1] for n in notes)


def lead_of(app: Leadflow, email: str) -> Lead:
    ref = app.people.find(email)
    assert ref is not None and ref.kind == LEAD, ref
    return app.store.get(ref.id, Lead)


def test_capture_creates_one_scored_lead_with_first_touch_and_profile(app: Leadflow) -> None:
    out = app.engagement.record(
        [
            eng(
                "mkto-1",
                " Ada.Lovelace@Example.com ",
                type="webinar_attended",
                person={"first_name": "Ada", "company": "Analytical Engines Ltd"},
                properties={"url": "https://example.com/w/42"},
                crm_hint="keep me",
            )
        ]
    )
    assert (out.accepted, out.duplicates, out.leads_captured, out.contact_activities) == (
        1,
        0,
        1,
        0,
    )
    lead = lead_of(app, "ada.lovelace@example.com")
    assert out.lead_ids == {"mkto-1": str(lead.id)}
    assert lead.email == "ada.lovelace@example.com"
    assert lead.status == "New"
    assert lead.score == 15
    assert lead.source == "webinar" and lead.campaign == "q3"
    assert lead.captured_at.isoformat() == "2026-09-14T14:02:11+00:00"
    assert lead.profile == {"first_name": "Ada", "company": "Analytical Engines Ltd"}
    assert lead.owner is None
    assert topics(app) == Counter({"LeadCaptured": 1, "EngagementRecorded": 1, "LeadScored": 1})
    # Unknown top-level fields are kept on the stored event.
    recorded = [
        e for e in app.store.app.events.get(lead.id) if isinstance(e, Lead.EngagementRecorded)
    ]
    assert recorded[0].extra == {"crm_hint": "keep me"}
    assert recorded[0].properties == {"url": "https://example.com/w/42"}


def test_same_email_any_spelling_is_one_lead_and_scores_add_up(app: Leadflow) -> None:
    app.engagement.record([eng("e1", "Bob@Acme.COM", occurred_at="2026-09-10T10:00:00Z")])
    out = app.engagement.record(
        [
            eng("e2", "  bob@acme.com", type="demo_requested", occurred_at="2026-09-11T10:00:00Z"),
            eng("e3", "BOB@ACME.COM", type="webinar_attended", occurred_at="2026-09-12T10:00:00Z"),
        ]
    )
    assert (out.accepted, out.leads_captured) == (2, 0)
    lead = lead_of(app, "bob@acme.com")
    assert lead.score == 10 + 30 + 15
    assert lead.mql_at is not None and lead.mql_at.isoformat() == "2026-09-12T10:00:00+00:00"
    assert [b["event_id"] for b in lead.score_breakdown()] == ["e1", "e2", "e3"]
    assert topics(app)["LeadCaptured"] == 1


def test_event_id_dedupe_survives_a_restart_whatever_the_payload(
    app: Leadflow, db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path
) -> None:
    app.engagement.record([eng("dup-1", "carol@acme.com", type="demo_requested")])
    lead_id = lead_of(app, "carol@acme.com").id
    before = positions(app)
    app.close()

    again = build(Settings(data_dir=tmp_path, database=db_settings), config)
    try:
        out = again.engagement.record([eng("dup-1", "carol@acme.com", type="demo_requested")])
        assert (out.accepted, out.duplicates) == (0, 1)
        # Same id, another email and type: the first one processed wins, this has no effect.
        out = again.engagement.record([eng("dup-1", "dave@other.com", type="webinar_attended")])
        assert (out.accepted, out.duplicates, out.leads_captured) == (0, 1, 0)
        assert again.people.find("dave@other.com") is None
        ref = again.people.find("carol@acme.com")
        assert ref is not None and ref.id == lead_id
        assert positions(again) == before
        lead = again.store.get(lead_id, Lead)
        assert lead.score == 30
        assert [t.event_id for t in lead.touches] == ["dup-1"]
        # A fresh id is still accepted after the restart.
        out = again.engagement.record([eng("dup-2", "carol@acme.com", type="email_opened")])
        assert out.accepted == 1
        assert again.store.get(lead_id, Lead).score == 31
    finally:
        again.close()


def test_in_batch_duplicates_have_effect_once_first_wins(app: Leadflow) -> None:
    batch = [
        eng("b1", "erin@acme.com", type="form_submitted"),
        eng("b1", "erin@acme.com", type="demo_requested"),
        eng("b2", "erin@acme.com", type="email_clicked", occurred_at="2026-09-15T00:00:00Z"),
        eng("b1", "frank@acme.com", type="webinar_attended"),
        eng("b2", "erin@acme.com", type="email_clicked", occurred_at="2026-09-15T00:00:00Z"),
    ]
    out = app.engagement.record(batch)
    assert (out.accepted, out.duplicates, out.leads_captured) == (2, 3, 1)
    lead = lead_of(app, "erin@acme.com")
    assert lead.score == 10 + 3
    assert sorted(t.event_id for t in lead.touches) == ["b1", "b2"]
    assert app.people.find("frank@acme.com") is None
    assert topics(app)["EngagementRecorded"] == 2


def test_a_replayed_batch_has_no_second_effect(app: Leadflow) -> None:
    batch = [eng(f"r{i}", f"p{i % 3}@acme.com", type="page_viewed") for i in range(9)]
    first = app.engagement.record(batch)
    assert (first.accepted, first.leads_captured) == (9, 3)
    before = positions(app)
    second = app.engagement.record(batch)
    assert (second.accepted, second.duplicates, second.leads_captured) == (0, 9, 0)
    assert positions(app) == before
    assert [lead_of(app, f"p{i}@acme.com").score for i in range(3)] == [3, 3, 3]


def test_engagement_of_a_converted_lead_is_contact_activity(app: Leadflow) -> None:
    app.engagement.record([eng("c1", "gina@acme.com", person={"company": "Acme"})])
    lead = lead_of(app, "gina@acme.com")
    answer = app.conversion.convert(lead.id, CommandContext.now())
    contact_id = answer["contact_id"]
    lead_version = app.store.get(lead.id, Lead).version
    before = topics(app)

    out = app.engagement.record(
        [
            eng("c2", " GINA@acme.com", type="demo_requested", occurred_at="2026-09-20T09:00:00Z"),
            eng("c3", "gina@acme.com", type="unsubscribed", occurred_at="2026-09-21T09:00:00Z"),
        ]
    )
    assert (out.accepted, out.leads_captured, out.contact_activities) == (2, 0, 2)
    assert out.lead_ids == {"c2": contact_id, "c3": contact_id}
    after = topics(app)
    assert after["LeadCaptured"] == before["LeadCaptured"] == 1
    assert after["LeadScored"] == before["LeadScored"]
    assert after["ContactActivityRecorded"] == 2
    lead = app.store.get(lead.id, Lead)
    assert lead.version == lead_version
    assert lead.score == 10
    contact = app.store.get(UUID(contact_id), Contact)
    assert [a["event_id"] for a in contact.activities] == ["c2", "c3"]
    assert contact.email_opt_out is True
    ref = app.people.find("gina@acme.com")
    assert ref is not None and (ref.kind, str(ref.id)) == (CONTACT, contact_id)

    # Replayed: no second activity.
    again = app.engagement.record([eng("c2", "gina@acme.com", type="demo_requested")])
    assert (again.accepted, again.duplicates) == (0, 1)
    assert len(app.store.get(UUID(contact_id), Contact).activities) == 2


def test_engagement_of_a_directly_created_contact_is_its_activity(app: Leadflow) -> None:
    made = app.contacts.create(
        "hal@initech.com", {"first_name": "Hal", "company": "Initech"}, None, CommandContext.now()
    )
    out = app.engagement.record(
        [eng("h1", "Hal@Initech.com", type="webinar_attended", person={"job_title": "CFO"})]
    )
    assert (out.accepted, out.leads_captured, out.contact_activities) == (1, 0, 1)
    assert topics(app)["LeadCaptured"] == 0
    contact = app.store.get(UUID(made["id"]), Contact)
    assert [a["type"] for a in contact.activities] == ["webinar_attended"]
    assert contact.profile["job_title"] == "CFO"


def test_one_batch_for_two_emails_of_one_contact_keeps_every_activity(
    app: Leadflow, db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path
) -> None:
    """Regression: each email's group loaded its own copy of the contact, and the second
    copy replaced the first in the unit of work, so the first email's activity was accepted
    (and marked seen) but never stored. Both ways of loading: a command's copy and the
    engagement consumer's borrowed cache entry."""
    made = app.contacts.create("ivy@acme.com", {"company": "Acme"}, None, CommandContext.now())
    contact_id = UUID(made["id"])
    out = app.engagement.record([eng("i0", "ivy.home@example.com")])
    app.conversion.convert(UUID(out.lead_ids["i0"]), CommandContext.now(), contact_id=contact_id)
    consumer = build(Settings(data_dir=tmp_path, database=db_settings), config,
                     sole_writer_cache=True)  # fmt: skip
    try:
        for lf, tag in ((app, "a"), (consumer, "b")):
            batch = [eng(f"{tag}1", "ivy@acme.com", type="email_opened"),
                     eng(f"{tag}2", "ivy.home@example.com", type="email_clicked")]  # fmt: skip
            assert lf.engagement.record(batch).contact_activities == 2
    finally:
        consumer.close()
    activities = app.store.get(contact_id, Contact).activities
    assert sorted(a["event_id"] for a in activities) == ["a1", "a2", "b1", "b2"]


def test_engagement_and_spend_ids_are_separate_namespaces(app: Leadflow) -> None:
    assert app.spend.record([spend("x-1", "10")]).accepted == 1
    assert app.engagement.record([eng("x-1", "ivy@acme.com")]).accepted == 1


def test_spend_duplicates_and_replacements(
    app: Leadflow, db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path
) -> None:
    out = app.spend.record([spend("s1", "100"), spend("s1", "999"), spend("s9", "5")])
    assert (out.accepted, out.duplicates) == (2, 1)
    assert app.store.get(Spend.create_id("s1"), Spend).amount == Decimal("100.00")
    # Amounts are kept to the cent.
    assert str(app.store.get(Spend.create_id("s9"), Spend).amount) == "5.00"

    out = app.spend.record([spend("s2", "120.50", replaces="s1"), spend("s1", "1")])
    assert (out.accepted, out.duplicates) == (1, 1)
    assert app.store.get(Spend.create_id("s1"), Spend).amount == Decimal("100.00")
    assert topics(app)["SpendRecorded"] == 3
    before = positions(app)
    app.close()

    again = build(Settings(data_dir=tmp_path, database=db_settings), config)
    try:
        out = again.spend.record([spend("s1", "7"), spend("s2", "7", replaces="s9")])
        assert (out.accepted, out.duplicates) == (0, 2)
        assert positions(again) == before
        # A restatement that arrives before what it restates still wins.
        again.spend.record([spend("s4", "40", replaces="s3")])
        again.spend.record([spend("s3", "30")])
        records = [
            again.store.get(Spend.create_id(i), Spend) for i in ("s1", "s2", "s3", "s4", "s9")
        ]
        effective = {r.event_id: r.amount for r in effective_spend(records)}
        assert effective == {
            "s2": Decimal("120.50"),
            "s4": Decimal("40.00"),
            "s9": Decimal("5.00"),
        }
        s2 = again.store.get(Spend.create_id("s2"), Spend)
        assert s2.replaces == "s1" and s2.currency == "USD"
        assert str(s2.period_start) == "2026-09-01"
    finally:
        again.close()


def test_a_late_event_that_happened_earlier_moves_the_first_touch(app: Leadflow) -> None:
    app.engagement.record(
        [eng("late-2", "kay@acme.com", occurred_at="2026-09-10T00:00:00Z", source="ads")]
    )
    lead = lead_of(app, "kay@acme.com")
    assert (lead.source, lead.captured_at.day) == ("ads", 10)
    app.engagement.record(
        [
            eng(
                "late-1",
                "kay@acme.com",
                occurred_at="2026-09-05T00:00:00Z",
                source="seo",
                campaign=None,
            )
        ]
    )
    lead = lead_of(app, "kay@acme.com")
    assert (lead.source, lead.campaign, lead.captured_at.day) == ("seo", None, 5)
    assert lead.first_touch_event_id == "late-1"
    # Within one batch too: the first touch is the smallest (occurred_at, event_id).
    app.engagement.record(
        [
            eng("z", "lou@acme.com", occurred_at="2026-09-05T00:00:00Z", source="b"),
            eng("a", "lou@acme.com", occurred_at="2026-09-05T00:00:00Z", source="a"),
        ]
    )
    assert lead_of(app, "lou@acme.com").source == "a"


def test_profile_latest_occurred_at_wins_whatever_the_arrival_order(app: Leadflow) -> None:
    app.engagement.record(
        [
            eng(
                "p2",
                "mo@acme.com",
                occurred_at="2026-09-12T00:00:00Z",
                person={"job_title": "CTO", "country": "gb"},
            ),
        ]
    )
    app.engagement.record(
        [
            eng(
                "p1",
                "mo@acme.com",
                occurred_at="2026-09-01T00:00:00Z",
                person={"job_title": "Intern", "company": "Acme"},
            ),
            eng(
                "p3",
                "mo@acme.com",
                type="unsubscribed",
                occurred_at="2026-09-13T00:00:00Z",
                person={"job_title": None, "phone": "+44 1"},
            ),
        ]
    )
    lead = lead_of(app, "mo@acme.com")
    assert lead.profile == {
        "job_title": "CTO",
        "country": "GB",
        "company": "Acme",
        "phone": "+44 1",
    }
    assert lead.email_opt_out is True
    assert [b["points"] for b in lead.score_breakdown()] == [10, 10, 0]


def test_contact_profile_keeps_latest_wins_after_conversion(app: Leadflow) -> None:
    app.engagement.record(
        [eng("q1", "ned@acme.com", occurred_at="2026-09-14T00:00:00Z", person={"job_title": "CTO"})]
    )
    answer = app.conversion.convert(lead_of(app, "ned@acme.com").id, CommandContext.now())
    app.engagement.record(
        [
            eng(
                "q0",
                "ned@acme.com",
                occurred_at="2026-09-01T00:00:00Z",
                person={"job_title": "Intern"},
            )
        ]
    )
    contact = app.store.get(UUID(answer["contact_id"]), Contact)
    assert contact.profile["job_title"] == "CTO"
