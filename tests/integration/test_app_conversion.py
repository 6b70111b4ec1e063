"""Conversion through the application (CONTRACT 3.3), on SQLite and PostgreSQL: the one
atomic LeadConverted, account matching, linking an existing contact, refusals."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from leadflow.application.commands import CommandContext
from leadflow.application.people import CONTACT
from leadflow.container import Leadflow
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import ConversionRefused, InvalidInput, PersonExists, UnknownReference
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


def engage(app: Leadflow, event_id: str, email: str, type: str = "form_submitted", **kw: Any):
    return app.engagement.record(
        [
            parse_engagement(
                {
                    "event_id": event_id,
                    "type": type,
                    "occurred_at": "2026-09-14T10:00:00Z",
                    "email": email,
                    "source": "webinar",
                    "campaign": "q3",
                    **kw,
                }
            )
        ]
    )


def new_lead(app: Leadflow, email: str, **person: Any) -> UUID:
    out = engage(app, f"ev-{email}", email, person=person or None)
    return UUID(out.lead_ids[f"ev-{email}"])


def account(app: Leadflow, name: str, domain: str | None = None, **kw: Any) -> UUID:
    return UUID(app.accounts.create(name, domain, None, ctx(**kw))["id"])


def test_conversion_is_one_atomic_step_with_the_contracted_payload(app: Leadflow) -> None:
    lead_id = new_lead(
        app, "ada@engines.co.uk", first_name="Ada", last_name="Lovelace", company="Engines Ltd"
    )
    app.leads.assign(lead_id, "alice", ctx())
    before = positions(app)
    answer = app.conversion.convert(
        lead_id, ctx(), opportunity={"name": "Engines deal", "amount": "1250"}
    )
    assert answer["lead_id"] == str(lead_id)
    assert answer["contact_created"] is True and answer["account_created"] is True
    new = app.store.app.recorder.select_notifications(start=before + 1, limit=100)
    kinds = sorted(n.topic.rsplit(".", 1)[-1] for n in new)
    assert kinds == ["AccountCreated", "ContactCreated", "LeadConverted", "OpportunityOpened"]
    assert [n.id for n in new] == list(range(before + 1, before + 5))

    converted = next(
        e for e in app.store.app.events.get(lead_id) if isinstance(e, Lead.LeadConverted)
    )
    assert converted.email == "ada@engines.co.uk"
    assert str(converted.contact_id) == answer["contact_id"]
    assert str(converted.account_id) == answer["account_id"]
    assert str(converted.opportunity_id) == answer["opportunity_id"]
    assert converted.opportunity_amount == Decimal("1250.00")
    assert (converted.owner, converted.source, converted.campaign) == ("alice", "webinar", "q3")
    assert converted.converted_at == AT
    assert converted.contact_created is True and converted.account_created is True

    lead = app.store.get(lead_id, Lead)
    assert lead.status == "Converted" and lead.converted_at == AT
    assert {k: str(v) for k, v in (lead.conversion or {}).items()} == {
        "contact_id": answer["contact_id"],
        "account_id": answer["account_id"],
        "opportunity_id": answer["opportunity_id"],
    }
    contact = app.store.get(UUID(answer["contact_id"]), Contact)
    assert contact.emails == ["ada@engines.co.uk"]
    assert contact.lead_ids == [lead_id]
    assert contact.owner == "alice"
    assert contact.profile["last_name"] == "Lovelace"
    assert contact.account_id == UUID(answer["account_id"])
    acct = app.store.get(UUID(answer["account_id"]), Account)
    assert (acct.name, acct.domain) == ("Engines Ltd", "engines.co.uk")
    opp = app.store.get(UUID(answer["opportunity_id"]), Opportunity)
    assert (opp.amount, opp.account_id, opp.contact_id, opp.lead_id) == (
        Decimal("1250.00"),
        acct.id,
        contact.id,
        lead_id,
    )


def test_converting_twice_is_refused_naming_the_existing_ids(app: Leadflow) -> None:
    lead_id = new_lead(app, "bo@acme.com", company="Acme")
    first = app.conversion.convert(lead_id, ctx(), opportunity={"name": "n", "amount": 5})
    before = positions(app)
    with pytest.raises(ConversionRefused) as refused:
        app.conversion.convert(lead_id, ctx())
    assert refused.value.details == {
        "lead_id": str(lead_id),
        "contact_id": first["contact_id"],
        "account_id": first["account_id"],
        "opportunity_id": first["opportunity_id"],
    }
    assert positions(app) == before


def test_unqualified_lead_is_not_converted(app: Leadflow) -> None:
    lead_id = new_lead(app, "cy@acme.com")
    app.leads.set_status(lead_id, "Unqualified", None, ctx())
    before = positions(app)
    with pytest.raises(ConversionRefused):
        app.conversion.convert(lead_id, ctx())
    assert positions(app) == before
    app.leads.set_status(lead_id, "Working", None, ctx())
    assert app.conversion.convert(lead_id, ctx())["contact_created"] is True


def test_unknown_contact_or_account_id_is_named_and_nothing_changes(app: Leadflow) -> None:
    lead_id = new_lead(app, "di@acme.com", company="Acme")
    before = positions(app)
    missing = uuid4()
    with pytest.raises(UnknownReference) as unknown:
        app.conversion.convert(lead_id, ctx(), contact_id=missing)
    assert unknown.value.details == {"contact_id": str(missing)}
    with pytest.raises(UnknownReference) as unknown:
        app.conversion.convert(lead_id, ctx(), account_id=missing)
    assert unknown.value.details == {"account_id": str(missing)}
    # An id of another kind of aggregate is unknown too.
    with pytest.raises(UnknownReference):
        app.conversion.convert(lead_id, ctx(), account_id=lead_id)
    with pytest.raises(InvalidInput):
        app.conversion.convert(lead_id, ctx(), opportunity={"name": "", "amount": "1"})
    with pytest.raises(InvalidInput):
        app.conversion.convert(lead_id, ctx(), opportunity={"name": "x", "amount": "-1"})
    assert positions(app) == before
    assert app.store.get(lead_id, Lead).status == "New"


def test_given_account_id_wins_over_matching(app: Leadflow) -> None:
    acme = account(app, "Acme", "acme.com")
    other = account(app, "Other Co")
    lead_id = new_lead(app, "ed@acme.com", company="Acme")
    answer = app.conversion.convert(lead_id, ctx(), account_id=other)
    assert (answer["account_id"], answer["account_created"]) == (str(other), False)
    assert app.store.get(UUID(answer["contact_id"]), Contact).account_id == other
    assert acme != other


def test_account_matched_by_normalised_company_name_before_domain(app: Leadflow) -> None:
    by_domain = account(app, "Initech Holdings", "initech.com")
    by_name = account(app, "ACME, Inc.")
    lead_id = new_lead(app, "fay@initech.com", company="  acme INC ")
    answer = app.conversion.convert(lead_id, ctx())
    assert (answer["account_id"], answer["account_created"]) == (str(by_name), False)
    assert by_domain != by_name
    # "Acme GmbH & Co." normalises to "acme" as well (trailing legal words, repeatedly).
    other = new_lead(app, "gus@elsewhere.org", company="Acme GmbH & Co.")
    assert app.conversion.convert(other, ctx())["account_id"] == str(by_name)


def test_account_matched_by_email_domain_takes_the_oldest(app: Leadflow) -> None:
    oldest = account(app, "Hooli", "hooli.com", occurred_at=AT - timedelta(days=30))
    account(app, "Hooli XYZ", "hooli.com", occurred_at=AT - timedelta(days=1))
    lead_id = new_lead(app, "hal@hooli.com", company="Something Unmatched")
    answer = app.conversion.convert(lead_id, ctx())
    assert (answer["account_id"], answer["account_created"]) == (str(oldest), False)
    # Without a company at all, the domain still matches.
    bare = new_lead(app, "ian@HOOLI.com")
    assert app.conversion.convert(bare, ctx())["account_id"] == str(oldest)


def test_oldest_account_by_domain_compares_instants_not_offsets(app: Leadflow) -> None:
    plus5 = timezone(timedelta(hours=5))
    # 05:00Z, created first: older by business time and by recording order.
    older = account(
        app, "Pied Piper", "piedpiper.com", occurred_at=datetime(2026, 1, 1, 10, tzinfo=plus5)
    )
    account(app, "Pied Piper EU", "piedpiper.com", occurred_at=datetime(2026, 1, 1, 6, tzinfo=UTC))
    lead_id = new_lead(app, "jo@piedpiper.com")
    assert app.conversion.convert(lead_id, ctx())["account_id"] == str(older)


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "googlemail.com", "yahoo.co.uk", "hotmail.fr", "outlook.com", "gmx.de"],
)
def test_free_mail_domain_never_matches_an_account(app: Leadflow, domain: str) -> None:
    first = new_lead(app, f"kim@{domain}", first_name="Kim", last_name="Park")
    one = app.conversion.convert(first, ctx())
    assert one["account_created"] is True
    acct = app.store.get(UUID(one["account_id"]), Account)
    # Named after the person when there is no company; no domain for free mail.
    assert (acct.name, acct.domain) == ("Kim Park", None)
    second = new_lead(app, f"lee@{domain}", first_name="Lee")
    two = app.conversion.convert(second, ctx())
    assert two["account_created"] is True and two["account_id"] != one["account_id"]
    assert app.store.get(UUID(two["account_id"]), Account).name == "Lee"


def test_free_mail_lead_with_a_company_matches_by_name_only(app: Leadflow) -> None:
    globex = account(app, "Globex Corp")
    lead_id = new_lead(app, "max@gmail.com", company="globex")
    assert app.conversion.convert(lead_id, ctx())["account_id"] == str(globex)
    fresh = new_lead(app, "ned@yahoo.com", company="Vandelay Industries")
    answer = app.conversion.convert(fresh, ctx())
    acct = app.store.get(UUID(answer["account_id"]), Account)
    assert answer["account_created"] is True
    assert (acct.name, acct.domain) == ("Vandelay Industries", None)


def test_a_new_account_is_found_by_the_next_conversion(app: Leadflow) -> None:
    a = new_lead(app, "ola@massive.io", company="Massive Dynamic")
    first = app.conversion.convert(a, ctx())
    b = new_lead(app, "pat@massive.io")  # by the domain the first one gave the account
    c = new_lead(app, "quinn@gmail.com", company="massive dynamic, inc.")  # by name
    assert app.conversion.convert(b, ctx())["account_id"] == first["account_id"]
    assert app.conversion.convert(c, ctx())["account_id"] == first["account_id"]
    assert topics(app)["AccountCreated"] == 1


def test_linking_an_existing_contact(app: Leadflow) -> None:
    made = app.contacts.create(
        "rae@acme.com", {"first_name": "Rae", "company": "Acme"}, None, ctx()
    )
    contact_id = UUID(made["id"])
    lead_id = new_lead(app, "Rae.Private@gmail.com", company="Something Else")
    answer = app.conversion.convert(lead_id, ctx(), contact_id=contact_id)
    assert answer["contact_id"] == str(contact_id)
    assert answer["contact_created"] is False
    # The contact's account, not one matched or created from the lead's company.
    assert (answer["account_id"], answer["account_created"]) == (made["account_id"], False)
    counts = topics(app)
    assert (counts["ContactCreated"], counts["AccountCreated"]) == (1, 1)

    contact = app.store.get(contact_id, Contact)
    assert contact.emails == ["rae@acme.com", "rae.private@gmail.com"]
    assert contact.lead_ids == [lead_id]
    ref = app.people.find("rae.private@gmail.com")
    assert ref is not None and (ref.kind, ref.id) == (CONTACT, contact_id)

    # Later engagement for the lead's email is the contact's activity.
    lead_version = app.store.get(lead_id, Lead).version
    out = engage(app, "later-1", "RAE.PRIVATE@gmail.com", type="demo_requested")
    assert (out.leads_captured, out.contact_activities) == (0, 1)
    assert [a["event_id"] for a in app.store.get(contact_id, Contact).activities] == ["later-1"]
    lead = app.store.get(lead_id, Lead)
    assert (lead.version, lead.score) == (lead_version, 10)

    with pytest.raises(PersonExists) as refused:
        app.contacts.create("rae.private@gmail.com", {}, None, ctx())
    assert refused.value.details == {"contact_id": str(contact_id)}


def test_linking_a_contact_with_a_given_account(app: Leadflow) -> None:
    made = app.contacts.create("sue@acme.com", {"company": "Acme"}, None, ctx())
    other = account(app, "Subsidiary")
    lead_id = new_lead(app, "sue@home.net")
    answer = app.conversion.convert(lead_id, ctx(), contact_id=UUID(made["id"]), account_id=other)
    assert answer["contact_id"] == made["id"] and answer["account_id"] == str(other)
    assert app.store.get(UUID(made["id"]), Contact).emails == ["sue@acme.com", "sue@home.net"]
