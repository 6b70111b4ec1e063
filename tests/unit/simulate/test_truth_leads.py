"""The truth's lead rules on hand-made worlds, against numbers worked out from CONTRACT 3."""

from __future__ import annotations

import pytest

from leadflow.simulate.model import LATE, iso
from leadflow.simulate.rules import SimulationError
from leadflow.simulate.truth import compute
from tests.unit.simulate._hand import Hand, at

ADA = "ada@analytical.example"


def test_a_late_earlier_event_moves_first_touch_and_mql_and_a_duplicate_has_no_effect() -> None:
    h = Hand()
    h.touch(ADA, "webinar_attended", at(1), person={"job_title": "Engineer", "company": "AE"})
    h.touch(
        ADA,
        "demo_requested",
        at(2),
        source="paid_search",
        campaign="brand",
        person={"job_title": "CTO", "company": None},
    )
    e3 = h.touch(ADA, "pricing_page_viewed", at(3))
    # Before the late one: 15, 45, 50 -> MQL at day 3. It happened first and arrives last:
    # 10, 25, 55 -> MQL at day 2, first touch day 0 from organic.
    h.touch(
        ADA,
        "form_submitted",
        at(0, 9),
        phase=3,
        source="organic",
        campaign=None,
        record_kind=LATE,
        person={"job_title": "Intern"},
    )
    h.again(e3, phase=4)  # would add 30 points if the second payload won
    lead = compute(h.world)["leads"][ADA]
    assert lead["score"] == 10 + 15 + 30 + 5
    assert lead["mql_at"] == iso(at(2))
    assert (lead["captured_at"], lead["source"], lead["campaign"]) == (
        iso(at(0, 9)),
        "organic",
        None,
    )
    assert lead["score_breakdown"] == ["e004", "e001", "e002", "e003"]
    # Per field the latest occurred_at wins; the late record is older; nulls are ignored.
    assert lead["profile"] == {"job_title": "CTO", "company": "AE"}
    assert (lead["stage"], lead["status"]) == ("mql", "New")


def test_below_threshold_no_mql_and_unsubscribe_sets_opt_out() -> None:
    h = Hand()
    h.touch(ADA, "demo_requested", at(0))
    h.touch(ADA, "webinar_attended", at(1))
    h.touch(ADA, "unsubscribed", at(2))
    lead = compute(h.world)["leads"][ADA]
    assert (lead["score"], lead["mql_at"], lead["email_opt_out"]) == (45, None, True)


def test_contact_email_engagement_is_activity_not_a_lead_and_after_conversion_too() -> None:
    h = Hand()
    h.command(
        0,
        at(-30),
        "bob@globex.example",
        "create_contact",
        {"email": "bob@globex.example"},
        expect=201,
        before_publish=True,
    )
    bob = h.touch("bob@globex.example", "demo_requested", at(0))
    h.touch("carol@initech.example", "form_submitted", at(0))
    h.touch("carol@initech.example", "demo_requested", at(2))
    h.command(2, at(2, 20), "carol@initech.example", "convert", link="bob@globex.example")
    after = h.touch("carol@initech.example", "webinar_attended", at(3))
    # A contact cannot be created for an email that has a lead: refused.
    h.command(3, at(3, 21), "carol@initech.example", "create_contact", expect=409)
    truth = compute(h.world)
    assert "bob@globex.example" not in truth["leads"]
    assert truth["not_leads"] == ["bob@globex.example"]
    carol = truth["leads"]["carol@initech.example"]
    assert (carol["score"], carol["status"], carol["stage"]) == (40, "Converted", "converted")
    assert carol["contact"] == "bob@globex.example"
    assert truth["contacts"]["bob@globex.example"] == sorted([bob.event_id, after.event_id])


def lifecycle(h: Hand, refused_convert: int) -> None:
    d = "dave@hooli.example"
    h.touch(d, "page_viewed", at(0))
    steps = [
        ("status", {"status": "Unqualified"}, 200),
        ("convert", {}, refused_convert),
        ("qualify", h.bant(4), 409),
        ("status", {"status": "Working"}, 200),
        ("qualify", h.bant(2), 409),
        ("qualify", h.bant(3), 200),
        ("convert", {"opportunity": {"name": "x", "amount": "100.00"}}, 200),
        ("convert", {}, 409),
        ("won", {"amount": "90.00"}, 200),
        ("lost", {"reason": "x"}, 409),
    ]
    for i, (action, body, code) in enumerate(steps):
        h.command(1, at(1, 12, i), d, action, body, expect=code)


def test_lifecycle_answers_follow_the_contract() -> None:
    h = Hand()
    lifecycle(h, refused_convert=409)
    lead = compute(h.world)["leads"]["dave@hooli.example"]
    assert (lead["status"], lead["stage"], lead["outcome"]) == ("Converted", "won", "won")
    assert lead["sql_at"] == iso(at(1, 12, 5)) and lead["mql_at"] is None
    assert lead["won_at"] == iso(at(1, 12, 8))


def test_a_world_whose_expected_answers_are_wrong_is_refused() -> None:
    h = Hand()
    lifecycle(h, refused_convert=200)  # an Unqualified lead cannot be converted
    with pytest.raises(SimulationError):
        compute(h.world)
