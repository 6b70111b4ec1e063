"""Request bodies of the commands (CONTRACT 6). Business rules stay in the use cases; these
only give each field its JSON type, so that a wrong type is a 422 naming the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

# A decimal string or a JSON number; the use case checks the value (>= 0, two places).
Amount = StrictStr | StrictInt | StrictFloat


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON may escape lone surrogates ("\ud800"); no database can store them.
            raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_text(v)
    elif isinstance(value, list):
        for v in value:
            _check_text(v)


class Body(BaseModel):
    # Unknown fields are refused: in a command they are almost always a misspelt one.
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _unicode(cls, v: Any) -> Any:
        _check_text(v)
        return v


class CommandBody(Body):
    occurred_at: datetime | None = Field(
        default=None,
        description="when it happened in the world, RFC 3339 with an offset; default now",
    )

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339(cls, v: Any) -> Any:
        # pydantic would also take Unix timestamps and naive times; the contract says RFC 3339.
        if v is None or isinstance(v, datetime):
            return v
        if not isinstance(v, str) or not _RFC3339.match(v):
            raise ValueError("must be an RFC 3339 date-time string with an offset")
        return v

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.utcoffset() is None:
            raise ValueError("must carry a UTC offset (RFC 3339)")
        try:
            return v.astimezone(UTC) if v is not None else None
        except OverflowError:
            raise ValueError("is outside the representable range of times") from None


class StatusIn(CommandBody):
    status: Literal["Working", "Nurturing", "Unqualified"]
    reason: StrictStr | None = None


class AssignIn(CommandBody):
    owner: StrictStr | None = Field(description="the new owner, or null to unassign")


class QualifyIn(CommandBody):
    budget: StrictBool
    authority: StrictBool
    need: StrictBool
    timeline: StrictBool
    notes: StrictStr | None = None

    def bant(self) -> dict[str, bool]:
        return {
            "budget": self.budget,
            "authority": self.authority,
            "need": self.need,
            "timeline": self.timeline,
        }


class OpportunityIn(Body):
    name: StrictStr
    amount: Amount


class ConvertIn(CommandBody):
    contact_id: UUID | None = None
    account_id: UUID | None = None
    opportunity: OpportunityIn | None = None


class WonIn(CommandBody):
    amount: Amount | None = Field(default=None, description="default: the opportunity's amount")


class LostIn(CommandBody):
    reason: StrictStr


class ContactIn(CommandBody):
    email: StrictStr = Field(max_length=320)
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    company: StrictStr | None = None
    account_id: UUID | None = None

    def profile(self) -> dict[str, Any]:
        return {"first_name": self.first_name, "last_name": self.last_name, "company": self.company}


class OwnerIn(CommandBody):
    owner: StrictStr | None = Field(description="the new owner, or null")


class RelationshipIn(CommandBody):
    to_contact_id: UUID
    kind: StrictStr


class AccountIn(CommandBody):
    name: StrictStr
    domain: StrictStr | None = None
    parent_id: UUID | None = None


class ParentIn(CommandBody):
    parent_id: UUID | None = Field(description="the parent account, or null for none")
