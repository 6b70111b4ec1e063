"""Property-based testing of the real HTTP server against its own OpenAPI document with
schemathesis 4: for every operation, generated requests (valid and invalid) never get a 5xx,
and every answer has a documented status, content type and schema, and the shape of the
models in `leadflow.api.responses` (successes) or the contract's error shape (failures).

The server (uvicorn, the `serve` fixture) runs on a fresh SQLite database, seeded through the
API itself (leads at every stage and status, a won, a lost and open opportunities, contacts,
an account tree, spend) with its read models rebuilt, so that lists and read models answer
with real rows. Schemathesis generates each request from the OpenAPI document; `_steer` then
swaps in, most of the time, what the document cannot tell it: seeded ids, valid emails, RFC
3339 times (extremes included), real and forged cursors, amounts, and valid engagement and
spend records (which the document only gives as "an object") carrying the generated fields as
unknown ones.

Bounded: derandomised, MAX_EXAMPLES requests per operation (well under a minute in all).

`schemathesis.pytest.from_fixture` is not used: with pytest 9.2 it fails on a removed pytest
internal (`Function._nodeid`); a plain `hypothesis.given` over `operation.as_strategy()`
(schemathesis's documented strategy API) gives one pytest item per operation instead.

The server errors it once found are pinned, one request each, as regression tests in
test_schemathesis_edge_cases.py (`KNOWN_5XX`); the fuzzing covers their inputs too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadflow.api import responses as r
from leadflow.api.history import HistoryPage
from leadflow.api.people import ErasedOut
from leadflow.domain.engagement import ENGAGEMENT_TYPES
from tests.integration.api._schemathesis_helpers import (
    CAMPAIGNS,
    SEED_EMAILS,
    SOURCES,
    Case,
    Ids,
    _forged_cursor,
    db_settings,
    seeded,
)

__all__ = ["db_settings", "seeded"]  # fixtures, found by pytest here

MAX_EXAMPLES = 20
SEED = 20260914


@pytest.fixture
def api_schema(server_url: str, seeded: Ids) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({"seed": SEED, "request-timeout": 30})
    return schemathesis.openapi.from_url(f"{server_url}/openapi.json", config=config)


# --- what the document cannot tell the generator ------------------------------------------


def _rfc3339(moment: datetime, offset_minutes: int, fraction: bool) -> str:
    m = moment
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if fraction:
        text += f".{m.microsecond:06d}"
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


TIMES = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59Z",
            "0001-01-01",
            "9999-12-31",
            "2026-09-14T16:02:11+02:00",
            "2026-09-14",
        ]
    ),
    st.builds(
        _rfc3339,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.integers(-23 * 60 - 59, 23 * 60 + 59),
        st.booleans(),
    ),
    st.dates().map(date.isoformat),
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
)
# Business times the commands take (not in the future), or any time at all.
COMMAND_TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    TIMES,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=4,
)


AMOUNTS = st.one_of(
    st.sampled_from(["0", "0.005", "1250.00", "-1", "1e100", "1e30", 1e300, "NaN"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-10, max_value=10**20),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)
EMAILS = st.one_of(
    st.sampled_from([*SEED_EMAILS, "grace@umbrella.test", " Ada@Example.COM "]),
    st.uuids().map(lambda u: f"fz-{u.hex[:12]}@example.org"),
    st.emails(),
)
QUERY_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "by": st.sampled_from(["source", "campaign", "owner", "month"]),
    "status": st.sampled_from(["New", "Working", "Nurturing", "Unqualified", "Converted"]),
    "stage": st.sampled_from(["captured", "mql", "sql", "converted", "won"]),
    "source": st.sampled_from(SOURCES),
    "campaign": st.sampled_from(CAMPAIGNS),
    "owner": st.sampled_from(["alice", "(none)"]),
    "country": st.sampled_from(["GB", "US"]),
    "industry": st.sampled_from(["software", "retail"]),
    "limit": st.sampled_from([1, 2, 500]),
    "email": EMAILS,
    "from": TIMES,
    "to": TIMES,
    "as_of": TIMES,
    "stuck_days": st.integers(min_value=-1, max_value=10**6),
}
# Which seeded ids a generated id may be swapped for, by parameter or field name.
KIND = {
    "lead_id": "lead",
    "contact_id": "contact",
    "to_contact_id": "contact",
    "account_id": "account",
    "parent_id": "account",
    "opportunity_id": "opportunity",
}


def _often(data: st.DataObject) -> bool:
    return data.draw(st.integers(0, 3)) > 0  # three times in four


def _real_id(data: st.DataObject, ids: Ids, name: str, value: Any) -> Any:
    kind = KIND.get(name)
    if kind is None or not isinstance(value, str) or not _often(data):
        return value
    return data.draw(st.sampled_from(ids[kind]))


def _engagement(data: st.DataObject, extra: dict[str, Any]) -> dict[str, Any]:
    person = st.fixed_dictionaries(
        {},
        optional={
            "first_name": st.text(max_size=20),
            "company": st.sampled_from(["Acme, Inc.", "Globex", "Umbrella"]) | st.text(),
            "country": st.sampled_from(["GB", "us", "XX", "GBR"]),
            "company_size": st.integers(min_value=-1),
            "industry": st.text(max_size=10),
        },
    )
    return {
        **extra,  # unknown top-level fields are kept (CONTRACT 3)
        "event_id": data.draw(st.sampled_from(["seed-dup"]) | st.uuids().map(str)),
        "type": data.draw(st.sampled_from(ENGAGEMENT_TYPES)),
        "occurred_at": data.draw(TIMES),
        "email": data.draw(EMAILS),
        "source": data.draw(st.sampled_from(SOURCES[:-1]) | st.text(min_size=1, max_size=100)),
        "campaign": data.draw(st.none() | st.sampled_from(CAMPAIGNS[:-1])),
        "person": data.draw(st.none() | person),
    }


def _spend(data: st.DataObject, extra: dict[str, Any]) -> dict[str, Any]:
    start = data.draw(st.dates(max_value=date(9999, 11, 30)))
    end = data.draw(st.sampled_from([start, start + timedelta(days=30)]) | st.dates())
    return {
        **extra,
        "event_id": data.draw(st.uuids().map(str)),
        "source": data.draw(st.sampled_from(SOURCES[:-1])),
        "campaign": data.draw(st.none() | st.sampled_from(CAMPAIGNS[:-1])),
        "amount": data.draw(AMOUNTS),
        "currency": data.draw(st.sampled_from(["USD", "EUR"])),
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "replaces": data.draw(st.none() | st.sampled_from(["seed-spend-web", "nothing"])),
    }


RECORDS: dict[str, Callable[[st.DataObject, dict[str, Any]], dict[str, Any]]] = {
    "/engagement": _engagement,
    "/spend": _spend,
}


def _steer(case: Case, data: st.DataObject, ids: Ids) -> None:
    """Most of the time, replaces generated values by ones that reach the business rules."""
    path = case.operation.path
    if case.path_parameters:
        case.path_parameters = {
            k: _real_id(data, ids, k, v) for k, v in case.path_parameters.items()
        }
    declared = {
        p["name"]
        for p in case.operation.definition.raw.get("parameters", [])
        if p.get("in") == "query"
    }
    query = dict(case.query or {})
    for name in sorted(declared):
        if name in QUERY_VALUES and _often(data):
            query[name] = data.draw(QUERY_VALUES[name])
    if "cursor" in declared and _often(data):
        forged = st.lists(JSON, max_size=3).map(_forged_cursor)
        real = st.sampled_from([c for c in ids["cursor"] if c] or [""])
        query["cursor"] = data.draw(real | forged)
    if "account_id" in query:
        query["account_id"] = _real_id(data, ids, "account_id", query["account_id"])
    if query or case.query is not None:
        case.query = query
    body: Any = case.body
    if path in RECORDS and _often(data):
        make = RECORDS[path]
        if isinstance(body, dict):
            case.body = make(data, body)
        elif isinstance(body, list):
            case.body = [make(data, item) if isinstance(item, dict) else item for item in body]
    elif isinstance(body, dict):
        fields: dict[str, Any] = {k: _real_id(data, ids, k, v) for k, v in body.items()}
        if "email" in fields and _often(data):
            fields["email"] = data.draw(EMAILS)
        if "occurred_at" in fields or not data.draw(st.integers(0, 3)):
            fields["occurred_at"] = data.draw(COMMAND_TIMES)
        if "amount" in fields and _often(data):
            fields["amount"] = data.draw(AMOUNTS)
        if isinstance(fields.get("opportunity"), dict) and _often(data):
            fields["opportunity"] = {**fields["opportunity"], "amount": data.draw(AMOUNTS)}
        case.body = fields


# --- checks ----------------------------------------------------------------------------

# The documented answer of each success, by operation (leadflow.api.responses).
SUCCESS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/engagement"): r.IngestAccepted,
    ("POST", "/spend"): r.IngestAccepted,
    ("GET", "/leads/{lead_id}"): r.LeadOut,
    ("GET", "/leads"): r.LeadPage,
    ("GET", "/leads/{lead_id}/history"): HistoryPage,
    ("POST", "/leads/{lead_id}/status"): r.LeadStatusOut,
    ("POST", "/leads/{lead_id}/assign"): r.OwnerOut,
    ("POST", "/leads/{lead_id}/qualify"): r.QualifyOut,
    ("POST", "/leads/{lead_id}/convert"): r.ConvertOut,
    ("POST", "/opportunities/{opportunity_id}/won"): r.WonOut,
    ("POST", "/opportunities/{opportunity_id}/lost"): r.LostOut,
    ("GET", "/contacts/{contact_id}"): r.ContactOut,
    ("GET", "/contacts"): r.ContactPage,
    ("POST", "/contacts"): r.ContactCreated,
    ("POST", "/contacts/{contact_id}/owner"): r.OwnerOut,
    ("POST", "/contacts/{contact_id}/relationships"): r.RelationshipOut,
    ("GET", "/accounts/{account_id}"): r.AccountOut,
    ("POST", "/accounts"): r.AccountCreated,
    ("POST", "/accounts/{account_id}/parent"): r.ParentOut,
    ("GET", "/funnel"): r.Funnel,
    ("GET", "/conversion-rates"): r.ConversionRates,
    ("GET", "/roi"): r.Roi,
    ("GET", "/status"): r.Status,
    ("POST", "/people/erase"): ErasedOut,
}
OPERATIONS = [*SUCCESS, ("GET", "/metrics")]


def matches_response_models(ctx: Any, response: schemathesis.Response, case: Case) -> bool | None:
    """Successes have the shape of leadflow.api.responses (wired into the routes or not);
    every other answer has the contract's error shape."""
    key = (case.method.upper(), case.operation.path)
    if response.status_code >= 300:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        assert isinstance(body["error"]["code"], str), body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
        return True
    model = SUCCESS.get(key)
    if model is None:
        return None
    try:
        model.model_validate(response.json())
    except ValidationError as e:
        raise AssertionError(f"{key}: the answer is not a {model.__name__}: {e}") from None
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    matches_response_models,
]


def test_every_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    documented = set()
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # an operation schemathesis cannot read
        operation = result.ok()
        documented.add((operation.method.upper(), operation.path))
    # A new operation is fuzzed once it is listed in SUCCESS (or OPERATIONS).
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_openapi_document(
    api_schema: schemathesis.BaseSchema, seeded: Ids, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if {"parameters", "requestBody"} & set(operation.definition.raw):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=st.one_of(strategies), data=st.data())
    def fuzz(case: Case, data: st.DataObject) -> None:
        _steer(case, data, seeded)
        case.call_and_validate(checks=CHECKS)

    fuzz()
