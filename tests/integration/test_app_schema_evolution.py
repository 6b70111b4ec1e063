"""Stored events of an older schema still load (on SQLite and PostgreSQL).

`Lead.EngagementRecorded` is at class_version 2; version 1 had no `extra`. A store written
by the old code holds v1 events; loading must upcast them (extra = {}) and the lead must
come back with the right score, and go on scoring correctly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from leadflow.application.people import LEAD, PersonRef
from leadflow.config import LeadflowConfig
from leadflow.container import Leadflow, build
from leadflow.domain.engagement import Engagement
from leadflow.domain.lead import Lead
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings

TOPIC = "leadflow.domain.lead:Lead.EngagementRecorded"


def eng(event_id: str, email: str, type: str, occurred_at: str, **kw: Any) -> Engagement:
    return parse_engagement(
        {
            "event_id": event_id,
            "type": type,
            "occurred_at": occurred_at,
            "email": email,
            "source": "webinar",
            **kw,
        }
    )


def stored(app: Leadflow, lead_id: UUID) -> list[StoredEvent]:
    return list(app.store.app.recorder.select_events(lead_id))


def as_v1(event: StoredEvent) -> StoredEvent:
    state = json.loads(event.state)
    assert state.pop("class_version") == 2
    state.pop("extra")
    return StoredEvent(
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=event.topic,
        state=json.dumps(state).encode(),
    )


def test_new_engagement_events_are_stored_as_version_2_with_extra(app: Leadflow) -> None:
    out = app.engagement.record(
        [eng("v2-1", "new@acme.com", "form_submitted", "2026-09-01T00:00:00Z", utm="x")]
    )
    lead_id = UUID(out.lead_ids["v2-1"])
    (event,) = [e for e in stored(app, lead_id) if e.topic == TOPIC]
    state = json.loads(event.state)
    assert state["class_version"] == 2
    assert set(state["extra"]) == {"__pii__", "ct", "d"}  # personal data: encrypted (CONTRACT 9)
    # Loading a v2 event must not run the v1 upcaster over it (which would drop `extra`).
    loaded = [
        e for e in app.store.app.events.get(lead_id) if isinstance(e, Lead.EngagementRecorded)
    ]
    assert loaded[0].extra == {"utm": "x"}


def test_a_lead_stored_with_version_1_events_loads_and_scores(
    app: Leadflow, db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path
) -> None:
    # Write a lead's whole history as the old code did: a copy of a real stream under a new
    # id and email, its EngagementRecorded events without `extra` and `class_version`.
    template = app.engagement.record(
        [
            eng("t-1", "template@acme.com", "webinar_attended", "2026-09-01T09:00:00Z", a=1),
            eng("t-2", "template@acme.com", "demo_requested", "2026-09-02T09:00:00Z", b=2),
        ]
    )
    source_id = UUID(template.lead_ids["t-1"])
    old_id = uuid4()
    old_events: list[StoredEvent] = []
    for e in stored(app, source_id):
        state = json.loads(e.state)
        if "email" in state:
            state["email"] = "old@acme.com"
        copy = StoredEvent(
            originator_id=old_id,
            originator_version=e.originator_version,
            topic=e.topic,
            state=json.dumps(state).encode(),
        )
        old_events.append(as_v1(copy) if e.topic == TOPIC else copy)
    assert sum(e.topic == TOPIC for e in old_events) == 2
    for e in old_events:
        if e.topic == TOPIC:
            assert b"extra" not in e.state and b"class_version" not in e.state
    app.store.app.recorder.insert_events(old_events)
    app.store.side.execute(app.people.claim("old@acme.com", PersonRef(LEAD, old_id)))
    app.close()

    # A fresh process (no cached aggregates) reads the old stream.
    again = build(Settings(data_dir=tmp_path, database=db_settings), config)
    try:
        lead = again.store.get(old_id, Lead)
        assert lead.email == "old@acme.com"
        assert lead.score == 15 + 30
        assert [(b["event_id"], b["points"]) for b in lead.score_breakdown()] == [
            ("t-1", 15),
            ("t-2", 30),
        ]
        assert lead.mql_at is None
        events = [
            e for e in again.store.app.events.get(old_id) if isinstance(e, Lead.EngagementRecorded)
        ]
        assert [e.extra for e in events] == [{}, {}]

        # New engagement on the upcast lead: stored as v2, scored on top of the old touches.
        out = again.engagement.record(
            [eng("n-1", "old@acme.com", "form_submitted", "2026-09-03T09:00:00Z", c=3)]
        )
        assert (out.accepted, out.leads_captured) == (1, 0)
        lead = again.store.get(old_id, Lead)
        assert lead.score == 15 + 30 + 10
        assert lead.mql_at is not None and lead.mql_at.isoformat() == "2026-09-03T09:00:00+00:00"
        events = [
            e for e in again.store.app.events.get(old_id) if isinstance(e, Lead.EngagementRecorded)
        ]
        assert [e.extra for e in events] == [{}, {}, {"c": 3}]
        latest = [e for e in stored(again, old_id) if e.topic == TOPIC][-1]
        assert json.loads(latest.state)["class_version"] == 2
    finally:
        again.close()
