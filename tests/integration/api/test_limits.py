"""Limits and hostile bodies on `POST /engagement` and `POST /spend` (CONTRACT 3.4, 6, 9):
a clear 413/415/422, the other items of a batch still accepted, nothing stored from a
refused request, and answers that never echo the input back at length."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from leadflow.schemas import MAX_RECORD_BYTES

if TYPE_CHECKING:
    from leadflow.container import Leadflow

ExpectError = Callable[..., dict[str, Any]]
JSON = {"content-type": "application/json"}

# The HTTP layer does not depend on the database: one is enough here.
pytestmark = pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)


def event(email: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "type": "demo_requested",
        "occurred_at": "2026-09-14T16:02:11+02:00",
        "email": email or f"p{uuid.uuid4().hex[:12]}@example.com",
        "source": "webinar",
        **fields,
    }


def spend(**fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"sp-{uuid.uuid4().hex}",
        "source": "paid_social",
        "amount": "10.00",
        "currency": "USD",
        "period_start": "2026-09-01",
        "period_end": "2026-09-30",
        **fields,
    }


def compact_size(item: dict[str, Any]) -> int:
    return len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode())


def padded(record: dict[str, Any], size: int) -> dict[str, Any]:
    """`record` with a properties pad that makes its compact UTF-8 JSON exactly `size` bytes."""
    base = compact_size({**record, "properties": {"pad": ""}})
    out = {**record, "properties": {"pad": "p" * (size - base)}}
    assert compact_size(out) == size
    return out


def post(client: httpx.Client, path: str, raw: bytes, **headers: str) -> httpx.Response:
    return client.post(path, content=raw, headers={**JSON, **headers})


# --- record size (64 KiB) ------------------------------------------------------------------


def test_record_over_64_kib_is_rejected_and_the_others_accepted(
    client: httpx.Client, app: Leadflow
) -> None:
    # Measured as the item written back compactly in UTF-8: what the topic would carry.
    exact = padded(event(), MAX_RECORD_BYTES)
    over = padded(event(), MAX_RECORD_BYTES + 1)
    # Fewer than 64 Ki characters, but over 64 KiB of UTF-8 (3 bytes per "€").
    wide = event(properties={"pad": "€" * 21_800})
    assert len(json.dumps(wide, ensure_ascii=False)) < MAX_RECORD_BYTES < compact_size(wide)
    ok = event()
    r = client.post("/engagement", json=[exact, over, ok, wide])
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 2
    rejected = r.json()["rejected"]
    assert [x["index"] for x in rejected] == [1, 3]
    for x in rejected:
        assert "too large" in x["error"] and str(MAX_RECORD_BYTES) in x["error"]
    assert app.people.find(exact["email"]) and app.people.find(ok["email"])
    assert app.people.find(over["email"]) is None and app.people.find(wide["email"]) is None


def test_spend_over_64_kib_is_rejected(client: httpx.Client, expect_error: ExpectError) -> None:
    big = padded(spend(), MAX_RECORD_BYTES + 1)
    error = expect_error(client.post("/spend", json=big), 422, "invalid_input")
    assert "too large" in error["details"]["rejected"][0]["error"]


# --- batch size ----------------------------------------------------------------------------


def test_batch_of_1001_is_422_and_nothing_is_stored(
    client: httpx.Client, app: Leadflow, expect_error: ExpectError
) -> None:
    batch = [event() for _ in range(1001)]
    error = expect_error(client.post("/engagement", json=batch), 422, "batch_too_large")
    assert error["details"] == {"limit_items": 1000, "items": 1001}
    assert app.store.max_position() == 0
    r = client.post("/engagement", json=batch[:1000])
    assert r.json() == {"accepted": 1000, "rejected": []}
    assert app.people.find(batch[999]["email"]) is not None
    assert app.people.find(batch[1000]["email"]) is None


def test_empty_array_is_422(client: httpx.Client, expect_error: ExpectError) -> None:
    for path in ("/engagement", "/spend"):
        error = expect_error(client.post(path, json=[]), 422, "invalid_input")
        assert "empty" in error["message"]


# --- hostile JSON --------------------------------------------------------------------------

WHOLE_BODY_INVALID = {
    "100k [": b"[" * 100_000,
    "100k {": b'{"a":' * 100_000,
    "NaN": b'{"event_id": NaN}',
    "Infinity": b'[{"amount": -Infinity}]',
    "BOM": b'\xef\xbb\xbf{"event_id": "x"}',
    "invalid UTF-8": b'{"event_id": "\xff\xfe"}',
    "Latin-1": '{"source": "café"}'.encode("latin-1"),
    "UTF-16": '{"event_id": "x"}'.encode("utf-16"),
    "truncated": b'[{"event_id": "x"',
    "empty": b"",
}


@pytest.mark.parametrize("name", list(WHOLE_BODY_INVALID))
def test_unreadable_body_is_invalid_json(
    client: httpx.Client, app: Leadflow, expect_error: ExpectError, name: str
) -> None:
    for path in ("/engagement", "/spend"):
        error = expect_error(post(client, path, WHOLE_BODY_INVALID[name]), 422, "invalid_json")
        assert len(error["message"]) < 300
    assert app.store.max_position() == 0


@pytest.mark.parametrize("raw", [b"null", b"1", b'"text"', b"true", b"1e999999"])
def test_top_level_scalar_is_422(
    client: httpx.Client, expect_error: ExpectError, raw: bytes
) -> None:
    expect_error(post(client, "/engagement", raw), 422, "invalid_input")


def _item(record: dict[str, Any], replace: str, by: str) -> bytes:
    text = json.dumps(record)
    assert replace in text
    return text.replace(replace, by, 1).encode()


ITEM_FLAWS = {
    "huge exponent": ('"properties": {}', '"properties": {"n": 1e999999}', "too large"),
    "100k-digit integer": (
        '"properties": {}',
        '"properties": {"n": ' + "9" * 100_000 + "}",
        "digits",
    ),
    "deep nesting": ('"properties": {}', '"properties": ' + "[" * 40 + "]" * 40, "nested"),
    "duplicate key": (
        '"source": "webinar"',
        '"source": "webinar", "source": "ads"',
        "'source' twice",
    ),
    "lone surrogate": ('"source": "webinar"', '"source": "\\ud800"', "surrogate"),
    "NUL": ('"source": "webinar"', '"source": "web\\u0000inar"', "NUL"),
}


@pytest.mark.parametrize("name", list(ITEM_FLAWS))
def test_flawed_item_is_rejected_and_the_others_accepted(
    client: httpx.Client, app: Leadflow, name: str
) -> None:
    replace, by, expected = ITEM_FLAWS[name]
    bad = event(properties={})
    good = event()
    raw = b"[" + json.dumps(good).encode() + b"," + _item(bad, replace, by) + b"]"
    r = post(client, "/engagement", raw)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 1
    [rejected] = r.json()["rejected"]
    assert rejected["index"] == 1 and expected in rejected["error"], rejected
    assert app.people.find(good["email"]) is not None
    assert app.people.find(bad["email"]) is None


def test_duplicate_email_key_is_not_echoed(client: httpx.Client, expect_error: ExpectError) -> None:
    raw = b'{"ada@example.com": 1, "ada@example.com": 2}'
    error = expect_error(post(client, "/engagement", raw), 422, "invalid_input")
    assert "twice" in error["message"]
    assert "ada@example.com" not in json.dumps(error)


# --- content type and encoding -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "text/plain"},
        {"content-type": "application/json; charset=latin-1"},
        {"content-type": "application/json; charset=utf-16"},
        {"content-type": "application/json", "content-encoding": "gzip"},
        {"content-type": "application/json", "content-encoding": "br"},
    ],
)
def test_body_leadflow_will_not_read_is_415(
    client: httpx.Client, app: Leadflow, expect_error: ExpectError, headers: dict[str, str]
) -> None:
    raw = json.dumps(event()).encode()
    if headers.get("content-encoding") == "gzip":
        raw = gzip.compress(raw)
    r = client.post("/engagement", content=raw, headers=headers)
    expect_error(r, 415, "unsupported_media_type")
    assert app.store.max_position() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json; charset=UTF-8"},
        {"content-type": 'application/json; charset="utf8"'},
        {"content-type": "application/json", "content-encoding": "identity"},
    ],
)
def test_utf8_charset_and_identity_encoding_are_read(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    r = client.post("/engagement", content=json.dumps(event()).encode(), headers=headers)
    assert r.json() == {"accepted": 1, "rejected": []}


def test_long_content_type_is_not_echoed_whole(
    client: httpx.Client, expect_error: ExpectError
) -> None:
    ctype = "text/" + "x" * 8000
    r = client.post("/engagement", content=b"{}", headers={"content-type": ctype})
    error = expect_error(r, 415, "unsupported_media_type")
    assert len(error["details"]["content_type"]) <= 100


# --- answers stay small --------------------------------------------------------------------


def test_answers_do_not_echo_large_input(client: httpx.Client, expect_error: ExpectError) -> None:
    # 1000 items, each with a 400-character type and a bad email of as much: a naive answer
    # would echo about 800 KB; the body itself stays under 1 MiB.
    junk = "x" * 400
    batch = [event(type=junk, email=junk) for _ in range(1000)]
    raw = json.dumps(batch).encode()
    assert len(raw) < 1024 * 1024
    r = post(client, "/engagement", raw)
    error = expect_error(r, 422, "invalid_input")
    assert "x" * 51 not in r.text  # at most a 50-character excerpt of an unknown type
    assert len(r.content) < 1000 * 550  # each item's reason is bounded (500 characters)
    assert len(error["message"]) < 1000
    assert all(len(x["error"]) <= 500 for x in error["details"]["rejected"])
    # A record's email is never part of a reason.
    one = event(email="ada.lovelace@example.com", type="telepathy")
    r = client.post("/engagement", json=one)
    assert "ada.lovelace" not in r.text
