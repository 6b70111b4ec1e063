"""Idempotency keys (CONTRACT 6) through the application's CommandRunner, on SQLite and
PostgreSQL: the same key again returns the first answer and has no second effect; 409s are
replayed, 422s are not stored; a key is scoped; a different body under the same key is 422."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from leadflow.application.commands import CommandContext
from leadflow.config import LeadflowConfig
from leadflow.container import Leadflow, build
from leadflow.domain.errors import (
    ConversionRefused,
    InvalidInput,
    NotFound,
    PersonExists,
    QualificationRefused,
    UnknownReference,
)
from leadflow.domain.lead import Lead
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings

AT = datetime(2026, 9, 20, 12, 0, tzinfo=UTC)


def keyed(key: str, scope: str, fingerprint: str, **kw: Any) -> CommandContext:
    return CommandContext(
        occurred_at=kw.pop("occurred_at", AT),
        idempotency_key=key,
        scope=scope,
        fingerprint=fingerprint,
        actor="tester",
        **kw,
    )


def positions(app: Leadflow) -> int:
    return app.store.app.recorder.max_notification_id() or 0


def new_lead(app: Leadflow, email: str, **person: Any) -> UUID:
    out = app.engagement.record(
        [
            parse_engagement(
                {
                    "event_id": f"ev-{email}",
                    "type": "form_submitted",
                    "occurred_at": "2026-09-14T10:00:00Z",
                    "email": email,
                    "source": "web",
                    "person": person or None,
                }
            )
        ]
    )
    return UUID(out.lead_ids[f"ev-{email}"])


def test_same_key_same_body_returns_the_first_answer_once(app: Leadflow) -> None:
    lead_id = new_lead(app, "a@acme.com", company="Acme")
    scope = f"POST /leads/{lead_id}/convert"
    first = app.conversion.convert(
        lead_id, keyed("k-1", scope, "fp"), opportunity={"name": "deal", "amount": "10"}
    )
    after_first = positions(app)
    again = app.conversion.convert(
        lead_id, keyed("k-1", scope, "fp"), opportunity={"name": "deal", "amount": "10"}
    )
    assert again == first
    assert positions(app) == after_first

    # The audit carries who asked and the key.
    converted = next(
        e for e in app.store.app.events.get(lead_id) if isinstance(e, Lead.LeadConverted)
    )
    assert converted.audit == {"actor": "tester", "idempotency_key": "k-1"}


def test_replay_survives_a_restart(
    app: Leadflow, db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path
) -> None:
    lead_id = new_lead(app, "b@acme.com")
    scope = f"POST /leads/{lead_id}/assign"
    first = app.leads.assign(lead_id, "alice", keyed("k-2", scope, "fp-alice"))
    app.leads.assign(lead_id, "bob", keyed("k-3", scope, "fp-bob"))
    before = positions(app)
    app.close()
    again = build(Settings(data_dir=tmp_path, database=db_settings), config)
    try:
        # Replaying k-2 must not assign alice again over bob.
        assert again.leads.assign(lead_id, "alice", keyed("k-2", scope, "fp-alice")) == first
        assert positions(again) == before
        assert again.store.get(lead_id, Lead).owner == "bob"
    finally:
        again.close()


def test_same_key_with_another_body_is_invalid_input(app: Leadflow) -> None:
    lead_id = new_lead(app, "c@acme.com")
    scope = f"POST /leads/{lead_id}/assign"
    app.leads.assign(lead_id, "alice", keyed("k-4", scope, "fp-alice"))
    before = positions(app)
    with pytest.raises(InvalidInput) as invalid:
        app.leads.assign(lead_id, "bob", keyed("k-4", scope, "fp-bob"))
    assert invalid.value.details == {"idempotency_key": "k-4"}
    assert positions(app) == before
    assert app.store.get(lead_id, Lead).owner == "alice"


def test_a_refusal_is_replayed_for_the_same_key(app: Leadflow) -> None:
    lead_id = new_lead(app, "d@acme.com")
    app.leads.set_status(lead_id, "Unqualified", None, CommandContext(occurred_at=AT))
    scope = f"POST /leads/{lead_id}/convert"
    with pytest.raises(ConversionRefused) as first:
        app.conversion.convert(lead_id, keyed("k-5", scope, "fp"))
    # The rule would now allow it, but the key's answer was the refusal.
    app.leads.set_status(lead_id, "Working", None, CommandContext(occurred_at=AT))
    before = positions(app)
    with pytest.raises(ConversionRefused) as replayed:
        app.conversion.convert(lead_id, keyed("k-5", scope, "fp"))
    assert replayed.value.message == first.value.message
    assert replayed.value.details == first.value.details
    assert positions(app) == before
    assert app.store.get(lead_id, Lead).status == "Working"
    # A new key converts.
    assert app.conversion.convert(lead_id, keyed("k-6", scope, "fp"))["contact_created"]


def test_refusals_of_other_kinds_are_replayed_with_their_type(app: Leadflow) -> None:
    lead_id = new_lead(app, "e@acme.com")
    scope = f"POST /leads/{lead_id}/qualify"
    bant = {"budget": True, "authority": False, "need": False, "timeline": True}
    for _ in range(2):
        with pytest.raises(QualificationRefused) as refused:
            app.leads.qualify(lead_id, bant, None, keyed("k-7", scope, "fp"))
        assert refused.value.details == {"lead_id": str(lead_id), "true_answers": 2}
    for _ in range(2):
        with pytest.raises(PersonExists) as exists:
            app.contacts.create("e@acme.com", {}, None, keyed("k-7", "POST /contacts", "fp"))
        assert exists.value.details == {"lead_id": str(lead_id)}


def test_invalid_input_is_not_stored_so_a_fixed_body_can_reuse_the_key(app: Leadflow) -> None:
    lead_id = new_lead(app, "f@acme.com")
    scope = f"POST /leads/{lead_id}/convert"
    with pytest.raises(UnknownReference):
        app.conversion.convert(lead_id, keyed("k-8", scope, "fp-bad"), account_id=uuid4())
    with pytest.raises(InvalidInput):
        app.conversion.convert(
            lead_id, keyed("k-8", scope, "fp-bad2"), opportunity={"name": "", "amount": 1}
        )
    answer = app.conversion.convert(lead_id, keyed("k-8", scope, "fp-good"))
    assert answer["contact_created"] is True
    assert app.conversion.convert(lead_id, keyed("k-8", scope, "fp-good")) == answer


def test_not_found_is_not_stored(app: Leadflow) -> None:
    nobody = uuid4()
    for _ in range(2):
        with pytest.raises(NotFound):
            app.leads.assign(nobody, "alice", keyed("k-9", "POST /leads/x/assign", "fp"))


def test_a_key_is_scoped(app: Leadflow) -> None:
    one = new_lead(app, "g@acme.com")
    two = new_lead(app, "h@acme.com")
    a = app.leads.assign(one, "alice", keyed("same", f"POST /leads/{one}/assign", "fp-1"))
    # Same key, another path and another body: its own command, not a 422 nor a replay.
    b = app.leads.assign(two, "bob", keyed("same", f"POST /leads/{two}/assign", "fp-2"))
    c = app.leads.set_status(one, "Working", None, keyed("same", f"POST /leads/{one}/status", "x"))
    assert a["owner"] == "alice" and b["owner"] == "bob" and c["status"] == "Working"
    assert app.store.get(two, Lead).owner == "bob"
    assert app.store.get(one, Lead).status == "Working"


def test_a_keyed_command_without_changes_still_stores_its_answer(app: Leadflow) -> None:
    lead_id = new_lead(app, "i@acme.com")
    scope = f"POST /leads/{lead_id}/assign"
    app.leads.assign(lead_id, "alice", CommandContext(occurred_at=AT))
    # No event (already alice), but the answer is kept under the key.
    first = app.leads.assign(lead_id, "alice", keyed("k-10", scope, "fp"))
    app.leads.assign(lead_id, "bob", CommandContext(occurred_at=AT))
    before = positions(app)
    assert app.leads.assign(lead_id, "alice", keyed("k-10", scope, "fp")) == first
    assert positions(app) == before
    assert app.store.get(lead_id, Lead).owner == "bob"
    with pytest.raises(InvalidInput):
        app.leads.assign(lead_id, "alice", keyed("k-10", scope, "other"))


def test_account_and_contact_commands_are_idempotent(app: Leadflow) -> None:
    made = app.accounts.create("Acme", "acme.com", None, keyed("k-11", "POST /accounts", "fp"))
    before = positions(app)
    again = app.accounts.create("Acme", "acme.com", None, keyed("k-11", "POST /accounts", "fp"))
    assert again == made
    contact = app.contacts.create("j@acme.com", {}, None, keyed("k-12", "POST /contacts", "fp"))
    assert contact["account_id"] == made["id"]
    after = positions(app)
    assert after == before + 1
    assert app.contacts.create("j@acme.com", {}, None, keyed("k-12", "POST /contacts", "fp")) == (
        contact
    )
    assert positions(app) == after
