"""Erasure by crypto-shredding (CONTRACT 9), end to end on SQLite and PostgreSQL: every
number stays, the person's data is nowhere in the database (SQLite: the raw file bytes),
a rebuild agrees, and the email may come back as a new person."""

from __future__ import annotations

from uuid import UUID

import pytest

from leadflow.application.views import load_lead_view
from leadflow.container import Leadflow
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import ConversionRefused, InvalidInput, NotFound
from leadflow.domain.lead import Lead
from leadflow.projections.rebuild import rebuild
from tests.integration.erasure_scenario import (
    ADA,
    ADA_SECRETS,
    BO,
    build_history,
    ctx,
    database_text,
    engage_again,
    numbers,
    present,
    rebuilt_numbers,
)


def test_erasure_keeps_every_number_and_leaves_no_personal_data(app: Leadflow) -> None:
    built = build_history(app)
    rebuild(app.store)
    before = numbers(app)
    rm = {"rm_opportunities": "leadflow_rm_opportunities"}
    won = app.store.side.query("SELECT outcome, won_amount FROM {rm_opportunities}", (), rm)
    assert won == [("won", "1250.00")]  # Ada's deal, in the numbers that must stay
    # The read models hold emails in clear and the aggregates decrypt: the check can fail.
    assert present(database_text(app), (ADA,)) == [ADA]
    view = load_lead_view(app.store, app.store.get(built.ada_lead, Lead))
    assert view["email"] == ADA and view["profile"]["first_name"] == "Augusta"

    answer = app.erasure.erase(f"  {ADA.upper()} ", ctx())

    assert answer["erased"] is True
    assert answer["lead_ids"] == [str(built.ada_lead)]
    assert answer["contact_ids"] == [built.conversion["contact_id"]]
    assert answer["account_ids"] == [built.conversion["account_id"]]  # named after Ada
    assert answer["opportunity_ids"] == [built.conversion["opportunity_id"]]
    assert numbers(app) == before
    assert present(database_text(app), ADA_SECRETS) == []
    assert present(database_text(app), (BO,)) == [BO]  # others stay

    # Aggregates still replay, without the personal data.
    app.store.forget_cached()
    lead = app.store.get(built.ada_lead, Lead)
    assert lead.email is None and lead.score == 45 and lead.sql_at is not None
    assert "first_name" not in lead.profile and lead.profile["country"] == "GB"
    contact = app.store.get(UUID(built.conversion["contact_id"]), Contact)
    assert contact.emails == [None] and "phone" not in contact.profile
    account = app.store.get(UUID(built.conversion["account_id"]), Account)
    assert account.name is None and account.normalised_name is None
    assert load_lead_view(app.store, lead)["stage"] == "won"
    with pytest.raises(ConversionRefused):
        app.conversion.convert(built.ada_lead, ctx())

    assert rebuilt_numbers(app) == before
    assert present(database_text(app), ADA_SECRETS) == []

    # The email is nobody's now: it can come back, as a new person.
    with pytest.raises(NotFound):
        app.erasure.erase(ADA, ctx())
    again = engage_again(app, ADA)
    assert again != built.ada_lead
    assert app.people.find(ADA) is not None and app.people.find(ADA).id == again  # type: ignore[union-attr]
    assert app.store.get(again, Lead).email == ADA


def test_erasing_a_contact_created_directly_and_refusals(app: Leadflow) -> None:
    built = build_history(app)
    with pytest.raises(InvalidInput):
        app.erasure.erase("not an email", ctx())
    with pytest.raises(NotFound):
        app.erasure.erase("nobody@nowhere.example", ctx())
    answer = app.erasure.erase("cy@cyber.example", ctx("erase-cy"))
    assert answer["contact_ids"] == [str(built.cy_contact)] and answer["lead_ids"] == []
    assert answer["account_ids"] == []  # "Cyber" is a company, not Cyrille's name
    assert present(database_text(app), ("Cyrille", "cy@cyber.example")) == []
    # Idempotent: the same key answers the same, and has no second effect.
    assert app.erasure.erase("cy@cyber.example", ctx("erase-cy")) == answer
    assert app.store.get(built.cy_contact, Contact).profile == {"company": "Cyber"}


def test_a_process_that_cached_the_key_stops_decrypting_after_an_erasure(
    app: Leadflow, db_settings: object
) -> None:
    from leadflow.infra.store import Store

    built = build_history(app)
    other = Store(app.store.db)  # another process's store, e.g. the relay's
    try:
        assert other.get(built.ada_lead, Lead).email == ADA  # its key and aggregate cached
        app.erasure.erase(ADA, ctx())
        other.keys.refresh(force=True)  # what its next look after recheck_every does
        assert other.get(built.ada_lead, Lead).email is None
        notes = other.app.recorder.select_notifications(start=1, limit=1000)
        emails = [getattr(other.app.mapper.to_domain_event(n), "email", None) for n in notes]
        assert ADA not in emails
    finally:
        other.close()
