"""The personal-data mapper (infra/crypto.py) over a real SQLite key store: every event type
with personal fields round-trips, ciphertexts are per person, a destroyed key reads as no
data, and events stored before encryption still load."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent

from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.engagement import Engagement
from leadflow.domain.lead import Lead
from leadflow.domain.opportunity import Opportunity
from leadflow.domain.personal_data import PERSONAL_FIELDS
from leadflow.domain.scoring import ScoringPolicy
from leadflow.infra.crypto import PII
from leadflow.infra.store import Store
from leadflow.settings import DatabaseSettings

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRETS = ("eve@secret.example", "Evelyn", "Quillfeather", "+33 1 99 88 77 66", "hush-notes",
           "hush-reason", "hush-url", "hush-extra", "lost-because-evelyn")  # fmt: skip
POLICY = ScoringPolicy(points={"form_submitted": 10})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(DatabaseSettings.from_url(None, tmp_path))
    yield s
    s.close()


def person_events(store: Store) -> list[Any]:
    """One person's events of every type PERSONAL_FIELDS names, bound to one key."""
    person = {"first_name": "Evelyn", "last_name": "Quillfeather", "phone": "+33 1 99 88 77 66",
              "country": "FR"}  # fmt: skip
    engagement = Engagement("e1", "form_submitted", AT, "eve@secret.example", "web", None,
                            person, {"url": "hush-url"}, {"note": "hush-extra"})  # fmt: skip
    lead = Lead(email=engagement.email, event_id="e1", occurred_at=AT, source="web", campaign=None)
    lead.record_engagement(engagement, POLICY)
    lead.change_status("Working", "hush-reason", AT)
    lead.qualify(dict.fromkeys(("budget", "authority", "need", "timeline"), True), "hush-notes", AT)
    account = Account.open("Evelyn Quillfeather", None, AT, named_after_person=True)
    contact = Contact(email=lead.email, profile=dict(lead.profile), account_id=account.id,
                      owner=None, lead_id=lead.id, occurred_at=AT, audit=None)  # fmt: skip
    contact.add_email("eve2@secret.example", None, AT)
    contact.record_activity(engagement.__class__(**{**vars(engagement), "event_id": "e2"}))
    opp = Opportunity(name="Deal", amount=Decimal("10.00"), account_id=account.id,
                      contact_id=contact.id, lead_id=lead.id, occurred_at=AT,
                      audit=None)  # fmt: skip
    opp.lose("lost-because-evelyn", AT)
    lead.convert(contact_id=contact.id, contact_created=True, account_id=account.id,
                 account_created=True, opportunity_id=opp.id, opportunity_amount=None,
                 occurred_at=AT)  # fmt: skip
    aggregates: list[Aggregate] = [lead, contact, account, opp]
    store.side.execute(*store.keys.new_person(*(a.id for a in aggregates)))
    return [e for a in aggregates for e in a.collect_events()]


def test_every_personal_event_type_round_trips_and_stores_no_personal_data(store: Store) -> None:
    mapper = store.app.mapper
    events = person_events(store)
    assert set(PERSONAL_FIELDS) <= {type(e).__name__ for e in events}
    for event in events:
        stored = mapper.to_stored_event(event)
        text = stored.state.decode()
        assert [s for s in SECRETS if s in text] == [], type(event).__name__
        if type(event).__name__ in PERSONAL_FIELDS:
            assert PII in text, type(event).__name__
        assert vars(mapper.to_domain_event(stored)) == vars(event), type(event).__name__


def test_an_account_not_named_after_a_person_stays_clear(store: Store) -> None:
    account = Account.open("Acme Inc", "acme.example", AT)
    (event,) = account.collect_events()
    state = json.loads(store.app.mapper.to_stored_event(event).state)
    assert state["name"] == "Acme Inc" and state["normalised_name"] == "acme"


