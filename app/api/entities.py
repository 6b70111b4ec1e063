"""Reading one lead, contact or account by id (CONTRACT 6), from its aggregate."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from fastapi import APIRouter

from leadflow.api import responses as out
from leadflow.api.errors import ERROR_RESPONSES
from leadflow.application.views import account_view, contact_view, load_lead_view
from leadflow.container import Leadflow
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import NotFound
from leadflow.domain.lead import Lead


class AccountExtras(Protocol):
    def account_extras(self, account_id: UUID) -> dict[str, Any]:
        """`children`, `contacts` and `won_revenue` (of the account and everything under it)."""
        ...


def entity_router(lf: Leadflow, readmodels: AccountExtras | None) -> APIRouter:
    router = APIRouter(responses={404: ERROR_RESPONSES[404], 422: ERROR_RESPONSES[422]})

    @router.get("/leads/{lead_id}", tags=["leads"], **out.documented(out.LeadOut))
    def get_lead(lead_id: UUID) -> dict[str, Any]:
        lead = lf.store.find(lead_id, Lead)
        if lead is None:
            raise NotFound("no such lead", {"lead_id": str(lead_id)})
        return load_lead_view(lf.store, lead)

    @router.get("/contacts/{contact_id}", tags=["contacts"], **out.documented(out.ContactOut))
    def get_contact(contact_id: UUID) -> dict[str, Any]:
        contact = lf.store.find(contact_id, Contact)
        if contact is None:
            raise NotFound("no such contact", {"contact_id": str(contact_id)})
        return contact_view(contact)

    @router.get("/accounts/{account_id}", tags=["accounts"], **out.documented(out.AccountOut))
    def get_account(account_id: UUID) -> dict[str, Any]:
        account = lf.store.find(account_id, Account)
        if account is None:
            raise NotFound("no such account", {"account_id": str(account_id)})
        view = account_view(account)
        if readmodels is not None:
            view.update(readmodels.account_extras(account_id))
        else:
            # TODO: the accounts read model supplies children, contacts and won_revenue (of
            # the whole subtree); without it the aggregate alone cannot answer them.
            view.update(children=[], contacts=[], won_revenue="0.00")
        return view

    return router
