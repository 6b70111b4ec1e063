"""Known server errors of the HTTP API, found by the schemathesis fuzzing
(test_schemathesis_fuzz.py), one request each: once bugs, now fixed, they stay pinned as plain
regression tests (`KNOWN_5XX`).

The server runs on a fresh SQLite database, seeded through the API (see the helpers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.integration.api._schemathesis_helpers import (
    Ids,
    _event,
    _forged_cursor,
    _ok,
    db_settings,
    seeded,
)

if TYPE_CHECKING:
    from tests.integration.api.conftest import Api

__all__ = ["db_settings", "seeded"]  # fixtures, found by pytest here


# --- known server errors, one request each ----------------------------------------------------


def _bug(reason: str) -> pytest.MarkDecorator:
    """Once a bug, now fixed: the request stays pinned as a plain regression test."""
    return pytest.mark.regression(reason)


OCCURRED_AT_BUG = _bug(
    "an occurred_at whose UTC value is outside years 1-9999 (0001-01-01T00:00:00+01:00) makes "
    "datetime.astimezone raise OverflowError, which the validator does not turn into a "
    "validation error: 500 instead of 422 (app/api/models.py:76 CommandBody._utc; "
    "app/schemas.py:90 EngagementIn._aware)"
)
TS_BUG = _bug(
    "projections.handlers.ts() formats with strftime('%Y'), which does not zero-pad years "
    "before 1000 ('500-01-01T...'): the read-model times are no longer fixed-width, so text "
    "comparison puts year 500 after 2026 and analytics._days cannot parse them back: "
    "GET /funnel?as_of=0500-01-01 is a 500 (ValueError in projections/analytics.py:_days), "
    "/conversion-rates and /roi as of year 500 count leads captured in 2026, and a lead "
    "captured before year 1000 is left out of every read model (projections/handlers.py:25; "
    "fix: f'{parsed.year:04d}' + strftime('-%m-%dT%H:%M:%S.%fZ'), or reject such years)"
)
KNOWN_5XX = [
    pytest.param(
        "POST", "/engagement", {"occurred_at": "0001-01-01T00:00:00+01:00"}, None,
        marks=OCCURRED_AT_BUG, id="engagement-occurred_at-year-1",
    ),
    pytest.param(
        "POST", "/engagement", {"occurred_at": "9999-12-31T23:59:59-01:00"}, None,
        marks=OCCURRED_AT_BUG, id="engagement-occurred_at-year-10000",
    ),
    pytest.param(
        "POST", "/leads/{lead}/status",
        {"status": "Working", "occurred_at": "0001-01-01T00:00:00+01:00"}, None,
        marks=OCCURRED_AT_BUG, id="command-occurred_at-year-1",
    ),
    pytest.param(
        "POST", "/spend", {"amount": "1e100"}, None,
        marks=_bug(
            "a spend amount too large for two decimal places at 28 digits (\"1e100\", "
            "\"123456789012345678901234567890\", 1e300) passes SpendIn and then "
            "Decimal.quantize raises InvalidOperation: 500 instead of a rejected item "
            "(app/application/spend.py:46; bound it in app/schemas.py SpendIn._amount)"
        ),
        id="spend-amount-1e100",
    ),
    *[
        pytest.param(
            "GET", path, None, {"as_of": "0001-01-01T00:00:00+01:00"},
            marks=_bug(
                "a from/to/as_of whose UTC value is outside years 1-9999 makes "
                "parse_time's astimezone raise OverflowError: 500 instead of 422 "
                "(app/api/analytics.py:44)"
            ),
            id=f"{path[1:]}-as_of-year-1",
        )
        for path in ("/funnel", "/conversion-rates", "/roi")
    ],
    *[
        pytest.param(
            "GET", path, None, {"cursor": _forged_cursor(values)},
            marks=_bug(
                "decode_cursor checks only that the cursor is a JSON list of the right "
                "length, so elements SQLite cannot bind (an object, a list, an integer "
                "over 64 bits) reach the query: 500 instead of 422 "
                "(projections/lists.py:40 decode_cursor)"
            ),
            id=f"{path[1:]}-cursor-{kind}",
        )
        for path, kind, values in (
            ("/leads", "object", [{}, "x"]),
            ("/leads", "big-int", [2**70, "x"]),
            ("/contacts", "list", [[1]]),
        )
    ],
]  # fmt: skip


@pytest.mark.parametrize("method, path, body, query", KNOWN_5XX)
def test_edge_inputs_are_not_server_errors(
    client: httpx.Client,
    api: Api,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    query: dict[str, Any] | None,
) -> None:
    lead = api.engage("edge@example.com")
    if path == "/engagement" and body is not None:
        body = {**_event("edge@example.com", "form_submitted", "", "web", None), **body}
    if path == "/spend" and body is not None:
        body = {
            "event_id": "edge-spend",
            "source": "web",
            "currency": "USD",
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            **body,
        }
    url = path.format(lead=lead)
    response = client.request(method, url, json=body, params=query)
    assert response.status_code < 500, f"{method} {url} {body} {query}: {response.text}"
    # Invalid input: the contract's 422 (for a batch of one invalid item too).
    assert response.status_code == 422, response.text


@TS_BUG
def test_a_cohort_as_of_year_500_has_no_lead(client: httpx.Client, seeded: Ids) -> None:
    # Every seeded lead was captured in 2026 (CONTRACT 7: attributes as they were at as_of).
    for path in ("/conversion-rates", "/roi"):
        answer = _ok(client.get(path, params={"as_of": "0500-01-01"}))
        assert [row for row in answer["rows"] if row["leads"]] == [], (path, answer)


def test_a_funnel_as_of_year_500_is_an_empty_answer(client: httpx.Client, seeded: Ids) -> None:
    # A valid, if odd, business time: nothing had been captured yet (was a 500 once).
    answer = _ok(client.get("/funnel", params={"as_of": "0500-01-01"}))
    assert [s["count"] for s in answer["stages"]] == [0, 0, 0, 0, 0]


@pytest.mark.regression(
    "a cohort from inside December 9999 made the funnel cube ask for the month after it, "
    "datetime(10000, 1, 1): 500 (projections/cube.py _month_start)"
)
def test_a_cohort_from_the_last_month_there_is_has_no_lead(
    client: httpx.Client, seeded: Ids
) -> None:
    for path in ("/funnel", "/conversion-rates", "/roi"):
        response = client.get(path, params={"from": "9999-12-31T12:00:00Z"})
        assert response.status_code == 200, f"{path}: {response.text}"
    stages = client.get("/funnel", params={"from": "9999-12-31T12:00:00Z"}).json()["stages"]
    assert [s["count"] for s in stages] == [0, 0, 0, 0, 0]
