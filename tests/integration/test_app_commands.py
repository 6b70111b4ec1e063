"""Lead, opportunity, contact and account commands through the application (CONTRACT 3.3, 6),
on SQLite and PostgreSQL: what they change, what they refuse, and that a refusal changes
nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from leadflow.application.commands import CommandContext
from leadflow.container import Leadflow
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import (
    ConversionRefused,
    HierarchyCycle,
    InvalidInput,
    NotFound,
    OutcomeAlreadyRecorded,
    PersonExists,
    QualificationRefused,
    StatusChangeRefused,
    UnknownReference,
)
from leadflow.domain.lead import Lead
from leadflow.domain.opportunity import Opportunity
from leadflow.schemas import parse_engagement

AT = datetime(2026, 9, 20, 12, 0, tzinfo=UTC)


def ctx(**kw: Any) -> CommandContext:
    return CommandContext(occurred_at=kw.pop("occurred_at", AT), **kw)


def positions(app: Leadflow) -> int:
    return app.store.app.recorder.max_notification_id() or 0


def topics(app: Leadflow) -> Counter[str]:
    notes = app.store.app.recorder.select_notifications(start=1, limit=10000)
    return Counter(n.topic.rsplit(".", 1)[-1] for n in notes)


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


BANT_YES = {"budget": True, "authority": True, "need": True, "timeline": False}
BANT_NO = {"budget": True, "authority": False, "need": True, "timeline": False}


# --- leads ------------------------------------------------------------------------------


def test_status_transitions_and_refusals(app: Leadflow) -> None:
    lead_id = new_lead(app, "sam@acme.com")
    assert app.leads.set_status(lead_id, "Working", None, ctx()) == {
        "id": str(lead_id),
        "status": "Working",
    }
    before = positions(app)
    # The same status again is no change and no event.
    app.leads.set_status(lead_id, "Working", None, ctx())
    assert positions(app) == before
    app.leads.set_status(lead_id, "Unqualified", "no budget", ctx())
    with pytest.raises(ConversionRefused):
        app.conversion.convert(lead_id, ctx())
    # Unqualified can be set back to Working or Nurturing.
    app.leads.set_status(lead_id, "Nurturing", None, ctx())
    assert app.store.get(lead_id, Lead).status == "Nurturing"
    before = positions(app)
    with pytest.raises(InvalidInput):
        app.leads.set_status(lead_id, "Converted", None, ctx())
    with pytest.raises(InvalidInput):
        app.leads.set_status(lead_id, "New", None, ctx())
    app.conversion.convert(lead_id, ctx())
    before = positions(app)
    with pytest.raises(StatusChangeRefused):
        app.leads.set_status(lead_id, "Working", None, ctx())
    assert positions(app) == before
    assert app.store.get(lead_id, Lead).status == "Converted"


def test_assign_and_unassign(app: Leadflow) -> None:
    lead_id = new_lead(app, "tom@acme.com")
    assert app.leads.assign(lead_id, "alice", ctx())["owner"] == "alice"
    before = positions(app)
    app.leads.assign(lead_id, "alice", ctx())
    assert positions(app) == before
    app.leads.assign(lead_id, None, ctx())
    assert app.store.get(lead_id, Lead).owner is None
    with pytest.raises(InvalidInput):
        app.leads.assign(lead_id, "  ", ctx())
    assert topics(app)["LeadAssigned"] == 2


def test_qualify_needs_three_true_answers_and_changes_nothing_otherwise(app: Leadflow) -> None:
    lead_id = new_lead(app, "uma@acme.com")
    before = positions(app)
    with pytest.raises(QualificationRefused) as refused:
        app.leads.qualify(lead_id, BANT_NO, None, ctx())
    assert refused.value.details["true_answers"] == 2
    assert positions(app) == before
    assert app.store.get(lead_id, Lead).sql_at is None
    with pytest.raises(InvalidInput):
        app.leads.qualify(lead_id, {"budget": True}, None, ctx())

    at = datetime(2026, 9, 21, 8, 30, tzinfo=UTC)
    answer = app.leads.qualify(lead_id, BANT_YES, "call went well", ctx(occurred_at=at))
    assert answer["stage"] == "sql"
    lead = app.store.get(lead_id, Lead)
    # SQL without MQL (score 10), at the command's business time.
    assert lead.sql_at == at and lead.mql_at is None
    before = positions(app)
    app.leads.qualify(lead_id, BANT_YES, None, ctx())
    assert positions(app) == before


def test_unknown_ids_are_not_found(app: Leadflow) -> None:
    nobody = uuid4()
    cases = [
        lambda: app.leads.set_status(nobody, "Working", None, ctx()),
        lambda: app.leads.assign(nobody, "alice", ctx()),
        lambda: app.leads.qualify(nobody, BANT_YES, None, ctx()),
        lambda: app.conversion.convert(nobody, ctx()),
        lambda: app.opportunities.win(nobody, None, ctx()),
        lambda: app.opportunities.lose(nobody, "price", ctx()),
        lambda: app.contacts.set_owner(nobody, "alice", ctx()),
        lambda: app.contacts.relate(nobody, uuid4(), "colleague", ctx()),
        lambda: app.accounts.set_parent(nobody, None, ctx()),
    ]
    for case in cases:
        with pytest.raises(NotFound):
            case()
    # An id of another aggregate type is not found either.
    account = app.accounts.create("Globex", None, None, ctx())
    with pytest.raises(NotFound):
        app.leads.assign(UUID(account["id"]), "alice", ctx())
    lead_id = new_lead(app, "vic@acme.com")
    with pytest.raises(NotFound):
        app.accounts.set_parent(lead_id, None, ctx())
    assert positions(app) == 4  # AccountCreated + LeadCaptured, EngagementRecorded, LeadScored


# --- opportunities ------------------------------------------------------------------------


def opportunity(app: Leadflow, email: str, amount: str = "1250") -> UUID:
    lead_id = new_lead(app, email, company="Acme")
    answer = app.conversion.convert(
        lead_id, ctx(), opportunity={"name": "Acme deal", "amount": amount}
    )
    return UUID(answer["opportunity_id"])


def test_win_once_with_default_amount(app: Leadflow) -> None:
    opp_id = opportunity(app, "wes@acme.com")
    assert app.store.get(opp_id, Opportunity).amount == 1250
    at = datetime(2026, 10, 1, tzinfo=UTC)
    answer = app.opportunities.win(opp_id, None, ctx(occurred_at=at))
    assert answer == {"id": str(opp_id), "outcome": "won", "amount": "1250.00"}
    opp = app.store.get(opp_id, Opportunity)
    assert (opp.outcome, opp.closed_at, str(opp.won_amount)) == ("won", at, "1250.00")
    before = positions(app)
    with pytest.raises(OutcomeAlreadyRecorded):
        app.opportunities.win(opp_id, "10", ctx())
    with pytest.raises(OutcomeAlreadyRecorded):
        app.opportunities.lose(opp_id, "price", ctx())
    assert positions(app) == before


def test_win_with_amount_and_lose_with_reason(app: Leadflow) -> None:
    won = opportunity(app, "xena@acme.com")
    assert app.opportunities.win(won, "999.5", ctx())["amount"] == "999.50"
    lost = opportunity(app, "yuri@acme.com")
    with pytest.raises(InvalidInput):
        app.opportunities.lose(lost, " ", ctx())
    with pytest.raises(InvalidInput):
        app.opportunities.win(lost, "-1", ctx())
    assert app.opportunities.lose(lost, "went with a competitor", ctx())["outcome"] == "lost"
    with pytest.raises(OutcomeAlreadyRecorded):
        app.opportunities.win(lost, None, ctx())
    assert app.store.get(lost, Opportunity).won_amount is None
    counts = topics(app)
    assert (counts["OpportunityWon"], counts["OpportunityLost"]) == (1, 1)


# --- contacts -----------------------------------------------------------------------------


def test_create_contact_refused_for_an_email_with_a_lead_or_contact(app: Leadflow) -> None:
    lead_id = new_lead(app, "zoe@acme.com")
    before = positions(app)
    with pytest.raises(PersonExists) as refused:
        app.contacts.create(" Zoe@Acme.com", {"first_name": "Zoe"}, None, ctx())
    assert refused.value.details == {"lead_id": str(lead_id)}

    made = app.contacts.create("amy@acme.com", {"first_name": "Amy"}, None, ctx())
    with pytest.raises(PersonExists) as refused:
        app.contacts.create("AMY@acme.com", {}, None, ctx())
    assert refused.value.details == {"contact_id": made["id"]}

    # A converted lead's email belongs to its contact now.
    converted = app.conversion.convert(lead_id, ctx())
    with pytest.raises(PersonExists) as refused:
        app.contacts.create("zoe@acme.com", {}, None, ctx())
    assert refused.value.details == {"contact_id": converted["contact_id"]}
    counts = topics(app)
    assert counts["ContactCreated"] == 2 and positions(app) > before


def test_create_contact_under_given_matched_or_new_account(app: Leadflow) -> None:
    given = app.accounts.create("Umbrella", None, None, ctx())
    one = app.contacts.create("a@x.io", {"company": "Whatever"}, UUID(given["id"]), ctx())
    assert (one["account_id"], one["account_created"]) == (given["id"], False)

    with pytest.raises(UnknownReference) as unknown:
        app.contacts.create("b@x.io", {}, uuid4(), ctx())
    assert "account_id" in unknown.value.details
    assert app.people.find("b@x.io") is None

    two = app.contacts.create("c@hooli.com", {"company": "Hooli, Inc."}, None, ctx())
    assert two["account_created"] is True
    account = app.store.get(UUID(two["account_id"]), Account)
    assert (account.name, account.domain) == ("Hooli, Inc.", "hooli.com")
    # Matched by normalised name, then by domain.
    three = app.contacts.create("d@elsewhere.com", {"company": "HOOLI inc"}, None, ctx())
    four = app.contacts.create("e@hooli.com", {}, None, ctx())
    assert three["account_id"] == four["account_id"] == two["account_id"]
    assert not three["account_created"] and not four["account_created"]

    contact = app.store.get(UUID(four["id"]), Contact)
    assert contact.emails == ["e@hooli.com"] and contact.lead_ids == []
    with pytest.raises(InvalidInput):
        app.contacts.create("not-an-email", {}, None, ctx())


def test_contact_owner_and_relationships(app: Leadflow) -> None:
    a = UUID(app.contacts.create("a@initech.com", {}, None, ctx())["id"])
    b = UUID(app.contacts.create("b@initech.com", {}, None, ctx())["id"])
    assert app.contacts.set_owner(a, "bob", ctx())["owner"] == "bob"
    assert app.store.get(a, Contact).owner == "bob"

    assert app.contacts.relate(a, b, "reports_to", ctx())["kind"] == "reports_to"
    before = positions(app)
    app.contacts.relate(a, b, "reports_to", ctx())
    assert positions(app) == before
    with pytest.raises(UnknownReference) as unknown:
        app.contacts.relate(a, uuid4(), "colleague", ctx())
    assert "to_contact_id" in unknown.value.details
    with pytest.raises(InvalidInput):
        app.contacts.relate(a, a, "colleague", ctx())
    assert positions(app) == before
    rel = app.store.get(a, Contact).relationships
    assert [(r["to_contact_id"], r["kind"]) for r in rel] == [(b, "reports_to")]


# --- accounts -----------------------------------------------------------------------------


def test_account_create_validates_and_refuses_unknown_parent(app: Leadflow) -> None:
    made = app.accounts.create(" Wayne Enterprises ", "WAYNE.com", None, ctx())
    account = app.store.get(UUID(made["id"]), Account)
    assert (account.name, account.domain, account.parent_id) == (
        "Wayne Enterprises",
        "wayne.com",
        None,
    )
    before = positions(app)
    for name, domain in (("", None), ("Ok", "gmail.com"), ("Ok", "nodot"), ("Ok", "a@b.com")):
        with pytest.raises(InvalidInput):
            app.accounts.create(name, domain, None, ctx())
    with pytest.raises(UnknownReference):
        app.accounts.create("Child", None, uuid4(), ctx())
    assert positions(app) == before
    child = app.accounts.create("Wayne Security", None, UUID(made["id"]), ctx())
    assert app.store.get(UUID(child["id"]), Account).parent_id == UUID(made["id"])


def test_set_parent_refuses_cycles(app: Leadflow) -> None:
    a, b, c = (UUID(app.accounts.create(n, None, None, ctx())["id"]) for n in "ABC")
    app.accounts.set_parent(a, b, ctx())  # A under B
    app.accounts.set_parent(b, c, ctx())  # B under C
    before = positions(app)
    with pytest.raises(HierarchyCycle):
        app.accounts.set_parent(c, a, ctx())
    with pytest.raises(HierarchyCycle):
        app.accounts.set_parent(c, c, ctx())
    with pytest.raises(HierarchyCycle):
        app.accounts.set_parent(b, a, ctx())
    with pytest.raises(UnknownReference):
        app.accounts.set_parent(a, uuid4(), ctx())
    assert positions(app) == before
    assert app.store.get(c, Account).parent_id is None
    # Moving A out from under B lets C go under A.
    assert app.accounts.set_parent(a, None, ctx()) == {"id": str(a), "parent_id": None}
    app.accounts.set_parent(c, a, ctx())
    assert app.store.get(c, Account).parent_id == a
    # ...and now B under C under A means A under B would be a cycle again.
    with pytest.raises(HierarchyCycle):
        app.accounts.set_parent(a, b, ctx())
    assert topics(app)["AccountParentChanged"] == 4
