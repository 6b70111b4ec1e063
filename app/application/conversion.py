"""Use case: convert a lead, in one atomic step, into a contact under an account, and
optionally an opportunity (CONTRACT 3.3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from leadflow.application.accounts import AccountMatcher
from leadflow.application.changes import Changes
from leadflow.application.commands import CommandContext, CommandRunner
from leadflow.application.leads import load_lead
from leadflow.application.people import CONTACT, PeopleIndex, PersonRef
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import ConversionRefused, InvalidInput, UnknownReference
from leadflow.domain.lead import Lead
from leadflow.domain.opportunity import Opportunity
from leadflow.infra.store import Store

MAX_AMOUNT = Decimal("1e15")


def person_name(profile: dict[str, Any], email: str) -> str:
    name = " ".join(str(profile.get(k) or "").strip() for k in ("first_name", "last_name"))
    return name.strip() or email


class ConvertLead:
    def __init__(
        self, store: Store, runner: CommandRunner, people: PeopleIndex, matcher: AccountMatcher
    ) -> None:
        self._store = store
        self._runner = runner
        self._people = people
        self._matcher = matcher

    def convert(
        self,
        lead_id: UUID,
        ctx: CommandContext,
        contact_id: UUID | None = None,
        account_id: UUID | None = None,
        opportunity: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        opp_name, opp_amount = _check_opportunity(opportunity)

        def decide(changes: Changes) -> dict[str, Any]:
            lead = load_lead(self._store, lead_id)
            lead.check_convertible()
            if lead.email is None:
                raise ConversionRefused("the lead's person was erased", {"lead_id": str(lead_id)})
            contact, account, account_created = self._resolve(
                lead, contact_id, account_id, ctx, changes
            )
            if contact is not None and any(e is None for e in contact.emails):
                raise ConversionRefused(
                    "the contact's person was erased", {"contact_id": str(contact.id)}
                )
            contact_created = contact is None
            if contact is None:
                contact = Contact(
                    email=lead.email,
                    profile=dict(lead.profile),
                    profile_stamps=dict(lead.profile_stamps),
                    account_id=account.id,
                    owner=lead.owner,
                    lead_id=lead.id,
                    occurred_at=ctx.occurred_at,
                    audit=ctx.audit(),
                )
            else:
                contact.add_email(lead.email, lead.id, ctx.occurred_at)
            opp = None
            if opp_name is not None and opp_amount is not None:
                opp = Opportunity(
                    name=opp_name,
                    amount=opp_amount,
                    account_id=account.id,
                    contact_id=contact.id,
                    lead_id=lead.id,
                    occurred_at=ctx.occurred_at,
                    audit=ctx.audit(),
                )
            was_open = lead.is_open
            lead.convert(
                contact_id=contact.id,
                contact_created=contact_created,
                account_id=account.id,
                account_created=account_created,
                opportunity_id=opp.id if opp else None,
                opportunity_amount=opp_amount,
                occurred_at=ctx.occurred_at,
                audit=ctx.audit(),
            )
            if was_open:
                changes.open_leads_delta(lead.owner, -1)
            # Later engagement for this email is the contact's activity.
            changes.write(self._people.repoint(lead.email, PersonRef(CONTACT, contact.id)))
            # One person, one key: what conversion creates for the lead is the lead's.
            named = account_created and account.named_after_person
            mine = [contact.id] if contact_created else []
            mine += ([account.id] if named else []) + ([opp.id] if opp else [])
            changes.write(*self._store.keys.join(lead.id, *mine))
            changes.add(lead, contact, account if account_created else None, opp)
            return {
                "lead_id": str(lead.id),
                "contact_id": str(contact.id),
                "contact_created": contact_created,
                "account_id": str(account.id),
                "account_created": account_created,
                "opportunity_id": str(opp.id) if opp else None,
            }

        return self._runner.run(ctx, decide)

    def _resolve(
        self,
        lead: Lead,
        contact_id: UUID | None,
        account_id: UUID | None,
        ctx: CommandContext,
        changes: Changes,
    ) -> tuple[Contact | None, Account, bool]:
        contact = None
        if contact_id is not None:
            contact = self._store.find(contact_id, Contact)
            if contact is None:
                raise UnknownReference(
                    "contact_id names no contact", {"contact_id": str(contact_id)}
                )
        if account_id is not None:
            account = self._store.find(account_id, Account)
            if account is None:
                raise UnknownReference(
                    "account_id names no account", {"account_id": str(account_id)}
                )
            return contact, account, False
        if contact is not None:
            return contact, self._store.get(contact.account_id, Account), False
        account, created = self._matcher.match_or_open(
            lead.profile.get("company"),
            lead.email,
            person_name(lead.profile, lead.email),
            ctx,
            changes,
        )
        return contact, account, created


def _check_opportunity(opportunity: dict[str, Any] | None) -> tuple[str | None, Decimal | None]:
    if opportunity is None:
        return None, None
    name = opportunity.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 300:
        raise InvalidInput("opportunity.name must be 1-300 characters")
    amount = parse_amount(opportunity.get("amount"), "opportunity.amount")
    return name.strip(), amount


def parse_amount(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput(f"{name} must be a decimal string or a number")
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
            raise InvalidInput(f"{name} must be an amount >= 0 and below {MAX_AMOUNT}")
        return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except ArithmeticError:
        raise InvalidInput(f"{name} must be a decimal string or a number") from None
