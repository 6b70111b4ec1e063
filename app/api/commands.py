"""Command endpoints (CONTRACT 6): lead, opportunity, contact and account commands.

Each route only turns the request into a use-case call. Idempotency itself (replaying the
stored answer, refusing a different body under the same key) is the CommandRunner's: this
module gives it the key, the scope (method and path) and the fingerprint of the body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response

from leadflow.api import responses as out
from leadflow.api.errors import ERROR_RESPONSES, ApiError
from leadflow.api.models import (
    AccountIn,
    AssignIn,
    ContactIn,
    ConvertIn,
    LostIn,
    OwnerIn,
    ParentIn,
    QualifyIn,
    RelationshipIn,
    StatusIn,
    WonIn,
)
from leadflow.application.commands import CommandContext
from leadflow.container import Leadflow
from leadflow.domain.errors import InvalidInput

MAX_KEY_LENGTH = 255
MAX_FUTURE = timedelta(hours=24)


@dataclass(frozen=True)
class CommandMeta:
    actor: str | None
    idempotency_key: str | None
    scope: str
    fingerprint: str

    def context(self, occurred_at: datetime | None) -> CommandContext:
        if occurred_at is not None and occurred_at > datetime.now(UTC) + MAX_FUTURE:
            # The same bound as engagement: business time may lag, not lead, by much.
            raise InvalidInput(
                "occurred_at: more than 24 hours in the future", {"field": "occurred_at"}
            )
        return CommandContext(
            occurred_at=occurred_at or datetime.now(UTC),
            actor=self.actor,
            idempotency_key=self.idempotency_key,
            scope=self.scope,
            fingerprint=self.fingerprint,
        )


async def command_meta(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="the same key again (same method, path and body) replays the answer",
        ),
    ] = None,
) -> CommandMeta:
    if idempotency_key is not None and not (
        0 < len(idempotency_key) <= MAX_KEY_LENGTH and idempotency_key.isprintable()
    ):
        raise ApiError(
            422,
            "invalid_input",
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters",
            {"field": "Idempotency-Key"},
        )
    # The bytes as sent: a body that differs in any way is a different request.
    body = await request.body()
    return CommandMeta(
        # The API key's name, set by KeyAuth (CONTRACT 9 "Audit").
        actor=getattr(request.state, "actor", None),
        idempotency_key=idempotency_key,
        scope=f"{request.method} {request.url.path}",
        fingerprint=hashlib.sha256(body).hexdigest(),
    )


Meta = Annotated[CommandMeta, Depends(command_meta)]


def command_router(lf: Leadflow) -> APIRouter:
    # Plain `def` routes: FastAPI runs them in its thread pool, as the use cases block.
    router = APIRouter(responses=ERROR_RESPONSES)

    @router.post("/leads/{lead_id}/status", tags=["leads"], **out.documented(out.LeadStatusOut))
    def set_status(lead_id: UUID, body: StatusIn, meta: Meta) -> dict[str, Any]:
        return lf.leads.set_status(
            lead_id, body.status, body.reason, meta.context(body.occurred_at)
        )

    @router.post("/leads/{lead_id}/assign", tags=["leads"], **out.documented(out.OwnerOut))
    def assign(lead_id: UUID, body: AssignIn, meta: Meta) -> dict[str, Any]:
        return lf.leads.assign(lead_id, body.owner, meta.context(body.occurred_at))

    @router.post("/leads/{lead_id}/qualify", tags=["leads"], **out.documented(out.QualifyOut))
    def qualify(lead_id: UUID, body: QualifyIn, meta: Meta) -> dict[str, Any]:
        return lf.leads.qualify(lead_id, body.bant(), body.notes, meta.context(body.occurred_at))

    @router.post("/leads/{lead_id}/convert", tags=["leads"], **out.documented(out.ConvertOut))
    def convert(lead_id: UUID, body: ConvertIn, meta: Meta) -> dict[str, Any]:
        return lf.conversion.convert(
            lead_id,
            meta.context(body.occurred_at),
            contact_id=body.contact_id,
            account_id=body.account_id,
            opportunity=body.opportunity.model_dump() if body.opportunity else None,
        )

    @router.post(
        "/opportunities/{opportunity_id}/won", tags=["opportunities"], **out.documented(out.WonOut)
    )
    def won(opportunity_id: UUID, meta: Meta, body: WonIn | None = None) -> dict[str, Any]:
        body = body or WonIn()
        return lf.opportunities.win(opportunity_id, body.amount, meta.context(body.occurred_at))

    @router.post(
        "/opportunities/{opportunity_id}/lost",
        tags=["opportunities"],
        **out.documented(out.LostOut),
    )
    def lost(opportunity_id: UUID, body: LostIn, meta: Meta) -> dict[str, Any]:
        return lf.opportunities.lose(opportunity_id, body.reason, meta.context(body.occurred_at))

    @router.post(
        "/contacts", status_code=201, tags=["contacts"], **out.documented(out.ContactCreated, 201)
    )
    def create_contact(body: ContactIn, meta: Meta, response: Response) -> dict[str, Any]:
        answer = lf.contacts.create(
            body.email, body.profile(), body.account_id, meta.context(body.occurred_at)
        )
        response.headers["Location"] = f"/contacts/{answer['id']}"
        return answer

    @router.post("/contacts/{contact_id}/owner", tags=["contacts"], **out.documented(out.OwnerOut))
    def set_contact_owner(contact_id: UUID, body: OwnerIn, meta: Meta) -> dict[str, Any]:
        return lf.contacts.set_owner(contact_id, body.owner, meta.context(body.occurred_at))

    @router.post(
        "/contacts/{contact_id}/relationships",
        tags=["contacts"],
        **out.documented(out.RelationshipOut),
    )
    def relate(contact_id: UUID, body: RelationshipIn, meta: Meta) -> dict[str, Any]:
        return lf.contacts.relate(
            contact_id, body.to_contact_id, body.kind, meta.context(body.occurred_at)
        )

    @router.post(
        "/accounts", status_code=201, tags=["accounts"], **out.documented(out.AccountCreated, 201)
    )
    def create_account(body: AccountIn, meta: Meta, response: Response) -> dict[str, Any]:
        answer = lf.accounts.create(
            body.name, body.domain, body.parent_id, meta.context(body.occurred_at)
        )
        response.headers["Location"] = f"/accounts/{answer['id']}"
        return answer

    @router.post(
        "/accounts/{account_id}/parent", tags=["accounts"], **out.documented(out.ParentOut)
    )
    def set_parent(account_id: UUID, body: ParentIn, meta: Meta) -> dict[str, Any]:
        return lf.accounts.set_parent(account_id, body.parent_id, meta.context(body.occurred_at))

    return router
