"""The typed forms of leadflow's outbound domain events (CONTRACT 5) that subscribers get:
the envelope every record carries and the payloads with a model of their own. The AsyncAPI
document (asyncapi.py) is generated from them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, WithJsonSchema

# The wire form is a two-place decimal string; handlers get a Decimal to compute with.
Money = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["1250.00"]}),
]


class Envelope(BaseModel):
    """The value of every record on ``leadflow.*.events``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str
    type: str
    schema_version: int
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    position: int
    occurred_at: datetime
    recorded_at: datetime
    causation_id: str | None = None
    actor: str | None = None  # the API key's name that asked for the command, if any
    payload: dict[str, Any]


class Payload(BaseModel):
    """Base of typed payloads. Unknown fields are ignored: payloads may gain fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class AnyPayload(Payload):
    """The fallback for event types without a typed model: every field, as sent."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def data(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class LeadConverted(Payload):
    lead_id: UUID
    # Personal data (CONTRACT 9): null is accepted, for a person whose data was erased.
    email: str | None
    contact_id: UUID
    contact_created: bool
    account_id: UUID
    account_created: bool
    opportunity_id: UUID | None = None
    opportunity_amount: Money | None = None
    owner: str | None = None
    source: str | None = None
    campaign: str | None = None
    converted_at: datetime


class PersonErased(Payload):
    """On ``leadflow.person.events`` (CONTRACT 9): a person's key was destroyed. Delete your
    copies of their personal data (email, names, phone, notes) held under these ids; their
    earlier events, re-delivered from now on, carry none."""

    person_id: UUID
    lead_ids: list[UUID]
    contact_ids: list[UUID]
    account_ids: list[UUID]  # accounts named after the person
    opportunity_ids: list[UUID]
    erased_at: datetime


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    "LeadConverted": LeadConverted,
    "PersonErased": PersonErased,
}
