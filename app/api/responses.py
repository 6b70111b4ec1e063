"""Response bodies of the HTTP API (CONTRACT 6 and 7), for the OpenAPI document.

The routes build plain dicts (the views of `leadflow.application.views`, the read models of
`leadflow.projections`); these models only describe them. A route uses one through
`documented(Model)`, which documents the model for the route's success status without making
FastAPI validate or filter the answer at run time (`response_model=None`): a field a view
gains shows up in the answer at once, and the API tests hold the documented shape.

Fields not listed here are allowed in an answer (JSON Schema's default): answers may gain
fields, as the contract's event payloads may.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

# All times are RFC 3339; output is UTC with `Z` (CONTRACT 1).
UtcTime = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
        description="RFC 3339 time in UTC (`Z`)",
        examples=["2026-09-14T14:02:11Z"],
    ),
]
# Money: a decimal string with two places in the reporting currency (CONTRACT 1).
Money = Annotated[
    str,
    Field(
        pattern=r"^-?\d+\.\d{2}$",
        description="decimal string with two places, reporting currency",
        examples=["1250.00"],
    ),
]
# Rates and ratios: JSON numbers (fractions), `null` when the denominator is zero.
Rate = Annotated[float | None, Field(description="a fraction; null for a zero denominator")]
Count = Annotated[int, Field(ge=0)]

LeadStatus = Literal["New", "Working", "Nurturing", "Unqualified", "Converted"]
Stage = Literal["captured", "mql", "sql", "converted", "won"]


# --- ingest (POST /engagement, POST /spend) ---------------------------------------------


class RejectedItem(BaseModel):
    index: Count = Field(description="position of the item in the request (0 for one object)")
    error: str = Field(description="why the item was not taken")


class IngestAccepted(BaseModel):
    """202: the valid items were taken; invalid ones are answered here, not dead-lettered."""

    accepted: Count
    rejected: list[RejectedItem]


# --- leads -----------------------------------------------------------------------------


class ScoreItem(BaseModel):
    event_id: str
    type: str
    points: int
    occurred_at: UtcTime


class ConversionRef(BaseModel):
    contact_id: UUID
    account_id: UUID
    opportunity_id: UUID | None


class LeadOut(BaseModel):
    id: UUID
    email: str | None = Field(description="normalised email; null once the person is erased")
    status: LeadStatus
    stage: Stage = Field(description="highest stage reached")
    outcome: Literal["won", "lost"] | None = Field(description="the opportunity's outcome")
    score: int
    score_breakdown: list[ScoreItem] = Field(description="every accepted event, 0 points too")
    source: str | None
    campaign: str | None
    owner: str | None
    captured_at: UtcTime
    mql_at: UtcTime | None
    sql_at: UtcTime | None
    converted_at: UtcTime | None
    won_at: UtcTime | None
    email_opt_out: bool
    profile: dict[str, Any]
    conversion: ConversionRef | None


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class LeadStatusOut(BaseModel):
    id: UUID
    status: LeadStatus


class OwnerOut(BaseModel):
    """The new owner of a lead or contact (null: unassigned)."""

    id: UUID
    owner: str | None


class QualifyOut(BaseModel):
    id: UUID
    stage: Literal["sql"]
    sql_at: UtcTime


class ConvertOut(BaseModel):
    lead_id: UUID
    contact_id: UUID
    contact_created: bool
    account_id: UUID
    account_created: bool
    opportunity_id: UUID | None


# --- opportunities ---------------------------------------------------------------------


class WonOut(BaseModel):
    id: UUID
    outcome: Literal["won"]
    amount: Money


class LostOut(BaseModel):
    id: UUID
    outcome: Literal["lost"]


# --- contacts --------------------------------------------------------------------------


class Activity(BaseModel):
    event_id: str
    type: str
    occurred_at: UtcTime


class Relationship(BaseModel):
    to_contact_id: UUID
    kind: str
    since: UtcTime | None = None


class ContactOut(BaseModel):
    id: UUID
    emails: list[str]
    profile: dict[str, Any]
    owner: str | None
    account_id: UUID
    activities: list[Activity]
    relationships: list[Relationship]
    email_opt_out: bool | None = None
    lead_ids: list[UUID] | None = Field(default=None, description="leads converted into it")


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class ContactCreated(BaseModel):
    id: UUID
    account_id: UUID
    account_created: bool


class RelationshipOut(BaseModel):
    id: UUID
    to_contact_id: UUID
    kind: str


# --- accounts --------------------------------------------------------------------------


class AccountOut(BaseModel):
    id: UUID
    name: str
    domain: str | None
    parent_id: UUID | None
    created_at: UtcTime | None = None
    children: list[UUID]
    contacts: list[UUID]
    won_revenue: Money = Field(description="won amounts of the account and everything under it")


class AccountCreated(BaseModel):
    id: UUID


class ParentOut(BaseModel):
    id: UUID
    parent_id: UUID | None


# --- read models (CONTRACT 7) ----------------------------------------------------------


class RoiQuery(BaseModel):
    """The query as understood: times in UTC, filters as given (null: not filtered)."""

    from_: UtcTime | None = Field(alias="from")
    to: UtcTime | None
    source: str | None
    campaign: str | None
    as_of: UtcTime


class CohortQuery(RoiQuery):
    owner: str | None


class FunnelQuery(CohortQuery):
    stuck_days: Count


class FunnelStage(BaseModel):
    stage: Stage
    count: Count
    rate_from_previous: Rate
    rate_from_captured: Rate
    median_days_from_previous: float | None
    stuck: Count
    dropped: Count


class Funnel(BaseModel):
    query: FunnelQuery
    stages: list[FunnelStage] = Field(
        min_length=5, max_length=5, description="captured, mql, sql, converted, won"
    )


class RatesRow(BaseModel):
    key: str = Field(description='the source, campaign, owner or month (YYYY-MM); "(none)"')
    leads: Count
    mql: Count
    sql: Count
    converted: Count
    won: Count
    lead_to_mql: Rate
    mql_to_sql: Rate
    sql_to_converted: Rate
    converted_to_won: Rate
    lead_to_converted: Rate


class ConversionRates(BaseModel):
    query: CohortQuery
    by: Literal["source", "campaign", "owner", "month"]
    rows: list[RatesRow]


class RoiRow(BaseModel):
    key: str = Field(description='the source or campaign; "(none)"')
    spend: Money
    leads: Count
    mql: Count
    sql: Count
    converted: Count
    opportunities: Count
    won: Count
    won_revenue: Money
    cost_per_lead: Money | None
    cost_per_conversion: Money | None
    roi: float | None = Field(description="(won_revenue - spend) / spend; null without spend")


class Roi(BaseModel):
    query: RoiQuery
    by: Literal["source", "campaign"]
    rows: list[RoiRow]


# --- operations ------------------------------------------------------------------------


class RelayStatus(BaseModel):
    position: Count
    lag: Count


class ProjectionStatus(BaseModel):
    name: str
    position: Count
    lag: Count


class ConsumerStatus(BaseModel):
    group: str
    topic: str
    lag: Count


class Status(BaseModel):
    """All lags 0: the read models are up to date with everything accepted."""

    kafka_bootstrap: str | None
    stored_events: Count | None = None
    relay: RelayStatus
    projections: list[ProjectionStatus]
    consumers: list[ConsumerStatus]


def documented(model: type[BaseModel], status: int = 200) -> dict[str, Any]:
    """Route keyword arguments that document `model` as the answer with `status`, leaving the
    route's return value as it is (no run-time validation or filtering):
    `@router.get("/funnel", **documented(Funnel))`."""
    return {"response_model": None, "responses": {status: {"model": model}}}
