"""The Account aggregate: normalised name and a parent hierarchy without cycles."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from leadflow.domain.account import Account
from leadflow.domain.errors import HierarchyCycle, RuleViolation

T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)


def account(name: str = "Acme", parent_id: UUID | None = None) -> Account:
    return Account.open(name, "acme.com", T0, parent_id=parent_id)


def test_open_normalises_the_name() -> None:
    acc = Account.open("ACME, Inc.", "acme.com", T0)
    assert acc.name == "ACME, Inc."
    assert acc.normalised_name == "acme"
    assert acc.domain == "acme.com"
    assert acc.parent_id is None
    assert acc.named_after_person is False
    assert [type(e).__name__ for e in acc.collect_events()] == ["AccountCreated"]


def test_set_parent() -> None:
    child, parent = account("Child"), account("Parent")
    child.collect_events()
    hierarchy: dict[UUID, UUID | None] = {parent.id: None}
    assert child.set_parent(parent.id, hierarchy.get, T0) is True
    assert child.parent_id == parent.id
    (changed,) = child.collect_events()
    assert type(changed).__name__ == "AccountParentChanged"
    assert (changed.parent_id, changed.previous) == (parent.id, None)  # type: ignore[attr-defined]


def test_same_parent_again_is_a_no_op() -> None:
    parent = account("Parent")
    child = account("Child", parent_id=parent.id)
    child.collect_events()
    assert child.set_parent(parent.id, lambda _: None, T0) is False
    assert child.collect_events() == []


def test_own_parent_is_a_cycle() -> None:
    acc = account()
    with pytest.raises(HierarchyCycle) as exc:
        acc.set_parent(acc.id, lambda _: None, T0)
    assert isinstance(exc.value, RuleViolation)
    assert exc.value.details == {"account_id": str(acc.id), "parent_id": str(acc.id)}
    assert acc.parent_id is None


def test_descendant_as_parent_is_a_cycle() -> None:
    # root <- a <- b <- c : making c the parent of root closes a loop
    root, a, b, c = account("root"), account("a"), account("b"), account("c")
    parents: dict[UUID, UUID | None] = {root.id: None, a.id: root.id, b.id: a.id, c.id: b.id}
    root.collect_events()
    with pytest.raises(HierarchyCycle):
        root.set_parent(c.id, parents.get, T0)
    assert root.parent_id is None
    assert root.collect_events() == []
    # a sibling branch is fine
    other = account("other")
    parents[other.id] = None
    assert root.set_parent(other.id, parents.get, T0) is True


def test_reparenting_and_clearing_the_parent() -> None:
    p1, p2 = account("p1"), account("p2")
    child = account("child", parent_id=p1.id)
    parents: dict[UUID, UUID | None] = {p1.id: None, p2.id: p1.id}
    assert child.set_parent(p2.id, parents.get, T0) is True
    assert child.parent_id == p2.id
    assert child.set_parent(None, parents.get, T0) is True
    assert child.parent_id is None


def test_existing_loop_elsewhere_is_refused_not_walked_forever() -> None:
    acc = account()
    x, y = uuid4(), uuid4()
    loop = {x: y, y: x}  # a corrupt hierarchy not involving acc
    with pytest.raises(HierarchyCycle):
        acc.set_parent(x, loop.get, T0)


def test_parent_of_is_walked_from_the_proposed_parent() -> None:
    acc = account()
    proposed = uuid4()
    asked: list[UUID] = []

    def parent_of(account_id: UUID) -> UUID | None:
        asked.append(account_id)
        return None

    acc.set_parent(proposed, parent_of, T0)
    assert asked == [proposed]
