"""The truth's read models (CONTRACT 7) on hand-made worlds, with numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadflow.simulate import answers
from leadflow.simulate.answers import LeadFacts, Query
from leadflow.simulate.facts import Ledger
from leadflow.simulate.truth import lead_facts
from tests.unit.simulate._hand import Hand, at

A, B, C = "a@acme.example", "b@gmail.com", "c@stark.example"


def play(h: Hand) -> tuple[list[LeadFacts], Ledger]:
    ledger = Ledger(h.world.rules)
    assert ledger.play(h.world.records, h.world.commands, h.world.days) == []
    return [lead_facts(lead, h.world.rules) for lead in ledger.leads.values()], ledger


def three_leads() -> Hand:
    """A: MQL, SQL, converted, won. B: Unqualified. C: SQL without MQL, converted, lost."""
    h = Hand()
    h.touch(A, "demo_requested", at(0), source="webinar")
    h.touch(A, "webinar_attended", at(1, 9), source="webinar")
    h.touch(A, "pricing_page_viewed", at(1), source="webinar")  # 50 -> MQL day 1 10:00
    h.touch(B, "form_submitted", at(1), source="paid_search", campaign=None)
    h.touch(C, "page_viewed", at(2), source="referral", campaign=None)
    h.command(0, at(0, 20), A, "assign", {"owner": "alice"})
    h.command(1, at(1, 20), B, "status", {"status": "Unqualified"})
    h.command(2, at(2, 20), A, "qualify", h.bant(4))
    h.command(2, at(2, 20, 1), C, "assign", {"owner": "alice"})
    h.command(3, at(3, 19), A, "assign", {"owner": "bob"})
    h.command(3, at(3, 20), A, "convert", {"opportunity": {"name": "a", "amount": "1000.00"}})
    h.command(3, at(3, 20, 1), C, "qualify", h.bant(3))
    h.command(4, at(4, 20), C, "convert", {"opportunity": {"name": "c", "amount": "500.00"}})
    h.command(5, at(5, 20), A, "won", {"amount": "900.00"})
    h.command(6, at(6, 20), C, "lost", {"reason": "price"})
    return h


def stage(answer: dict[str, object], name: str) -> dict[str, object]:
    return next(s for s in answer["stages"] if s["stage"] == name)  # type: ignore[attr-defined, index]


def test_funnel_now() -> None:
    leads, _ = play(three_leads())
    f = answers.funnel(leads, Query(), 14)
    counts = [s["count"] for s in f["stages"]]
    assert counts == [3, 2, 2, 2, 1]
    assert stage(f, "mql")["rate_from_previous"] == pytest.approx(2 / 3)
    assert stage(f, "won")["rate_from_previous"] == 0.5
    assert stage(f, "won")["rate_from_captured"] == pytest.approx(1 / 3)
    # mql: A only (1 day). sql: A only, C never was MQL (1 day 10 h). converted: A (1 day)
    # and C (1 day less a minute): the mean of the middle two. won: A (2 days).
    medians = [s["median_days_from_previous"] for s in f["stages"]]
    assert medians == [None, 1.0, pytest.approx(34 / 24), pytest.approx(1 - 1 / 2880), 2.0]
    assert [s["dropped"] for s in f["stages"]] == [1, 0, 0, 1, 0]  # B Unqualified, C lost
    assert [s["stuck"] for s in f["stages"]] == [0, 0, 0, 0, 0]


def test_funnel_as_of_takes_every_attribute_as_it_was() -> None:
    leads, _ = play(three_leads())
    as_of = at(4, 12)  # A converted (won later), C SQL (converted later), B Unqualified
    f = answers.funnel(leads, Query(as_of=as_of), 0)
    assert [s["count"] for s in f["stages"]] == [3, 2, 2, 1, 0]
    # stuck_days 0: A at converted and C at sql for 16 h are stuck; B is dropped instead.
    assert [s["stuck"] for s in f["stages"]] == [0, 0, 1, 1, 0]
    assert [s["dropped"] for s in f["stages"]] == [1, 0, 0, 0, 0]
    before = answers.funnel(leads, Query(as_of=at(1, 12)), 14)
    assert [s["count"] for s in before["stages"]] == [2, 1, 0, 0, 0]  # C not yet captured
    assert stage(before, "captured")["dropped"] == 0  # B became Unqualified at 20:00


def test_rates_by_owner_use_the_owner_at_as_of() -> None:
    leads, _ = play(three_leads())
    now = {r["key"]: r for r in answers.rates(leads, Query(), "owner")["rows"]}
    assert {k: r["leads"] for k, r in now.items()} == {"bob": 1, "alice": 1, "(none)": 1}
    assert now["bob"]["converted_to_won"] == 1.0 and now["alice"]["converted_to_won"] == 0.0
    assert now["(none)"]["mql_to_sql"] is None  # zero denominator
    early = answers.rates(leads, Query(as_of=at(2, 12)), "owner")["rows"]
    assert {r["key"]: r["leads"] for r in early} == {"alice": 1, "(none)": 2}
    only = answers.funnel(leads, Query(owner="(none)"), 14)
    assert stage(only, "captured")["count"] == 1


def roi_world() -> Hand:
    h = Hand()
    h.touch("p1@x.example", "page_viewed", at(0), source="paid_search", campaign="brand")
    h.touch("p2@x.example", "page_viewed", at(1), source="paid_search", campaign="brand")
    h.touch(A, "demo_requested", at(0), source="webinar", campaign="q1")
    h.command(1, at(1, 20), A, "qualify", h.bant(4))
    h.command(3, at(3, 20), A, "convert", {"opportunity": {"name": "a", "amount": "1000.00"}})
    h.command(5, at(5, 20), A, "won", {"amount": "900.00"})
    h.spend("ps-3", "paid_search", "brand", "0.05", 3)
    h.spend("w-3", "webinar", "q1", "1000.00", 3)
    h.spend("w-3r", "webinar", "q1", "1200.00", 3, phase=2, replaces="w-3")
    h.spend("w-4", "webinar", "q1", "500.00", 4)
    h.spend("o-3", "organic", None, "100.00", 3)
    h.spend("o-3", "organic", None, "99999.00", 3, phase=4)  # same event_id: no effect
    return h


def test_roi_spend_after_replacements_rounding_and_keys_without_leads() -> None:
    leads, ledger = play(roi_world())
    rows = {r["key"]: r for r in answers.roi(leads, ledger.spend, Query(), "source")["rows"]}
    assert set(rows) == {"paid_search", "webinar", "organic"}
    ps, web, org = rows["paid_search"], rows["webinar"], rows["organic"]
    assert (ps["spend"], ps["leads"], ps["cost_per_lead"]) == ("0.05", 2, "0.03")  # half-up
    assert (ps["cost_per_conversion"], ps["roi"]) == (None, -1.0)
    assert (web["spend"], web["won_revenue"], web["opportunities"]) == ("1700.00", "900.00", 1)
    assert web["roi"] == pytest.approx((900 - 1700) / 1700)
    assert (org["spend"], org["leads"], org["cost_per_lead"], org["roi"]) == (
        "100.00",
        0,
        None,
        -1.0,
    )
    march = Query(from_=datetime(2025, 3, 1, tzinfo=UTC), to=datetime(2025, 4, 1, tzinfo=UTC))
    web = {r["key"]: r for r in answers.roi(leads, ledger.spend, march, "source")["rows"]}
    assert web["webinar"]["spend"] == "1200.00"
    assert web["webinar"]["roi"] == pytest.approx(-0.25)
    early = Query(as_of=at(1, 12))  # before the conversion; April's spend not yet
    web = {r["key"]: r for r in answers.roi(leads, ledger.spend, early, "source")["rows"]}
    assert (web["webinar"]["spend"], web["webinar"]["opportunities"]) == ("1200.00", 0)
    assert (web["webinar"]["won"], web["webinar"]["roi"]) == (0, -1.0)
    by_campaign = answers.roi(leads, ledger.spend, Query(campaign="(none)"), "campaign")
    assert [(r["key"], r["spend"]) for r in by_campaign["rows"]] == [("(none)", "100.00")]
