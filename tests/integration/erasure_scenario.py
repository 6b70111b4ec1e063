"""A small history with every kind of personal data, and where to look for it afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from leadflow.application.commands import CommandContext
from leadflow.container import Leadflow
from leadflow.projections.analytics import Cohort, conversion_rates, funnel, roi
from leadflow.projections.rebuild import rebuild
from leadflow.schemas import parse_engagement, parse_spend

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ADA = "ada.byron@analytical.example"
# Every piece of Ada's personal data, as stored somewhere before the erasure.
ADA_SECRETS = (
    ADA, "Augusta", "Kingsbyron", "+44 20 7946 0999", "poetical-science-notes",
    "ada-private-url", "ada-extra-field", "not-interested-augusta",
)  # fmt: skip
BO = "bo.lindqvist@acme.example"


@dataclass
class Built:
    ada_lead: UUID
    bo_lead: UUID
    cy_contact: UUID
    conversion: dict[str, Any]


def ctx(key: str | None = None) -> CommandContext:
    return CommandContext(occurred_at=AT, actor="tester", idempotency_key=key, scope="test")


def _engage(app: Leadflow, email: str, n: int, minutes: int, **over: Any) -> UUID:
    """Event ids are the sender's; these hold no personal data (`ev-<person>-<n>`)."""
    record = {
        "event_id": f"ev-{email[:2].lower()}-{n}", "type": "demo_requested", "email": email,
        "source": "webinar", "campaign": "spring",
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }  # fmt: skip
    record.update(over)
    (lead_id,) = app.engagement.record([parse_engagement(record)]).lead_ids.values()
    return UUID(lead_id)


def engage_again(app: Leadflow, email: str) -> UUID:
    return _engage(app, email, 99, 600)


def build_history(app: Leadflow) -> Built:
    ada_person = {"first_name": "Augusta", "last_name": "Kingsbyron", "phone": "+44 20 7946 0999",
                  "country": "GB", "job_title": "CTO"}  # fmt: skip
    ada = _engage(app, ADA.upper(), 1, 0, person=ada_person,
                  properties={"url": "https://example.com/ada-private-url"},
                  note="ada-extra-field")  # fmt: skip
    _engage(app, ADA, 2, 30, type="webinar_attended")
    bo = _engage(app, BO, 1, 10, person={"first_name": "Bo"})
    _engage(app, BO, 2, 40, type="pricing_page_viewed")
    app.leads.assign(ada, "alice", ctx())
    app.leads.set_status(ada, "Working", "not-interested-augusta", ctx())
    bant = {"budget": True, "authority": True, "need": True, "timeline": True}
    app.leads.qualify(ada, bant, "poetical-science-notes", ctx("q-ada"))
    conversion = app.conversion.convert(
        ada, ctx("conv-ada"), opportunity={"name": "Engines deal", "amount": "1250"}
    )
    app.opportunities.win(UUID(conversion["opportunity_id"]), None, ctx())
    app.spend.record([parse_spend({
        "event_id": "sp-1", "source": "webinar", "campaign": "spring", "amount": "400.00",
        "currency": "USD", "period_start": "2026-03-01", "period_end": "2026-03-31",
    }, "USD")])  # fmt: skip
    cy = app.contacts.create(
        "cy@cyber.example", {"first_name": "Cyrille", "company": "Cyber"}, None, ctx("cy")
    )
    return Built(ada, bo, UUID(cy["id"]), conversion)


def numbers(app: Leadflow) -> dict[str, Any]:
    """Every read-model answer over the whole cohort (without the echoed query)."""
    cohort = Cohort(as_of=AT + timedelta(days=30), from_=None, to=None, source=None,
                    campaign=None, owner=None, stuck_days=14)  # fmt: skip
    side = app.store.side
    out: dict[str, Any] = {"funnel": funnel(side, cohort)["stages"]}
    for by in ("source", "campaign", "owner", "month"):
        out[f"rates:{by}"] = conversion_rates(side, cohort, by)["rows"]
    for by in ("source", "campaign"):
        out[f"roi:{by}"] = roi(side, cohort, by)["rows"]
    return out


def rebuilt_numbers(app: Leadflow) -> dict[str, Any]:
    rebuild(app.store)
    return numbers(app)


def database_text(app: Leadflow) -> str:
    """What the database holds. SQLite: the raw bytes of the file, its WAL and shared
    memory; PostgreSQL: every row of every table in the schema, as text."""
    db = app.store.db
    if db.kind == "sqlite":
        assert db.sqlite_path is not None
        files = [p for p in db.sqlite_path.parent.glob(db.sqlite_path.name + "*") if p.is_file()]
        return b"".join(p.read_bytes() for p in files).decode("latin-1")
    side = app.store.side
    tables = side.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (db.schema,)
    )
    parts = []
    for (table,) in tables:
        rows = side.query(f'SELECT t::text FROM "{db.schema}"."{table}" t')
        parts += [str(r[0]) for r in rows]
    return "\n".join(parts)


def present(text: str, needles: tuple[str, ...]) -> list[str]:
    """The needles found, also as the stored JSON would escape or lower-case them."""
    lowered = text.lower()
    return [n for n in needles if n in text or n.lower() in lowered]
