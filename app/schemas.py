"""Validation of inbound records (engagement, spend): one rule set for topics, HTTP and files."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leadflow import strictjson
from leadflow.domain.engagement import ENGAGEMENT_TYPES, PROFILE_FIELDS, Engagement
from leadflow.domain.errors import InvalidInput
from leadflow.domain.identity import normalise_email

MAX_RECORD_BYTES = 64 * 1024
MAX_REASON_CHARS = 500
MAX_FUTURE = timedelta(hours=24)
MAX_AMOUNT = Decimal(10) ** 15
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class InvalidRecord(ValueError):
    """An inbound record that is rejected; `reason` is for a person to read. Bounded, as it
    travels in a DLQ header and in HTTP answers of up to 1,000 items."""

    def __init__(self, reason: str) -> None:
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        super().__init__(reason)
        self.reason = reason


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=300)
    job_title: str | None = Field(default=None, max_length=300)
    country: str | None = None
    company_size: int | None = Field(default=None, ge=0, strict=True)
    industry: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=100)
    product_interest: str | None = Field(default=None, max_length=200)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is not None and not _COUNTRY.fullmatch(v):
            raise ValueError("must be an ISO 3166-1 alpha-2 code")
        return v.upper() if v is not None else None


class EngagementIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=1, max_length=200)
    type: str
    occurred_at: datetime
    email: str = Field(max_length=320)
    source: str = Field(min_length=1, max_length=100)
    campaign: str | None = Field(default=None, max_length=300)
    person: PersonIn | None = None
    properties: dict[str, Any] | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in ENGAGEMENT_TYPES:
            raise ValueError(
                f"unknown type {v[:50]!r}; expected one of {', '.join(ENGAGEMENT_TYPES)}"
            )
        return v

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        # pydantic would also take Unix timestamps; the contract says RFC 3339 text.
        if isinstance(v, datetime):
            return v
        if not isinstance(v, str) or not _RFC3339.match(v):
            raise ValueError("must be an RFC 3339 date-time string with an offset")
        return v

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("must carry a UTC offset (RFC 3339)")
        try:
            return v.astimezone(UTC)
        except OverflowError:
            raise ValueError("is outside the representable range of times") from None


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=100)
    campaign: str | None = Field(default=None, max_length=300)
    amount: Decimal
    currency: str
    period_start: date
    period_end: date
    replaces: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> Decimal:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise ValueError("must be a decimal string or a number")
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise ValueError("must be a decimal string or a number") from None
        if not d.is_finite() or d < 0 or d >= MAX_AMOUNT:
            raise ValueError(f"must be an amount >= 0 and below {MAX_AMOUNT:,}")
        return d


def _explain(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def _too_large(size: int) -> InvalidRecord:
    return InvalidRecord(f"record too large: {size} bytes; the limit is {MAX_RECORD_BYTES} bytes")


def _load(raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """The record's size is that of its UTF-8 JSON as received (a topic's value, a line of a
    file); a dict (from a caller that parsed it) is measured as `json.dumps` writes it."""
    if isinstance(raw, dict):
        data: Any = raw
        size = len(json.dumps(raw, default=str).encode())
    else:
        size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
        if size > MAX_RECORD_BYTES:
            # Before parsing: a large record costs nothing to refuse.
            raise _too_large(size)
        made = strictjson.flaws_made()
        try:
            data = strictjson.loads(raw)
        except strictjson.JsonFlaw as e:
            raise InvalidRecord(f"record {e.reason}") from None
    if size > MAX_RECORD_BYTES:
        raise _too_large(size)
    if not isinstance(data, dict | strictjson.Flaw):
        raise InvalidRecord("record must be a JSON object")
    try:
        if isinstance(raw, dict) or strictjson.needs_check(raw, made):
            strictjson.check(data)
    except strictjson.JsonFlaw as e:
        raise InvalidRecord(f"record {e.reason}") from None
    assert isinstance(data, dict)
    return data


def parse_engagement(raw: bytes | str | dict[str, Any], now: datetime | None = None) -> Engagement:
    data = _load(raw)
    try:
        model = EngagementIn.model_validate(data)
    except ValidationError as e:
        raise InvalidRecord(_explain(e)) from None
    now = now or datetime.now(UTC)
    if model.occurred_at > now + MAX_FUTURE:
        raise InvalidRecord("occurred_at: more than 24 hours in the future")
    try:
        email = normalise_email(model.email)
    except InvalidInput:
        raise InvalidRecord("email: not a valid address") from None
    person: dict[str, Any] = {}
    if model.person is not None:
        dumped = model.person.model_dump()
        person = {k: v for k, v in dumped.items() if k in PROFILE_FIELDS and v is not None}
    known = set(EngagementIn.model_fields)
    extra = {k: v for k, v in data.items() if k not in known}
    return Engagement(
        event_id=model.event_id,
        type=model.type,
        occurred_at=model.occurred_at,
        email=email,
        source=model.source,
        campaign=model.campaign,
        person=person,
        properties=dict(model.properties or {}),
        extra=extra,
    )


def parse_spend(raw: bytes | str | dict[str, Any], currency: str) -> SpendIn:
    data = _load(raw)
    try:
        model = SpendIn.model_validate(data)
    except ValidationError as e:
        raise InvalidRecord(_explain(e)) from None
    if model.currency != currency:
        raise InvalidRecord(
            f"currency: {model.currency[:10]!r} is not the reporting currency {currency}"
        )
    if model.period_end < model.period_start:
        raise InvalidRecord("period_end: before period_start")
    return model
