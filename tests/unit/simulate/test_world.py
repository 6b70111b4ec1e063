"""The generated world: deterministic per seed, faults in the fractions set, every record
valid or invalid exactly as the contract says (checked with leadflow's own validation)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from leadflow.schemas import InvalidRecord, parse_engagement, parse_spend
from leadflow.simulate.model import DUPLICATE, ENGAGEMENT, EVENT, LATE, MALFORMED, SPEND, World
from leadflow.simulate.truth import compute
from leadflow.simulate.world import generate

FRACTIONS = {"duplicate": 0.08, "late": 0.06, "malformed": 0.03}


@pytest.fixture(scope="module")
def world() -> World:
    return generate(5, days=8, leads_per_day=25, fractions=FRACTIONS)


def fingerprint(w: World) -> list[object]:
    return [(r.topic, r.phase, r.kind, r.key, r.value) for r in w.records] + [
        (c.phase, c.at, c.action, c.key, c.expect, json.dumps(c.body)) for c in w.commands
    ]


def test_the_same_seed_gives_the_same_world_and_truth(world: World) -> None:
    again = generate(5, days=8, leads_per_day=25, fractions=FRACTIONS)
    assert fingerprint(again) == fingerprint(world)
    assert json.dumps(compute(again)) == json.dumps(compute(world))
    assert fingerprint(generate(6, days=8, leads_per_day=25, fractions=FRACTIONS)) != fingerprint(
        world
    )


def test_fractions_are_as_set(world: World) -> None:
    kinds = Counter(r.kind for r in world.records)
    unique_engagement = kinds[EVENT] + kinds[LATE]
    valid = len([r for r in world.records if r.kind not in (DUPLICATE, MALFORMED)])
    assert kinds[LATE] == round(FRACTIONS["late"] * unique_engagement)
    assert kinds[DUPLICATE] == round(FRACTIONS["duplicate"] * valid)
    bad = Counter(r.topic for r in world.records if r.kind == MALFORMED)
    assert bad[ENGAGEMENT] == round(FRACTIONS["malformed"] * unique_engagement)
    assert bad[SPEND] >= 1


def test_late_records_come_after_a_later_event_of_the_same_person(world: World) -> None:
    newest: dict[str, datetime] = {}
    late_ones = moved_first_touch = 0
    for r in world.records:
        if r.touch is None or r.kind == DUPLICATE:
            continue
        if r.kind == LATE:
            late_ones += 1
            assert newest[r.touch.email] > r.touch.at
        newest[r.touch.email] = max(newest.get(r.touch.email, r.touch.at), r.touch.at)
    truth = compute(world)
    for r in world.records:
        lead = truth["leads"].get(r.email or "")
        if r.kind == LATE and lead and lead["score_breakdown"][0] == r.touch.event_id:  # type: ignore[union-attr]
            moved_first_touch += 1
    assert late_ones > 0 and moved_first_touch > 0


def test_duplicates_repeat_an_earlier_event_id_in_order(world: World) -> None:
    first: dict[str, int] = {}
    for i, r in enumerate(world.records):
        ident = r.touch.event_id if r.touch else r.spend.event_id if r.spend else None
        if ident is None:
            continue
        if r.kind == DUPLICATE:
            assert ident in first and first[ident] < i
        else:
            first.setdefault(ident, i)


def test_valid_records_pass_and_malformed_ones_fail_leadflow_validation(world: World) -> None:
    now = datetime.now(UTC)
    for r in world.records:
        if r.topic == ENGAGEMENT and r.kind != MALFORMED:
            assert parse_engagement(r.value, now).event_id == r.touch.event_id  # type: ignore[union-attr]
        elif r.topic == ENGAGEMENT:
            with pytest.raises(InvalidRecord):
                parse_engagement(r.value, now)
        elif r.kind != MALFORMED:
            parse_spend(r.value, world.rules.currency)
        else:
            with pytest.raises(InvalidRecord):
                parse_spend(r.value, world.rules.currency)


def test_the_organisation_does_everything_the_contract_describes(world: World) -> None:
    truth = compute(world)
    actions = Counter((c.action, c.expect) for c in world.commands)
    for action in ("create_contact", "assign", "status", "qualify", "convert"):
        assert actions[(action, 201 if action == "create_contact" else 200)] > 0, action
    stages = Counter(lead["stage"] for lead in truth["leads"].values())
    assert stages["captured"] > stages["mql"] > 0 and stages["converted"] > 0
    assert truth["not_leads"] and truth["dlq"]["engagement"] and truth["dlq"]["spend"]
    assert any(
        r["key"] == "trade_show" and r["leads"] == 0
        for q in truth["queries"]
        if q["path"] == "/roi?by=source"
        for r in q["expect"]["rows"]
    )
