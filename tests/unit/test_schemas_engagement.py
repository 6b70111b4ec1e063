"""Validation of inbound engagement records (CONTRACT 3, 3.4, 9): what is accepted, and
every reason for a rejection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from leadflow.schemas import MAX_RECORD_BYTES, InvalidRecord, parse_engagement

NOW = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)

CONTRACT_EXAMPLE = {
    "event_id": "mkto-8812731",
    "type": "webinar_attended",
    "occurred_at": "2026-09-14T16:02:11+02:00",
    "email": "Ada.Lovelace@Example.com ",
    "source": "webinar",
    "campaign": "2026-q3-analytics-webinar",
    "person": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines Ltd",
        "job_title": "CTO",
        "country": "GB",
        "company_size": 120,
        "industry": "software",
        "phone": "+44 20 7946 0000",
        "product_interest": "analytics",
    },
    "properties": {"url": "https://example.com/webinars/42"},
}

MINIMAL = {
    "event_id": "e1",
    "type": "page_viewed",
    "occurred_at": "2026-09-14T10:00:00Z",
    "email": "a@example.com",
    "source": "web",
}


_DROP = object()


def rec(**changes: Any) -> dict[str, Any]:
    out = dict(MINIMAL)
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key)
        else:
            out[key] = value
    return out


def rejected(raw: Any) -> str:
    with pytest.raises(InvalidRecord) as exc:
        parse_engagement(raw, now=NOW)
    assert exc.value.reason == str(exc.value)
    assert exc.value.reason
    return exc.value.reason


# --- engagement: accepted ----------------------------------------------------------------


@pytest.mark.parametrize("encode", [json.dumps, lambda d: json.dumps(d).encode(), dict])
def test_contract_example_is_accepted(encode: Any) -> None:
    e = parse_engagement(encode(CONTRACT_EXAMPLE), now=NOW)
    assert e.event_id == "mkto-8812731"
    assert e.type == "webinar_attended"
    assert e.email == "ada.lovelace@example.com"
    assert e.source == "webinar"
    assert e.campaign == "2026-q3-analytics-webinar"
    assert e.occurred_at == datetime(2026, 9, 14, 14, 2, 11, tzinfo=UTC)
    assert e.occurred_at.utcoffset() == timedelta(0)
    assert e.person == CONTRACT_EXAMPLE["person"]
    assert e.properties == {"url": "https://example.com/webinars/42"}
    assert e.extra == {}


@pytest.mark.parametrize(
    ("given", "utc"),
    [
        ("2026-09-14T16:02:11+02:00", datetime(2026, 9, 14, 14, 2, 11, tzinfo=UTC)),
        ("2026-09-14T00:30:00-05:30", datetime(2026, 9, 14, 6, 0, tzinfo=UTC)),
        ("2026-09-14T10:00:00Z", datetime(2026, 9, 14, 10, 0, tzinfo=UTC)),
        ("2026-09-14T10:00:00.250+00:00", datetime(2026, 9, 14, 10, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_occurred_at_is_converted_to_utc(given: str, utc: datetime) -> None:
    e = parse_engagement(rec(occurred_at=given), now=NOW)
    assert e.occurred_at == utc
    assert e.occurred_at.tzinfo == UTC


def test_minimal_record_has_empty_optionals() -> None:
    e = parse_engagement(rec(), now=NOW)
    assert e.campaign is None
    assert e.person == {}
    assert e.properties == {}
    assert e.extra == {}


def test_unknown_top_level_fields_are_kept_in_extra() -> None:
    e = parse_engagement(
        rec(tenant="eu-1", score_hint=7, nested={"a": [1, 2]}, campaign=None), now=NOW
    )
    assert e.extra == {"tenant": "eu-1", "score_hint": 7, "nested": {"a": [1, 2]}}


def test_properties_are_kept_as_given() -> None:
    props = {"url": "https://x", "n": 3, "deep": {"list": [1, None, "a"]}, "flag": False}
    assert parse_engagement(rec(properties=props), now=NOW).properties == props


def test_person_fields_are_optional_and_nulls_dropped() -> None:
    e = parse_engagement(
        rec(person={"first_name": "Ada", "company": None, "company_size": 0}), now=NOW
    )
    assert e.person == {"first_name": "Ada", "company_size": 0}
    assert parse_engagement(rec(person=None), now=NOW).person == {}
    assert parse_engagement(rec(person={}), now=NOW).person == {}


def test_country_is_upper_cased() -> None:
    assert parse_engagement(rec(person={"country": "gb"}), now=NOW).person == {"country": "GB"}


@pytest.mark.parametrize("length", [1, 200])
def test_event_id_length_bounds_accepted(length: int) -> None:
    assert parse_engagement(rec(event_id="x" * length), now=NOW).event_id == "x" * length


@pytest.mark.parametrize("length", [1, 100])
def test_source_length_bounds_accepted(length: int) -> None:
    assert parse_engagement(rec(source="s" * length), now=NOW).source == "s" * length


def test_occurred_at_exactly_24h_ahead_is_accepted() -> None:
    limit = NOW + timedelta(hours=24)
    given = limit.astimezone(timezone(timedelta(hours=5))).isoformat()
    assert given.endswith("+05:00")
    assert parse_engagement(rec(occurred_at=given), now=NOW).occurred_at == limit


def test_record_of_exactly_the_limit_is_accepted() -> None:
    base = json.dumps(rec(properties={"pad": ""})).encode()
    pad = MAX_RECORD_BYTES - len(base)
    raw = json.dumps(rec(properties={"pad": "p" * pad})).encode()
    assert len(raw) == MAX_RECORD_BYTES
    assert parse_engagement(raw, now=NOW).properties == {"pad": "p" * pad}


def test_utf8_non_ascii_is_accepted() -> None:
    raw = json.dumps(rec(person={"last_name": "Müller-Lüdenscheidt"}), ensure_ascii=False)
    e = parse_engagement(raw.encode("utf-8"), now=NOW)
    assert e.person == {"last_name": "Müller-Lüdenscheidt"}


# --- engagement: rejected ----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"event_id": "e1",}', "{'a': 1}", b"\x00"])
def test_invalid_json(raw: bytes | str) -> None:
    assert "not valid JSON" in rejected(raw)


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"1", b"null", b"true", b"[{}]"])
def test_non_object(raw: bytes) -> None:
    assert "JSON object" in rejected(raw)


@pytest.mark.parametrize("field", ["event_id", "type", "occurred_at", "email", "source"])
def test_missing_required_field(field: str) -> None:
    reason = rejected(rec(**{field: _DROP}))
    assert field in reason


@pytest.mark.parametrize("field", ["event_id", "type", "occurred_at", "email", "source"])
def test_null_required_field(field: str) -> None:
    assert field in rejected(rec(**{field: None}))


@pytest.mark.parametrize("event_id", ["", "x" * 201, 123, ["e1"]])
def test_invalid_event_id(event_id: Any) -> None:
    assert "event_id" in rejected(rec(event_id=event_id))


@pytest.mark.parametrize("type_", ["tweet_liked", "Page_Viewed", "", "LeadCaptured"])
def test_unknown_type(type_: str) -> None:
    reason = rejected(rec(type=type_))
    assert "type" in reason
    assert "unknown type" in reason or not type_


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-09-14T10:00:00",
        "2026-09-14 10:00:00",
        "2026-09-14",
        "yesterday",
        "",
        "2026-13-01T00:00Z",
    ],
)
def test_occurred_at_without_offset_or_invalid(occurred_at: str) -> None:
    assert "occurred_at" in rejected(rec(occurred_at=occurred_at))


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-09-16T12:00:01Z",
        "2026-09-16T17:00:01+05:00",  # 12:00:01Z
        "2027-01-01T00:00:00Z",
    ],
)
def test_occurred_at_more_than_24h_in_future(occurred_at: str) -> None:
    reason = rejected(rec(occurred_at=occurred_at))
    assert "occurred_at" in reason
    assert "future" in reason


def test_future_check_uses_the_clock_by_default() -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=25)).isoformat()
    with pytest.raises(InvalidRecord, match="future"):
        parse_engagement(rec(occurred_at=ahead))
    past = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    assert parse_engagement(rec(occurred_at=past)).event_id == "e1"


@pytest.mark.parametrize(
    "email",
    ["", "   ", "no-at-sign", "a@b", "a@@b.com", "a b@c.com", "@c.com", "x" * 320 + "@a.com", 42],
)
def test_invalid_email(email: Any) -> None:
    assert "email" in rejected(rec(email=email))


@pytest.mark.parametrize("source", ["", "s" * 101, 5])
def test_invalid_source(source: Any) -> None:
    assert "source" in rejected(rec(source=source))


@pytest.mark.parametrize("campaign", [5, ["q3"], {"name": "q3"}])
def test_campaign_must_be_string_or_null(campaign: Any) -> None:
    assert "campaign" in rejected(rec(campaign=campaign))


@pytest.mark.parametrize("size", [-1, 1.5, "120", True, [1], -1000])
def test_company_size_must_be_a_non_negative_integer(size: Any) -> None:
    assert "person.company_size" in rejected(rec(person={"company_size": size}))


@pytest.mark.parametrize("country", ["GBR", "G", "", "1A", "G B", "United Kingdom", 44])
def test_country_must_be_alpha_2(country: Any) -> None:
    assert "person.country" in rejected(rec(person={"country": country}))


def test_non_ascii_country_is_not_alpha_2() -> None:
    assert "person.country" in rejected(rec(person={"country": "ß"}))


@pytest.mark.parametrize("person", ["Ada", ["Ada"], 3])
def test_person_must_be_an_object(person: Any) -> None:
    assert "person" in rejected(rec(person=person))


@pytest.mark.parametrize("properties", ["x", [1, 2], 3])
def test_properties_must_be_an_object(properties: Any) -> None:
    assert "properties" in rejected(rec(properties=properties))


@pytest.mark.parametrize("as_type", [bytes, str, dict])
def test_record_over_64_kib(as_type: type) -> None:
    base = json.dumps(rec(properties={"pad": ""})).encode()
    pad = MAX_RECORD_BYTES - len(base) + 1
    record = rec(properties={"pad": "p" * pad})
    raw: Any = json.dumps(record)
    if as_type is bytes:
        raw = raw.encode()
        assert len(raw) == MAX_RECORD_BYTES + 1
    elif as_type is dict:
        raw = record
    reason = rejected(raw)
    assert str(MAX_RECORD_BYTES) in reason


def test_oversized_non_ascii_string_counts_bytes() -> None:
    # 22,000 three-byte characters: < 64 Ki characters but > 64 KiB of UTF-8
    raw = json.dumps(rec(properties={"pad": "€" * 22_000}), ensure_ascii=False)
    assert len(raw) < MAX_RECORD_BYTES < len(raw.encode())
    assert str(MAX_RECORD_BYTES) in rejected(raw)


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(MINIMAL).encode().replace(b'"web"', b'"w\xffb"'),
        json.dumps(MINIMAL).encode().replace(b'"web"', b'"w\xc3"'),
        json.dumps(MINIMAL).encode().replace(b'"web"', b'"\xe9t\xe9"'),  # Latin-1
    ],
)
def test_invalid_utf8(raw: bytes) -> None:
    assert "UTF-8" in rejected(raw)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_records_are_not_utf8(encoding: str) -> None:
    rejected(json.dumps(MINIMAL).encode(encoding))


@pytest.mark.parametrize("occurred_at", [1789380000, "1789380000", 1789380000.5])
def test_occurred_at_must_be_rfc3339_text(occurred_at: Any) -> None:
    assert "occurred_at" in rejected(rec(occurred_at=occurred_at))


def test_rejection_reason_is_readable_and_bounded() -> None:
    reason = rejected(rec(type="x" * 10_000))
    assert len(reason) < 1000
    assert "type" in reason
