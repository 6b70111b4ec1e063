"""Assignment rules: ordered, owner or queue (fewest open leads, ties by name), or none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from leadflow.domain.assignment import Assignment, AssignmentPolicy, AssignmentRule

QUEUES = {"emea": ("carol", "alice", "bob"), "us": ("dave",)}


def loads_of(table: Mapping[str, int]):  # type: ignore[no-untyped-def]
    asked: list[tuple[str, ...]] = []

    def open_leads(members: Sequence[str]) -> Mapping[str, int]:
        asked.append(tuple(members))
        return {m: table[m] for m in members if m in table}

    open_leads.asked = asked  # type: ignore[attr-defined]
    return open_leads


def policy(*rules: AssignmentRule) -> AssignmentPolicy:
    return AssignmentPolicy(rules=rules, queues=QUEUES)


def test_no_rules_gives_no_owner() -> None:
    assert AssignmentPolicy().decide({"country": "GB"}, loads_of({})) is None


def test_no_matching_rule_gives_no_owner() -> None:
    p = policy(AssignmentRule("uk", match={"country": ("GB",)}, owner="alice"))
    assert p.decide({"country": "FR"}, loads_of({})) is None
    assert p.decide({}, loads_of({})) is None
    assert p.decide({"country": None}, loads_of({})) is None


def test_owner_rule() -> None:
    p = policy(AssignmentRule("uk", match={"country": ("GB", "IE")}, owner="alice"))
    assert p.decide({"country": "ie"}, loads_of({})) == Assignment("alice", "uk", None)


def test_first_matching_rule_wins() -> None:
    p = policy(
        AssignmentRule("webinar", match={"source": ("webinar",)}, owner="wendy"),
        AssignmentRule("uk", match={"country": ("GB",)}, owner="alice"),
        AssignmentRule("catch-all", owner="zed"),
    )
    assert p.decide({"country": "GB", "source": "webinar"}, loads_of({})).owner == "wendy"  # type: ignore[union-attr]
    assert p.decide({"country": "GB", "source": "ads"}, loads_of({})).owner == "alice"  # type: ignore[union-attr]
    assert p.decide({"country": "FR", "source": "ads"}, loads_of({})) == Assignment(
        "zed", "catch-all", None
    )


def test_every_match_field_must_match() -> None:
    rule = AssignmentRule(
        "uk-software", match={"country": ("GB",), "industry": ("Software",)}, owner="alice"
    )
    assert rule.matches({"country": "GB", "industry": " software "})
    assert not rule.matches({"country": "GB", "industry": "retail"})
    assert not rule.matches({"country": "GB"})
    assert AssignmentRule("any", owner="x").matches({})


def test_queue_gives_member_with_fewest_open_leads() -> None:
    p = policy(AssignmentRule("uk", match={"country": ("GB",)}, queue="emea"))
    open_leads = loads_of({"carol": 1, "alice": 5, "bob": 2})
    assert p.decide({"country": "GB"}, open_leads) == Assignment("carol", "uk", "emea")
    assert sorted(open_leads.asked[0]) == ["alice", "bob", "carol"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("loads", "owner"),
    [
        ({"carol": 2, "alice": 2, "bob": 2}, "alice"),
        ({"carol": 1, "alice": 2, "bob": 1}, "bob"),
        ({}, "alice"),  # nobody holds anything: ties by name
        ({"alice": 3}, "bob"),  # a member missing from the answer holds none
    ],
)
def test_queue_ties_broken_by_name(loads: dict[str, int], owner: str) -> None:
    p = policy(AssignmentRule("all", queue="emea"))
    decision = p.decide({}, loads_of(loads))
    assert decision == Assignment(owner, "all", "emea")


def test_rules_can_match_source_and_campaign() -> None:
    p = policy(
        AssignmentRule("q3", match={"campaign": ("2026-Q3",)}, queue="us"),
    )
    assert p.decide({"campaign": "2026-q3", "source": "x"}, loads_of({})) == Assignment(
        "dave", "q3", "us"
    )
    assert p.decide({"campaign": None}, loads_of({})) is None
