"""Validation of inbound spend records (CONTRACT 4, 9): what is accepted, and every reason
for a rejection."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from leadflow.schemas import MAX_RECORD_BYTES, InvalidRecord, parse_spend

SPEND = {
    "event_id": "spend-2026-09-li",
    "source": "paid_social",
    "campaign": "2026-q3-analytics-webinar",
    "amount": "4200.00",
    "currency": "USD",
    "period_start": "2026-09-01",
    "period_end": "2026-09-30",
    "replaces": None,
}


def spend_rejected(raw: Any, currency: str = "USD") -> str:
    with pytest.raises(InvalidRecord) as exc:
        parse_spend(raw, currency)
    return exc.value.reason


# --- spend --------------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [json.dumps, lambda d: json.dumps(d).encode(), dict])
def test_contract_spend_example(encode: Any) -> None:
    s = parse_spend(encode(SPEND), "USD")
    assert s.event_id == "spend-2026-09-li"
    assert s.source == "paid_social"
    assert s.campaign == "2026-q3-analytics-webinar"
    assert s.amount == Decimal("4200.00")
    assert s.currency == "USD"
    assert s.period_start == date(2026, 9, 1)
    assert s.period_end == date(2026, 9, 30)
    assert s.replaces is None


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0", Decimal("0")), (0, Decimal("0")), (4200, Decimal("4200")), (12.5, Decimal("12.5"))],
)
def test_spend_amount_string_or_number(amount: Any, expected: Decimal) -> None:
    assert parse_spend({**SPEND, "amount": amount}, "USD").amount == expected


def test_spend_single_day_period_and_replaces() -> None:
    s = parse_spend({**SPEND, "period_end": "2026-09-01", "replaces": "spend-2026-09-li-v1"}, "USD")
    assert s.period_start == s.period_end
    assert s.replaces == "spend-2026-09-li-v1"


def test_spend_campaign_optional() -> None:
    s = parse_spend({k: v for k, v in SPEND.items() if k != "campaign"}, "USD")
    assert s.campaign is None


@pytest.mark.parametrize("currency", ["EUR", "usd", "", None, 840])
def test_spend_currency_must_be_the_reporting_currency(currency: Any) -> None:
    assert "currency" in spend_rejected({**SPEND, "currency": currency})


def test_spend_reporting_currency_is_configurable() -> None:
    assert parse_spend({**SPEND, "currency": "EUR"}, "EUR").currency == "EUR"
    assert "USD" in spend_rejected(SPEND, currency="EUR")


def test_spend_period_end_before_start() -> None:
    reason = spend_rejected({**SPEND, "period_start": "2026-09-30", "period_end": "2026-09-01"})
    assert "period_end" in reason


@pytest.mark.parametrize(
    "amount", ["-0.01", -1, "-4200.00", "abc", "", "NaN", "Infinity", True, None, [1], {"v": 1}]
)
def test_spend_invalid_or_negative_amount(amount: Any) -> None:
    assert "amount" in spend_rejected({**SPEND, "amount": amount})


@pytest.mark.parametrize(
    "field", ["event_id", "source", "amount", "currency", "period_start", "period_end"]
)
def test_spend_missing_required_field(field: str) -> None:
    assert field in spend_rejected({k: v for k, v in SPEND.items() if k != field})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", ""),
        ("event_id", "x" * 201),
        ("source", ""),
        ("source", "s" * 101),
        ("period_start", "2026-13-01"),
        ("period_end", "September"),
        ("replaces", ""),
    ],
)
def test_spend_invalid_field(field: str, value: Any) -> None:
    assert field in spend_rejected({**SPEND, field: value})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{nope", "not valid JSON"),
        (b"[]", "JSON object"),
        (json.dumps(SPEND).encode().replace(b"paid_social", b"paid\xffsocial"), "UTF-8"),
        (
            json.dumps({**SPEND, "pad": "x" * MAX_RECORD_BYTES}).encode(),
            str(MAX_RECORD_BYTES),
        ),
    ],
)
def test_spend_record_level_rejections(raw: bytes, reason: str) -> None:
    assert reason in spend_rejected(raw)
