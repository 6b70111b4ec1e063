"""Spend restatements: `replaces` chains, whatever the arrival order."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.domain.spend import Spend, effective_spend


def spend(event_id: str, amount: str, replaces: str | None = None) -> Spend:
    return Spend(
        event_id=event_id,
        source="paid_social",
        campaign="q3",
        amount=Decimal(amount),
        currency="USD",
        period_start=date(2026, 9, 1),
        period_end=date(2026, 9, 30),
        replaces=replaces,
    )


def ids(records: list[Spend]) -> list[str]:
    return sorted(r.event_id for r in records)


def test_spend_id_derives_from_event_id() -> None:
    a, b = spend("s1", "1.00"), spend("s1", "2.00")
    assert Spend.create_id("s1") == Spend.create_id("s1") != Spend.create_id("s2")
    assert a.id == b.id == Spend.create_id("s1")


def test_records_without_replacement_all_count() -> None:
    records = [spend("a", "1.00"), spend("b", "2.00")]
    assert ids(effective_spend(records)) == ["a", "b"]


def test_restatement_replaces_the_original() -> None:
    records = [spend("a", "100.00"), spend("a2", "90.00", replaces="a"), spend("b", "5.00")]
    assert ids(effective_spend(records)) == ["a2", "b"]


def test_chain_of_restatements_in_every_order() -> None:
    records = [
        spend("a", "100.00"),
        spend("a2", "90.00", replaces="a"),
        spend("a3", "95.00", replaces="a2"),
        spend("b", "7.00"),
    ]
    for order in itertools.permutations(records):
        effective = effective_spend(list(order))
        assert ids(effective) == ["a3", "b"]
        assert sum(r.amount for r in effective) == Decimal("102.00")


def test_restatement_of_an_unknown_record_counts() -> None:
    assert ids(effective_spend([spend("x2", "3.00", replaces="x")])) == ["x2"]


def test_empty() -> None:
    assert effective_spend([]) == []


@settings(max_examples=100)
@given(st.data())
def test_effective_spend_is_order_independent(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=8))
    records = []
    for i in range(n):
        target = None
        if i > 0:
            target = data.draw(st.one_of(st.none(), st.integers(min_value=0, max_value=i - 1)))
        replaces = None if target is None else f"s{target}"
        records.append(spend(f"s{i}", f"{i}.00", replaces))
    order = data.draw(st.permutations(records))
    replaced = {r.replaces for r in records if r.replaces}
    expected = sorted(r.event_id for r in records if r.event_id not in replaced)
    assert ids(effective_spend(list(order))) == expected
    assert ids(effective_spend(list(order))) == ids(effective_spend(records))
