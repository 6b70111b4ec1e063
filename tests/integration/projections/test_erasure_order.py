"""Erasure in read models built from the topics (CONTRACT 9): `PersonErased` and a lead's
earlier events come on different topics with no order between them, so a projection
consumer may apply the erasure first and the capture (published before the erasure, still
in Kafka) after it. The personal values must stay out whatever the order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from leadflow.container import Leadflow
from leadflow.projections import schema
from leadflow.projections.handlers import apply

AT = "2026-06-01T10:00:00Z"


def envelope(kind: str, aggregate_type: str, aggregate_id: str, **payload: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()), "type": kind, "schema_version": 1,
        "aggregate_type": aggregate_type, "aggregate_id": aggregate_id, "aggregate_version": 1,
        "occurred_at": AT, "recorded_at": AT, "payload": {"occurred_at": AT, **payload},
    }  # fmt: skip


def captured(lead: str, email: str) -> dict[str, Any]:
    return envelope("LeadCaptured", "Lead", lead, email=email, source="web", campaign=None,
                    event_id=f"in-{lead}")  # fmt: skip


def account(account_id: str, name: str) -> dict[str, Any]:
    return envelope("AccountCreated", "Account", account_id, name=name, domain=None,
                    parent_id=None)  # fmt: skip


@pytest.mark.parametrize("erasure_first", [True, False], ids=["erased-first", "erased-last"])
def test_an_erased_persons_capture_applied_in_any_order_leaves_no_personal_data(
    app: Leadflow, erasure_first: bool
) -> None:
    side = app.store.side
    schema.create(side)
    erased, kept, acct = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    erasure = envelope("PersonErased", "Person", str(uuid.uuid4()), lead_ids=[erased],
                       contact_ids=[], account_ids=[acct], opportunity_ids=[],
                       erased_at=AT)  # fmt: skip
    others = [captured(erased, "gone@example.com"), captured(kept, "stays@example.com"),
              account(acct, "Gone Person")]  # fmt: skip
    ordered = [erasure, *others] if erasure_first else [*others, erasure]
    names = schema.table_names()
    for env in ordered:  # one transaction each, as separate consumer batches would be
        with side.transaction(names) as tx:
            apply(tx, env)
    emails = dict(side.query("SELECT lead_id, email FROM {rm_leads}", (), names))
    assert emails == {erased: None, kept: "stays@example.com"}
    assert side.query("SELECT name FROM {rm_accounts}", (), names) == [(None,)]
    # Counts stay: the erased person's lead is still a captured lead.
    assert side.query("SELECT COUNT(*) FROM {rm_leads}", (), names) == [(2,)]
