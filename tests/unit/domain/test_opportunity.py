"""The Opportunity aggregate: won or lost, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from leadflow.domain.errors import InvalidInput, OutcomeAlreadyRecorded, RuleViolation
from leadflow.domain.opportunity import Opportunity

T0 = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=30)


def opportunity(amount: str = "1250.00") -> Opportunity:
    opp = Opportunity(
        name="Analytics rollout",
        amount=Decimal(amount),
        account_id=uuid4(),
        contact_id=uuid4(),
        lead_id=uuid4(),
        occurred_at=T0,
        audit=None,
    )
    opp.collect_events()
    return opp


def test_opened() -> None:
    opp = opportunity()
    assert opp.outcome is None
    assert opp.closed_at is None
    assert opp.won_amount is None
    assert opp.opened_at == T0


def test_won_with_default_amount() -> None:
    opp = opportunity("1250.00")
    opp.win(None, T1)
    assert opp.outcome == "won"
    assert opp.won_amount == Decimal("1250.00")
    assert opp.closed_at == T1
    (won,) = opp.collect_events()
    assert type(won).__name__ == "OpportunityWon"
    assert won.amount == Decimal("1250.00")  # type: ignore[attr-defined]


def test_won_with_given_amount() -> None:
    opp = opportunity("1250.00")
    opp.win(Decimal("999.99"), T1)
    assert opp.won_amount == Decimal("999.99")


def test_won_with_zero_amount_is_not_the_default() -> None:
    opp = opportunity("1250.00")
    opp.win(Decimal("0"), T1)
    assert opp.won_amount == Decimal("0")


def test_negative_won_amount_is_invalid() -> None:
    opp = opportunity()
    with pytest.raises(InvalidInput):
        opp.win(Decimal("-1"), T1)
    assert opp.outcome is None
    assert opp.collect_events() == []


def test_lost_with_reason() -> None:
    opp = opportunity()
    opp.lose("went with a competitor", T1)
    assert opp.outcome == "lost"
    assert opp.closed_at == T1
    assert opp.won_amount is None
    (lost,) = opp.collect_events()
    assert type(lost).__name__ == "OpportunityLost"
    assert lost.reason == "went with a competitor"  # type: ignore[attr-defined]


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_lost_needs_a_reason(reason: str) -> None:
    opp = opportunity()
    with pytest.raises(InvalidInput):
        opp.lose(reason, T1)
    assert opp.outcome is None
    assert opp.collect_events() == []


@pytest.mark.parametrize("first", ["won", "lost"])
@pytest.mark.parametrize("second", ["won", "lost"])
def test_outcome_is_recorded_once(first: str, second: str) -> None:
    opp = opportunity()
    if first == "won":
        opp.win(None, T1)
    else:
        opp.lose("no budget", T1)
    opp.collect_events()
    with pytest.raises(OutcomeAlreadyRecorded) as exc:
        if second == "won":
            opp.win(Decimal("5"), T1 + timedelta(days=1))
        else:
            opp.lose("changed mind", T1 + timedelta(days=1))
    assert isinstance(exc.value, RuleViolation)
    assert exc.value.details == {"opportunity_id": str(opp.id), "outcome": first}
    assert opp.outcome == first
    assert opp.closed_at == T1
    assert opp.collect_events() == []
