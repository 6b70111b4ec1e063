"""The rebuild's lean read of the store (projections/rawread.py, Store.stored_rows) on SQLite
and PostgreSQL: its rows are the stored events, and its envelopes are those of the
application's mapper and `envelope`, but for the personal fields no read model keeps."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from leadflow.container import Leadflow
from leadflow.infra.crypto import FIELDS, PII
from leadflow.producers.envelope import envelope
from leadflow.projections import rawread
from leadflow.schemas import parse_engagement
from tests.integration.erasure_scenario import ADA, BO, build_history, ctx
from tests.integration.projections.history_driver import play
from tests.integration.projections.history_generator import RandomPick, random_plan

_COMPARED = ("type", "aggregate_type", "aggregate_id", "aggregate_version", "position",
             "occurred_at", "payload")  # fmt: skip


def _history(app: Leadflow) -> None:
    play(app, random_plan(RandomPick(5), people=(6, 9), ops=(60, 80)))
    build_history(app)  # every kind of personal data, an account named after a person
    app.engagement.record([parse_engagement({
        "event_id": "unsub-1", "type": "unsubscribed", "email": BO, "source": "webinar",
        "occurred_at": "2026-03-05T10:00:00+01:00",
    })])  # fmt: skip
    app.erasure.erase(BO, ctx("erase-bo"))  # a key destroyed: its fields read as null


def _all(pages: Any) -> list[tuple[Any, ...]]:
    return [row for page in pages for row in page]


def test_raw_rows_are_the_stored_events_in_order(app: Leadflow) -> None:
    _history(app)
    notifications = app.store.app.recorder.select_notifications(start=1, limit=10**6)
    expected = [
        (n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
        for n in notifications
    ]
    assert len(expected) > 100
    for batch in (1, 7, 10_000):
        rows = _all(rawread.pages(app.store, 0, batch))
        got = [(r[0], rawread.text_id(r[1]), r[2], r[3], bytes(r[4])) for r in rows]
        assert got == expected, batch
    tail = _all(rawread.pages(app.store, expected[40][0], 9, lean=False))
    assert [r[0] for r in tail] == [e[0] for e in expected[41:]]


def _withheld(
    event_type: str, raw: dict[str, Any], slow: dict[str, Any], fast: dict[str, Any]
) -> int:
    """Removes from both payloads the encrypted personal fields the lean read leaves out
    (checking they are left out as an erased person's are); returns how many had a value."""
    count = 0
    for field in FIELDS.get(event_type, ()):
        if field.label in rawread.KEPT.get(event_type, ()):
            continue
        *path, name = field.path
        boxes: list[Any] = [raw, slow, fast]
        for part in path:
            boxes = [b.get(part) if isinstance(b, dict) else None for b in boxes]
        raw_box, slow_box, fast_box = boxes
        if not (isinstance(raw_box, dict) and isinstance(raw_box.get(name), dict)):
            continue
        if PII not in raw_box[name]:
            continue  # stored in clear: compared as it is
        value = slow_box.pop(name)
        if path:
            assert name not in fast_box, (event_type, field.label)
        else:
            assert fast_box.pop(name) in (None, {}), (event_type, field.label)
        count += value not in (None, {})
    return count


def test_lean_envelopes_equal_the_mappers_but_for_personal_fields_kept_nowhere(
    app: Leadflow,
) -> None:
    _history(app)
    store = app.store
    rows = _all(rawread.pages(store, 0, 50))
    wanted = [r for r in rows if rawread.needed(r[3], r[4])]
    rawread.prefetch_keys(store, wanted, ("Lead", "Account"))
    types: dict[str, int] = {}
    withheld = kept = 0
    for row in wanted:
        position, originator_id, version, topic, state = row
        fast = rawread.decode(store, row)
        stored = StoredEvent(
            originator_id=UUID(rawread.text_id(originator_id)),
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        slow = envelope(store.app.mapper.to_domain_event(stored), position)
        slow = {k: slow[k] for k in _COMPARED}
        fast = {k: fast[k] for k in _COMPARED}
        raw = json.loads(bytes(state))
        withheld += _withheld(fast["type"], raw, slow["payload"], fast["payload"])
        assert fast == slow, (fast, slow)
        types[fast["type"]] = types.get(fast["type"], 0) + 1
        if PII.encode() in bytes(state) and fast["type"] in rawread.KEPT:
            kept += 1
    # The comparisons covered the cases that matter (the test can fail on each).
    assert {
        "LeadCaptured",
        "LeadScored",
        "LeadConverted",
        "ContactCreated",
        "AccountCreated",
        "OpportunityOpened",
        "SpendRecorded",
    } <= set(types), types
    # Only unsubscriptions of the engagement records are needed.
    engagements = sum(1 for r in rows if r[3].endswith(".EngagementRecorded"))
    assert 1 <= types.get("EngagementRecorded", 0) < engagements
    assert withheld > 0 and kept > 0
    emails = {
        e["payload"].get("email")
        for e in (rawread.decode(store, r) for r in wanted)
        if e["type"] == "LeadCaptured"
    }
    assert ADA.upper() in {str(x).upper() for x in emails if x} and None in emails
