"""`POST /people/erase` (CONTRACT 9 "Personal data"): erase a person by their email.

Idempotent like every command, with one difference in what is stored: the answer lists the
person's ids, and the usual fingerprint is a plain hash of a body holding the email, so
anyone who knows the email could find the erased person's ids through it. Here the stored
key is a hash of the Idempotency-Key and the fingerprint an HMAC keyed by it: only the
client that holds the key can tie the answer to the email.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictStr

from leadflow.api.commands import Meta
from leadflow.api.errors import ERROR_RESPONSES
from leadflow.api.models import Body
from leadflow.api.responses import documented
from leadflow.application.commands import CommandContext
from leadflow.container import Leadflow


class ErasureIn(Body):
    email: StrictStr = Field(max_length=320, description="the person's email (any case)")


class ErasedOut(BaseModel):
    erased: bool
    person_id: UUID = Field(description="the id of the person's destroyed key")
    lead_ids: list[UUID]
    contact_ids: list[UUID]
    account_ids: list[UUID] = Field(description="accounts named after the person")
    opportunity_ids: list[UUID]


def private_context(ctx: CommandContext) -> CommandContext:
    if ctx.idempotency_key is None:
        return ctx
    secret = ctx.idempotency_key.encode()
    return dataclasses.replace(
        ctx,
        idempotency_key=hashlib.sha256(secret).hexdigest(),
        fingerprint=hmac.new(secret, ctx.fingerprint.encode(), hashlib.sha256).hexdigest(),
    )


def people_router(lf: Leadflow) -> APIRouter:
    router = APIRouter(responses=ERROR_RESPONSES)

    @router.post("/people/erase", tags=["people"], **documented(ErasedOut))
    def erase(body: ErasureIn, meta: Meta) -> dict[str, Any]:
        """Destroys the person's key: their email, names, phone and notes become unreadable
        everywhere; counts, rates and amounts stay. 404 when no person has that email."""
        return lf.erasure.erase(body.email, private_context(meta.context(None)))

    return router
