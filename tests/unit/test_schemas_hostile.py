"""Hostile inbound records (CONTRACT 3.4, 9): JSON that Python's parser would take but RFC 8259
or the store would not, and reasons that are bounded and never quote personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.schemas import (
    MAX_REASON_CHARS,
    MAX_RECORD_BYTES,
    InvalidRecord,
    parse_engagement,
    parse_spend,
)

NOW = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
MINIMAL = (
    b'{"event_id": "e1", "type": "page_viewed", "occurred_at": "2026-09-14T10:00:00Z", '
    b'"email": "ada@example.com", "source": "web"'
)


def rejected(raw: Any) -> str:
    with pytest.raises(InvalidRecord) as exc:
        parse_engagement(raw, now=NOW)
    assert 0 < len(exc.value.reason) <= MAX_REASON_CHARS
    return exc.value.reason


def with_field(text: bytes) -> bytes:
    return MINIMAL + b", " + text + b"}"


def test_the_base_record_is_valid() -> None:
    assert parse_engagement(MINIMAL + b"}", now=NOW).event_id == "e1"


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (b'"properties": {"n": 1e999999}', "too large for a 64-bit float"),
        (b'"properties": {"n": -1e400}', "too large for a 64-bit float"),
        (b'"properties": {"n": ' + b"9" * 101 + b"}", "more than 100 digits"),
        (b'"properties": {"n": -' + b"9" * 60_000 + b"}", "more than 100 digits"),
        (b'"properties": {"n": NaN}', "NaN"),
        (b'"properties": {"n": Infinity}', "NaN or Infinity"),
        (b'"properties": {"n": -Infinity}', "NaN or Infinity"),
        (b'"source": "ads"', "'source' twice"),
        (b'"properties": {"a": 1, "a": 1}', "'a' twice"),
        (b'"properties": {"ada@example.com": 1, "ada@example.com": 1}', "a key twice"),
        (b'"campaign": "\\ud800"', "lone surrogate"),
        (b'"properties": {"\\udfff": 1}', "lone surrogate"),
        (b'"campaign": "a\\u0000b"', "NUL"),
        (b'"properties": ' + b"[" * 32 + b"]" * 32, "nested deeper than 32"),
        (b'"properties": ' + b"[" * 30_000 + b"]" * 30_000, "nested deeper than 32"),
    ],
)
def test_hostile_json_is_rejected_with_a_reason(field: bytes, reason: str) -> None:
    got = rejected(with_field(field))
    assert reason in got
    assert got.startswith("record ")
    assert "ada@example.com" not in got


def test_nesting_up_to_the_limit_is_accepted() -> None:
    # The record is level 1, properties level 2: 30 more levels of arrays inside.
    raw = with_field(b'"properties": {"a": ' + b"[" * 30 + b"]" * 30 + b"}")
    assert parse_engagement(raw, now=NOW).properties == {"a": json.loads("[" * 30 + "]" * 30)}


def test_large_but_finite_numbers_are_accepted() -> None:
    raw = with_field(b'"properties": {"i": ' + b"9" * 100 + b', "f": 1.5e308, "g": 1e-999}')
    assert parse_engagement(raw, now=NOW).properties == {
        "i": int("9" * 100),
        "f": 1.5e308,
        "g": 0.0,
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xef\xbb\xbf" + MINIMAL + b"}", "byte order mark"),
        (b"[" * 60_000, "nested deeper"),
        (b"{" * 60_000, "not valid JSON"),
        (b"1e999999", "too large for a 64-bit float"),
        (b"[1]", "JSON object"),
        (b"x" * (MAX_RECORD_BYTES + 1), "record too large"),
        (b"[" * 100_000, "record too large"),
    ],
)
def test_hostile_records(raw: bytes, reason: str) -> None:
    assert reason in rejected(raw)


def test_dicts_from_callers_are_checked_too() -> None:
    record = json.loads(MINIMAL + b"}")
    assert "lone surrogate" in rejected({**record, "campaign": "\ud800"})
    assert "NaN or Infinity" in rejected({**record, "properties": {"x": float("inf")}})


def test_spend_gets_the_same_checks() -> None:
    raw = (
        b'{"event_id": "s1", "source": "web", "amount": 1e999, "currency": "USD", '
        b'"period_start": "2026-09-01", "period_end": "2026-09-30"}'
    )
    with pytest.raises(InvalidRecord, match="too large for a 64-bit float"):
        parse_spend(raw, "USD")


def test_reasons_are_bounded() -> None:
    assert len(InvalidRecord("x" * 10_000).reason) == MAX_REASON_CHARS
    assert InvalidRecord("x" * 10_000).reason == str(InvalidRecord("x" * 10_000))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_random_bytes_are_parsed_or_rejected(raw: bytes) -> None:
    try:
        parse_engagement(raw, now=NOW)
    except InvalidRecord as e:
        assert 0 < len(e.reason) <= MAX_REASON_CHARS


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["event_id", "type", "occurred_at", "email", "source", "person", "properties", "campaign"]
    ),
    JSONISH,
)
def test_any_field_value_is_parsed_or_rejected(field: str, value: Any) -> None:
    record = {**json.loads(MINIMAL + b"}"), field: value}
    for raw in (json.dumps(record).encode(), record):
        try:
            parse_engagement(raw, now=NOW)
        except InvalidRecord as e:
            assert 0 < len(e.reason) <= MAX_REASON_CHARS
