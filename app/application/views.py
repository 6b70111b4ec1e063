"""JSON views of aggregates as the contract shows them (times in UTC with `Z`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.lead import Lead
from leadflow.domain.opportunity import Opportunity
from leadflow.infra.store import Store


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01'))}"


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def lead_view(lead: Lead, opportunity: Opportunity | None) -> dict[str, Any]:
    won_at = opportunity.closed_at if opportunity and opportunity.outcome == "won" else None
    stage = "captured"
    for name, at in (
        ("mql", lead.mql_at),
        ("sql", lead.sql_at),
        ("converted", lead.converted_at),
        ("won", won_at),
    ):
        if at is not None:
            stage = name
    conversion = None
    if lead.conversion is not None:
        conversion = {k: _str(v) for k, v in lead.conversion.items()}
    return {
        "id": str(lead.id),
        "email": lead.email,
        "status": lead.status,
        "stage": stage,
        "outcome": opportunity.outcome if opportunity else None,
        "score": lead.score,
        "score_breakdown": [
            {**item, "occurred_at": iso(item["occurred_at"])} for item in lead.score_breakdown()
        ],
        "source": lead.source,
        "campaign": lead.campaign,
        "owner": lead.owner,
        "captured_at": iso(lead.captured_at),
        "mql_at": iso(lead.mql_at),
        "sql_at": iso(lead.sql_at),
        "converted_at": iso(lead.converted_at),
        "won_at": iso(won_at),
        "email_opt_out": lead.email_opt_out,
        "profile": dict(lead.profile),
        "conversion": conversion,
    }


def load_lead_view(store: Store, lead: Lead) -> dict[str, Any]:
    opp = None
    if lead.conversion and lead.conversion.get("opportunity_id"):
        opp = store.find(lead.conversion["opportunity_id"], Opportunity)
    return lead_view(lead, opp)


def contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "id": str(contact.id),
        "emails": list(contact.emails),
        "profile": dict(contact.profile),
        "owner": contact.owner,
        "account_id": str(contact.account_id),
        "activities": [
            {"event_id": a["event_id"], "type": a["type"], "occurred_at": iso(a["occurred_at"])}
            for a in sorted(contact.activities, key=lambda a: (a["occurred_at"], a["event_id"]))
        ],
        "relationships": [
            {"to_contact_id": str(r["to_contact_id"]), "kind": r["kind"], "since": iso(r["since"])}
            for r in contact.relationships
        ],
        "email_opt_out": contact.email_opt_out,
        "lead_ids": [str(i) for i in contact.lead_ids],
    }


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "name": account.name,
        "domain": account.domain,
        "parent_id": _str(account.parent_id),
        "created_at": iso(account.created_at),
    }


def opportunity_view(opp: Opportunity) -> dict[str, Any]:
    return {
        "id": str(opp.id),
        "name": opp.name,
        "amount": money(opp.amount),
        "account_id": str(opp.account_id),
        "contact_id": _str(opp.contact_id),
        "lead_id": _str(opp.lead_id),
        "outcome": opp.outcome,
        "won_amount": money(opp.won_amount),
        "closed_at": iso(opp.closed_at),
    }