def test_ciphertexts_differ_per_person_and_per_event(store: Store) -> None:
    def stored_email(email: str) -> Any:
        lead = Lead(email=email, event_id="x", occurred_at=AT, source="web", campaign=None)
        store.side.execute(*store.keys.new_person(lead.id))
        (event,) = lead.collect_events()
        return json.loads(store.app.mapper.to_stored_event(event).state)["email"]

    one, two, three = (stored_email("same@example.com") for _ in range(3))
    assert len({one[PII], two[PII], three[PII]}) == 3
    assert len({one["ct"], two["ct"], three["ct"]}) == 3


def test_a_destroyed_key_reads_as_no_data_and_new_data_is_dropped(store: Store) -> None:
    mapper = store.app.mapper
    events = person_events(store)
    stored = [mapper.to_stored_event(e) for e in events]
    (person_id,) = store.keys.people_of([events[0].originator_id])
    store.side.execute(*store.keys.erase([person_id]))
    store.keys.refresh(force=True)
    decoded = {type(e).__name__: vars(e) for e in map(mapper.to_domain_event, stored)}
    text = json.dumps(decoded, default=str)
    assert [s for s in SECRETS if s in text] == []
    assert decoded["LeadCaptured"]["email"] is None
    assert decoded["EngagementRecorded"]["person"] == {"country": "FR"}
    assert decoded["EngagementRecorded"]["properties"] == {}
    assert decoded["EngagementRecorded"]["extra"] == {}
    assert decoded["LeadQualified"]["notes"] is None
    assert decoded["AccountCreated"]["name"] is None
    # Stored after the erasure: the personal values are dropped, never stored in clear.
    after = mapper.to_stored_event(events[0]).state.decode()
    assert "eve@secret.example" not in after and json.loads(after)["email"] is None


def test_events_stored_before_encryption_still_load(store: Store) -> None:
    lead = Lead(email="old@plain.example", event_id="o", occurred_at=AT, source="web",
                campaign=None)  # fmt: skip
    (event,) = lead.collect_events()
    # What the plain eventsourcing mapper stored before this module existed.
    plain = Mapper[Any](transcoder=store.app.mapper.transcoder).to_stored_event(event)
    assert b"old@plain.example" in plain.state
    loaded = store.app.mapper.to_domain_event(
        StoredEvent(plain.originator_id, plain.originator_version, plain.topic, plain.state)
    )
    assert vars(loaded) == vars(event)
    # Its aggregate gets a key the first time it records personal data again.
    lead.change_status("Working", "hush-reason", AT)
    (later,) = lead.collect_events()
    assert b"hush-reason" not in store.app.mapper.to_stored_event(later).state
    assert store.keys.person_of(lead.id) is not None


def test_a_reader_of_many_people_prefetches_their_keys_in_one_go(tmp_path: Path) -> None:
    """The relay reads many people's events: the keys the stored states name are loaded
    together, and a destroyed key is known as destroyed without another query."""
    from leadflow.infra.crypto import key_ids

    writer = Store(DatabaseSettings.from_url(None, tmp_path))
    events = person_events(writer)
    writer.app.events.put(events)
    reader = Store(DatabaseSettings.from_url(None, tmp_path))
    try:
        stored = writer.app.recorder.select_notifications(start=1, limit=100)
        ids = key_ids(n.state for n in stored)
        assert len(ids) == 1, ids
        writer.side.execute(*writer.keys.erase(sorted(ids)))
        queries: list[str] = []
        original = reader.side.query

        def counting(statement: str, *args: Any, **kwargs: Any) -> Any:
            queries.append(statement)
            return original(statement, *args, **kwargs)

        reader.side.query = counting  # type: ignore[method-assign]
        reader.keys.prefetch([*ids, "00000000-0000-4000-8000-000000000000"])
        key_queries = [q for q in queries if "person_keys" in q]
        assert len(key_queries) == 1
        decoded = [reader.app.mapper.to_domain_event(n) for n in stored]
        assert [q for q in queries if "person_keys" in q] == key_queries  # all from cache
        assert len(decoded) == len(stored) and events
        assert not any(secret in json.dumps(vars(e), default=str) for secret in SECRETS
                       for e in decoded)  # fmt: skip
    finally:
        reader.close()
        writer.close()
