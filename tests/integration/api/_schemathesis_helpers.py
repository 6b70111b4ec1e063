"""Shared by the schemathesis fuzzing (test_schemathesis_fuzz.py) and its pinned edge cases
(test_schemathesis_edge_cases.py): a fresh SQLite `db_settings`, the seed data and the
`seeded` fixture and forged cursors.

Test modules import the fixtures (`db_settings`, `seeded`) so that pytest finds them there.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from leadflow.container import Leadflow
from leadflow.projections.rebuild import rebuild
from leadflow.settings import DatabaseSettings

Ids = dict[str, list[str]]
Case = schemathesis.Case[Any]


@pytest.fixture
def db_settings(tmp_path: Path) -> DatabaseSettings:
    # The HTTP layer is under test, not the database: a fresh SQLite file is enough.
    return DatabaseSettings.from_url(None, tmp_path)


# --- seed data -------------------------------------------------------------------------

SEED_EMAILS = [
    "ada@example.com",
    "bob@acme.test",
    "cy@globex.test",
    "dee@initech.test",
    "eve@gmail.com",
    "fay@hooli.test",
]
SOURCES = ["web", "webinar", "paid_social", "organic", "(none)"]
CAMPAIGNS = ["q3", "spring", "(none)"]


def _event(
    email: str, type: str, at: str, source: str, campaign: str | None, **person: Any
) -> dict[str, Any]:
    return {
        "event_id": f"seed-{uuid.uuid4().hex}",
        "type": type,
        "occurred_at": at,
        "email": email,
        "source": source,
        "campaign": campaign,
        "person": person or None,
        "properties": {"url": "https://example.com/x"},
    }


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def seed(client: httpx.Client, app: Leadflow) -> Ids:
    """Leads at every stage and status, opportunities won, lost and open, contacts and an
    account tree, spend; then the read models rebuilt from the event store."""
    gb = {"country": "GB", "industry": "software", "company": "Analytical Engines Ltd"}
    events = [
        _event("ada@example.com", "webinar_attended", "2026-09-01T10:00:00Z", "webinar", "q3",
               first_name="Ada", **gb),
        _event("ada@example.com", "demo_requested", "2026-09-02T10:00:00Z", "webinar", "q3"),
        _event("ada@example.com", "pricing_page_viewed", "2026-09-03T10:00:00Z", "web", None),
        _event("bob@acme.test", "form_submitted", "2026-08-01T09:00:00+02:00", "web", None,
               company="Acme Inc", country="US", industry="retail"),
        _event("cy@globex.test", "form_submitted", "2026-08-15T09:00:00Z", "paid_social", "q3",
               company="Globex"),
        _event("dee@initech.test", "email_opened", "2026-07-01T09:00:00Z", "web", "spring"),
        _event("eve@gmail.com", "page_viewed", "2026-07-20T09:00:00Z", "organic", None),
        _event("eve@gmail.com", "unsubscribed", "2026-07-21T09:00:00Z", "organic", None),
        _event("fay@hooli.test", "content_downloaded", "2026-06-05T09:00:00Z", "web", "spring",
               company="Hooli"),
    ]  # fmt: skip
    _ok(client.post("/engagement", json=events), 202)
    spend = [
        {"event_id": "seed-spend-web", "source": "web", "campaign": None, "amount": "1000.00",
         "currency": app.currency, "period_start": "2026-08-01", "period_end": "2026-08-31"},
        {"event_id": "seed-spend-ps", "source": "paid_social", "campaign": "q3", "amount": 500,
         "currency": app.currency, "period_start": "2026-09-01", "period_end": "2026-09-30"},
    ]  # fmt: skip
    _ok(client.post("/spend", json=spend), 202)

    leads = []
    for email in SEED_EMAILS:
        ref = app.people.find(email)
        assert ref is not None, email
        leads.append(str(ref.id))
    ada, bob, cy, dee, eve, fay = leads
    bant = {"budget": True, "authority": True, "need": True, "timeline": False}
    opportunities, contacts, accounts = [], [], []
    for lead_id, amount in ((bob, "1200.00"), (cy, 800), (ada, "99.99"), (fay, 0)):
        _ok(client.post(f"/leads/{lead_id}/qualify", json=bant))
        deal = {"name": f"deal {lead_id[:8]}", "amount": amount}
        converted = _ok(client.post(f"/leads/{lead_id}/convert", json={"opportunity": deal}))
        opportunities.append(converted["opportunity_id"])
        contacts.append(converted["contact_id"])
        accounts.append(converted["account_id"])
    _ok(client.post(f"/opportunities/{opportunities[0]}/won", json={}))
    _ok(client.post(f"/opportunities/{opportunities[1]}/lost", json={"reason": "budget"}))
    _ok(client.post(f"/leads/{dee}/status", json={"status": "Unqualified", "reason": "student"}))
    _ok(client.post(f"/leads/{eve}/assign", json={"owner": "alice"}))
    parent = _ok(
        client.post("/accounts", json={"name": "Umbrella", "domain": "umbrella.test"}), 201
    )
    child_of = {"name": "Umbrella EU", "parent_id": parent["id"]}
    child = _ok(client.post("/accounts", json=child_of), 201)
    accounts += [parent["id"], child["id"]]
    grace = _ok(
        client.post(
            "/contacts",
            json={"email": "grace@umbrella.test", "first_name": "Grace", "last_name": "Hopper",
                  "company": "Umbrella", "account_id": child["id"]},
        ),
        201,
    )  # fmt: skip
    contacts.append(grace["id"])
    _ok(client.post(f"/contacts/{grace['id']}/owner", json={"owner": "alice"}))
    relation = {"to_contact_id": contacts[0], "kind": "reports_to"}
    _ok(client.post(f"/contacts/{grace['id']}/relationships", json=relation))
    _ok(client.post(f"/accounts/{accounts[0]}/parent", json={"parent_id": parent["id"]}))
    rebuild(app.store)
    cursors = [
        page["next_cursor"]
        for page in (
            _ok(client.get("/leads", params={"limit": 1})),
            _ok(client.get("/contacts", params={"limit": 1})),
        )
    ]
    return {
        "lead": leads,
        "contact": contacts,
        "account": accounts,
        "opportunity": opportunities,
        "cursor": cursors,
    }


@pytest.fixture
def seeded(app: Leadflow, client: httpx.Client) -> Ids:
    return seed(client, app)


def _forged_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
