"""CONTRACT 7 as a property: for random histories played through the use cases (business
times from CommandContext), funnel, conversion rates and ROI over the rebuilt read models
equal a straightforward recomputation from the history itself
(history_reference.Reference).

SQLite only, a fresh database per example: this is about the numbers, not the database.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from leadflow.config import load_config
from leadflow.container import build
from leadflow.projections.analytics import Cohort, conversion_rates, roi
from leadflow.projections.rebuild import rebuild
from leadflow.settings import DatabaseSettings, Settings
from tests.integration.projections.answers import check
from tests.integration.projections.history_driver import play
from tests.integration.projections.history_generator import DrawPick, random_cohort, random_plan
from tests.integration.projections.history_reference import Reference


def describe(ref: Reference) -> None:
    """What the history holds (see --hypothesis-show-statistics)."""
    leads = list(ref.leads.values())
    event(f"leads: {min(len(leads), 4)}{'+' if len(leads) >= 4 else ''}")
    for label, present in (
        ("an MQL", any(lead.mql_at for lead in leads)),
        ("an SQL", any(lead.sql_at for lead in leads)),
        ("a conversion", any(lead.converted_at for lead in leads)),
        ("an outcome", any(lead.outcome for lead in leads)),
        ("an Unqualified lead",
         any(s[2] == "Unqualified" for lead in leads for s in lead.statuses)),
        ("an owner", any(lead.owners for lead in leads)),
        ("a restatement", any(s.replaces for s in ref.spend.values())),
        ("contact activity", bool(ref.contacts)),
    ):
        if present:
            event(f"has {label}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_read_models_answer_as_the_history_says(data: st.DataObject) -> None:
    pick = DrawPick(data)
    plan = random_plan(pick)
    cohorts = [random_cohort(pick) for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = build(Settings(data_dir=folder, database=DatabaseSettings.from_url(None, folder)),
                    load_config())
        try:
            ref = play(app, plan)
            describe(ref)
            rebuild(app.store)
            for c in cohorts:
                check(app.store.side, ref, c)
        finally:
            app.close()


# --- money with more than two decimals in (CONTRACT 1: money is rounded half-up) -----------


def small_app(folder: Path) -> Any:
    return build(Settings(data_dir=folder, database=DatabaseSettings.from_url(None, folder)),
                 load_config())


def test_a_sub_cent_spend_amount_is_rounded_half_up(tmp_path: Path) -> None:
    from leadflow.schemas import parse_spend

    app = small_app(tmp_path)
    try:
        amounts = {"ads": "10.125", "social": "0.005", "print": "2.675"}
        app.spend.record([parse_spend({
            "event_id": f"s-{source}", "source": source, "campaign": None, "amount": amount,
            "currency": "USD", "period_start": "2025-01-01", "period_end": "2025-01-31",
        }, "USD") for source, amount in amounts.items()])  # fmt: skip
        rebuild(app.store)
        rows = roi(app.store.side, Cohort(as_of=datetime.now(UTC)), "source")["rows"]
        assert {r["key"]: r["spend"] for r in rows} == {
            "ads": "10.13", "social": "0.01", "print": "2.68"}
    finally:
        app.close()


def test_a_sub_cent_opportunity_amount_is_rounded_half_up(tmp_path: Path) -> None:
    from uuid import UUID

    from leadflow.application.commands import CommandContext
    from leadflow.schemas import parse_engagement

    app = small_app(tmp_path)
    try:
        out = app.engagement.record([parse_engagement({
            "event_id": "e1", "type": "demo_requested", "occurred_at": "2025-03-01T10:00:00Z",
            "email": "ada@example.com", "source": "webinar", "campaign": None,
        })])  # fmt: skip
        ctx = CommandContext(occurred_at=datetime(2025, 3, 2, tzinfo=UTC))
        answer = app.conversion.convert(UUID(out.lead_ids["e1"]), ctx,
                                        opportunity={"name": "deal", "amount": "0.125"})
        app.opportunities.win(UUID(answer["opportunity_id"]), None, ctx)
        rebuild(app.store)
        (row,) = roi(app.store.side, Cohort(as_of=datetime.now(UTC)), "source")["rows"]
        assert row["won_revenue"] == "0.13"
    finally:
        app.close()


# --- owner given by an assignment rule, with the first touch arriving late -----------------


@pytest.mark.parametrize("arrival", ["late event first, one batch", "late event in a later batch"])
def test_a_rule_assigned_owner_holds_from_the_first_touch(tmp_path: Path, arrival: str) -> None:
    from leadflow.schemas import parse_engagement

    config = load_config(overrides={"assignment": {"rules": [{"name": "all", "owner": "alice"}]}})
    app = build(Settings(data_dir=tmp_path,
                         database=DatabaseSettings.from_url(None, tmp_path)), config)

    def record(event_id: str, at: str) -> Any:
        return parse_engagement({"event_id": event_id, "type": "page_viewed", "occurred_at": at,
                                 "email": "ada@example.com", "source": "seo"})

    early, late = record("e1", "2025-03-01T00:00:00Z"), record("e2", "2025-03-10T00:00:00Z")
    try:
        if arrival.endswith("one batch"):
            app.engagement.record([late, early])
        else:
            app.engagement.record([late])
            app.engagement.record([early])
        rebuild(app.store)
        between = Cohort(as_of=datetime(2025, 3, 5, tzinfo=UTC))
        rows = conversion_rates(app.store.side, between, "owner")["rows"]
        # Arrived early first, the same two events give alice from 2025-03-01 on.
        assert [(r["key"], r["leads"]) for r in rows] == [("alice", 1)]
    finally:
        app.close()
