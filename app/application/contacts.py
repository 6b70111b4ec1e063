"""Use cases on contacts: create one without a lead, change owner, relate two contacts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from leadflow.application.accounts import AccountMatcher
from leadflow.application.changes import Changes
from leadflow.application.commands import CommandContext, CommandRunner
from leadflow.application.conversion import person_name
from leadflow.application.people import CONTACT, LEAD, PeopleIndex, PersonRef
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import InvalidInput, NotFound, PersonExists, UnknownReference
from leadflow.domain.identity import normalise_email
from leadflow.infra.store import Store


def load_contact(store: Store, contact_id: UUID) -> Contact:
    contact = store.find(contact_id, Contact)
    if contact is None:
        raise NotFound("no such contact", {"contact_id": str(contact_id)})
    return contact


class ManageContacts:
    def __init__(
        self, store: Store, runner: CommandRunner, people: PeopleIndex, matcher: AccountMatcher
    ) -> None:
        self._store = store
        self._runner = runner
        self._people = people
        self._matcher = matcher

    def create(
        self,
        email: str,
        profile: dict[str, Any],
        account_id: UUID | None,
        ctx: CommandContext,
    ) -> dict[str, Any]:
        try:
            email = normalise_email(email)
        except InvalidInput as e:
            raise InvalidInput(e.message, {"field": "email"}) from None
        for k, v in profile.items():
            if v is not None and (not isinstance(v, str) or len(v) > 300):
                raise InvalidInput(f"{k} must be a string of at most 300 characters")
        clean = {k: v for k, v in profile.items() if v is not None}

        def decide(changes: Changes) -> dict[str, Any]:
            existing = self._people.find(email)
            if existing is not None:
                key = "lead_id" if existing.kind == LEAD else "contact_id"
                raise PersonExists(
                    f"that email already belongs to a {existing.kind}", {key: str(existing.id)}
                )
            if account_id is not None:
                account = self._store.find(account_id, Account)
                if account is None:
                    raise UnknownReference(
                        "account_id names no account", {"account_id": str(account_id)}
                    )
                created = False
            else:
                account, created = self._matcher.match_or_open(
                    clean.get("company"), email, person_name(clean, email), ctx, changes
                )
            contact = Contact(
                email=email,
                profile=clean,
                account_id=account.id,
                owner=None,
                lead_id=None,
                occurred_at=ctx.occurred_at,
                audit=ctx.audit(),
            )
            changes.add(contact)
            changes.write(self._people.claim(email, PersonRef(CONTACT, contact.id)))
            # An account named after the person carries their name: their key encrypts it.
            named = created and account.named_after_person
            changes.write(
                *self._store.keys.new_person(contact.id, *([account.id] if named else []))
            )
            return {
                "id": str(contact.id),
                "account_id": str(account.id),
                "account_created": created,
            }

        return self._runner.run(ctx, decide)

    def set_owner(self, contact_id: UUID, owner: str | None, ctx: CommandContext) -> dict[str, Any]:
        if owner is not None and (not owner.strip() or len(owner) > 200):
            raise InvalidInput("owner must be 1-200 characters, or null")

        def decide(changes: Changes) -> dict[str, Any]:
            contact = load_contact(self._store, contact_id)
            if contact.change_owner(owner, ctx.occurred_at, ctx.audit()):
                changes.add(contact)
            return {"id": str(contact.id), "owner": contact.owner}

        return self._runner.run(ctx, decide)

    def relate(
        self, contact_id: UUID, to_contact_id: UUID, kind: str, ctx: CommandContext
    ) -> dict[str, Any]:
        def decide(changes: Changes) -> dict[str, Any]:
            contact = load_contact(self._store, contact_id)
            if self._store.find(to_contact_id, Contact) is None:
                raise UnknownReference(
                    "to_contact_id names no contact", {"to_contact_id": str(to_contact_id)}
                )
            if contact.relate(to_contact_id, kind, ctx.occurred_at, ctx.audit()):
                changes.add(contact)
            return {"id": str(contact.id), "to_contact_id": str(to_contact_id), "kind": kind}

        return self._runner.run(ctx, decide)
