"""The relay's direct decoding (producers/stored.py) against the mapper: for every stored
event of a varied history, the record made straight from the stored JSON is the one made from
the decoded domain event, byte for byte; events it cannot read exactly go through the mapper."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from leadflow.application.commands import CommandContext
from leadflow.container import Leadflow
from leadflow.domain.lead import Lead
from leadflow.producers.envelope import _EVENT_NS, event_id, outbound
from leadflow.producers.stored import direct, outbound_stored
from leadflow.schemas import parse_engagement, parse_spend

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def ctx(key: str | None = None) -> CommandContext:
    return CommandContext(occurred_at=AT, actor="tester", idempotency_key=key, scope="test")


def engage(app: Leadflow, event_id: str, email: str, minutes: int, **over: Any) -> UUID:
    record = {
        "event_id": event_id, "type": "demo_requested", "email": email, "source": "webinar",
        "campaign": "spring", "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }  # fmt: skip
    record.update(over)
    (lead_id,) = app.engagement.record([parse_engagement(record)]).lead_ids.values()
    return UUID(lead_id)


def history(app: Leadflow) -> None:
    ada = engage(app, "a1", "ada@analytical.example", 0,
                 person={"first_name": "Ada", "phone": "+44 20 7946 0999", "country": "GB"},
                 properties={"url": "https://example.com/x"}, note="kept as extra")  # fmt: skip
    engage(app, "a2", "ada@analytical.example", 30, type="webinar_attended",
           person={"company": "Engines Ltd", "country": "GB"})  # fmt: skip
    # Not UTC and not on a whole second: the envelope's text comes from parsing it.
    engage(app, "b1", "bo@acme.example", 10, type="email_opened",
           occurred_at="2026-03-02T11:10:00.250000+02:00", campaign=None)  # fmt: skip
    engage(app, "b2", "bo@acme.example", 40, type="pricing_page_viewed",
           occurred_at="2026-03-02T09:40:00Z",
           person={"company": "Ísland ✓ Ltd", "country": "IS"})  # fmt: skip
    app.leads.assign(ada, "alice", ctx())
    app.leads.set_status(ada, "Working", "a reason", ctx())
    bant = {"budget": True, "authority": True, "need": True, "timeline": True}
    app.leads.qualify(ada, bant, "notes", ctx("q-ada"))
    conversion = app.conversion.convert(
        ada, ctx("conv-ada"), opportunity={"name": "Engines deal", "amount": "1250.5"}
    )
    app.opportunities.win(UUID(conversion["opportunity_id"]), "1300", ctx())
    app.spend.record([parse_spend({
        "event_id": "sp-1", "source": "webinar", "campaign": "spring", "amount": "400.10",
        "currency": "USD", "period_start": "2026-03-01", "period_end": "2026-03-31",
    }, "USD")])  # fmt: skip
    app.contacts.create("cy@cyber.example", {"company": "Cyber"}, None, ctx("cy"))
    app.erasure.erase("bo@acme.example", ctx("erase-bo"))


def test_direct_records_equal_the_mappers_for_every_stored_event(app: Leadflow) -> None:
    history(app)
    mapper = app.store.app.mapper
    notes = app.store.app.recorder.select_notifications(start=1, limit=100_000)
    direct_types = set()
    for n in notes:
        expected = outbound(mapper.to_domain_event(n), n.id)
        record = direct(n, n.id)
        if record is None:
            continue
        direct_types.add(n.topic.rpartition(".")[2])
        assert record == expected, n.topic
        assert outbound_stored(n, n.id, mapper) == expected
    # Most of the history takes the direct way, including Decimal, date and UUID values.
    assert {"EngagementRecorded", "LeadScored", "LeadAssigned", "OpportunityOpened",
            "OpportunityWon", "SpendRecorded"} <= direct_types  # fmt: skip


def test_encrypted_and_older_events_go_through_the_mapper(app: Leadflow) -> None:
    lead = engage(app, "e1", "ed@example.com", 0, person={"first_name": "Ed"})
    (captured, recorded) = app.store.app.recorder.select_events(lead, limit=2)
    assert b"__pii__" in captured.state and b"__pii__" in recorded.state
    assert direct(captured, 1) is None and direct(recorded, 2) is None
    # A version-1 engagement (no `extra`): the mapper upcasts it, so it is not read directly.
    state = json.loads(recorded.state)
    state.pop("class_version")
    state.pop("extra")
    old = StoredEvent(recorded.originator_id, recorded.originator_version,
                      get_topic(Lead.EngagementRecorded), json.dumps(state).encode())  # fmt: skip
    assert direct(old, 2) is None
    mapper = app.store.app.mapper
    record = outbound_stored(old, 2, mapper)
    assert json.loads(record.value)["payload"]["extra"] == {}


def test_event_id_is_uuid5_of_aggregate_and_version() -> None:
    for _ in range(200):
        aggregate = uuid4()
        for version in (1, 2, 37, 10**9):
            expected = str(uuid5(_EVENT_NS, f"{aggregate}:{version}"))
            assert event_id(aggregate, version) == expected
            assert event_id(str(aggregate), version) == expected
