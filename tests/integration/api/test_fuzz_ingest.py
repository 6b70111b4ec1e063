"""Fuzzing `POST /engagement` and `POST /spend` on the real server (CONTRACT 6, 9): random
bytes, random JSON-ish values and near-valid records never get a 5xx, and every answer is
either the 202 shape (one verdict per item) or the contract's error shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.container import Leadflow

pytestmark = pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)

PATHS = st.sampled_from(["/engagement", "/spend"])
FUZZ = settings(
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Scalars JSON can carry, and some it cannot (NaN, huge numbers, lone surrogates, NUL).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**99, max_value=10**120)
    | st.floats()
    | st.text(max_size=30)
    | st.text(st.characters(codec=None, categories=["Cs", "Cc"]), max_size=3)
    | st.sampled_from(["", "\x00", "\ud800", "2026-09-14T10:00:00Z", "USD", "demo_requested"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

ENGAGEMENT = {
    "event_id": "ev-1",
    "type": "demo_requested",
    "occurred_at": "2026-09-14T10:00:00Z",
    "email": "fuzz@example.com",
    "source": "web",
    "campaign": None,
    "person": {"company_size": 3, "country": "GB"},
    "properties": {},
}
SPEND = {
    "event_id": "sp-1",
    "source": "web",
    "amount": "1.00",
    "currency": "USD",
    "period_start": "2026-09-01",
    "period_end": "2026-09-30",
}


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record with a few fields replaced, removed or added."""
    record = dict(draw(st.sampled_from([ENGAGEMENT, SPEND])))
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from([*record, "extra"]))
        if draw(st.booleans()):
            record.pop(field, None)
        else:
            record[field] = draw(VALUES)
    return record


BODIES = st.one_of(
    VALUES,
    near_valid(),
    st.lists(near_valid() | VALUES, min_size=1, max_size=5),
)


def check_answer(r: httpx.Response, items: int | None) -> None:
    assert r.status_code < 500, r.text
    assert r.status_code in (202, 413, 415, 422), r.text
    body = r.json()
    if r.status_code == 202:
        assert set(body) == {"accepted", "rejected"}
        assert body["accepted"] >= 1
        for x in body["rejected"]:
            assert set(x) == {"index", "error"} and isinstance(x["error"], str) and x["error"]
        if items is not None:
            assert body["accepted"] + len(body["rejected"]) == items
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def encode(body: Any) -> bytes:
    # json.dumps writes NaN, Infinity and escaped lone surrogates, which clients must not
    # send and leadflow must refuse.
    return json.dumps(body).encode()


def test_random_bytes_never_5xx(client: httpx.Client) -> None:
    @FUZZ
    @given(path=PATHS, raw=st.binary(max_size=400))
    def run(path: str, raw: bytes) -> None:
        r = client.post(path, content=raw, headers={"content-type": "application/json"})
        check_answer(r, None)

    run()


def test_random_json_never_5xx(client: httpx.Client, app: Leadflow) -> None:
    @FUZZ
    @given(path=PATHS, body=BODIES)
    def run(path: str, body: Any) -> None:
        r = client.post(path, content=encode(body), headers={"content-type": "application/json"})
        items = len(body) if isinstance(body, list) else 1
        check_answer(r, items)

    run()


def test_random_headers_never_5xx(client: httpx.Client) -> None:
    # Printable ASCII without surrounding spaces: what HTTP lets a client send at all.
    header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(
        str.strip
    )

    @FUZZ
    @given(path=PATHS, ctype=header_text, encoding=st.none() | header_text)
    def run(path: str, ctype: str, encoding: str | None) -> None:
        headers = {"content-type": ctype}
        if encoding is not None:
            headers["content-encoding"] = encoding
        r = client.post(path, content=encode(ENGAGEMENT), headers=headers)
        check_answer(r, 1)

    run()
