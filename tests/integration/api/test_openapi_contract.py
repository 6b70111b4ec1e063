"""The OpenAPI document describes the HTTP API of CONTRACT 6 and 7: every method and path of
the table in section 6, the query parameters it and section 7 name, the `Idempotency-Key`
header of commands, and the contract's error shape for 404, 409 and 422.

The table is read from the contract itself (`shared/CONTRACT.md` beside the repository), so
that a change there shows up here. Without that file (a checkout without `shared/`) the tests
use FALLBACK_TABLE below, a copy of the table as of contract v1.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from leadflow.api.server import create_app
from leadflow.config import load_config
from leadflow.container import build
from leadflow.settings import DatabaseSettings, Settings

CONTRACT = Path(__file__).resolve().parents[4] / "shared" / "CONTRACT.md"

Op = tuple[str, str]  # (method, path with every path parameter written `{id}`)


@dataclass
class Operation:
    method: str
    path: str
    query: set[str] = field(default_factory=set)


# CONTRACT v1.1, section 6, first column of the table: used only when CONTRACT.md is absent.
FALLBACK_TABLE: dict[Op, set[str]] = {
    ("POST", "/engagement"): set(),
    ("POST", "/spend"): set(),
    ("GET", "/leads/{id}"): set(),
    ("GET", "/leads"): {"email", "status", "stage", "owner", "source", "limit", "cursor"},
    ("POST", "/leads/{id}/status"): set(),
    ("POST", "/leads/{id}/assign"): set(),
    ("POST", "/leads/{id}/qualify"): set(),
    ("POST", "/leads/{id}/convert"): set(),
    ("POST", "/opportunities/{id}/won"): set(),
    ("POST", "/opportunities/{id}/lost"): set(),
    ("GET", "/contacts/{id}"): set(),
    ("GET", "/contacts"): {"account_id", "owner", "country", "industry", "limit", "cursor"},
    ("POST", "/contacts"): set(),
    ("POST", "/accounts"): set(),
    ("POST", "/contacts/{id}/owner"): set(),
    ("POST", "/contacts/{id}/relationships"): set(),
    ("GET", "/accounts/{id}"): set(),
    ("POST", "/accounts/{id}/parent"): set(),
    ("GET", "/funnel"): set(),
    ("GET", "/conversion-rates"): {"by"},
    ("GET", "/roi"): {"by"},
    ("GET", "/status"): set(),
}

# CONTRACT 7: "Every read model takes `from`, `to`, `source`, `campaign`, `owner` (not ROI)
# filters and `as_of`".
READ_MODEL_FILTERS = {"from", "to", "source", "campaign", "owner", "as_of"}
READ_MODELS: dict[Op, set[str]] = {
    ("GET", "/funnel"): READ_MODEL_FILTERS,
    ("GET", "/conversion-rates"): READ_MODEL_FILTERS,
    ("GET", "/roi"): READ_MODEL_FILTERS - {"owner"},
}
# Inbound records are made idempotent by their `event_id`, not by a header (CONTRACT 3, 4).
INGEST: set[Op] = {("POST", "/engagement"), ("POST", "/spend")}

_CALL = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*)$")


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{id}", path)


def parse_contract_table(text: str) -> dict[Op, set[str]]:
    """The (method, path) -> query parameter names of the table in section 6.

    A cell names calls in backquotes: `POST /leads/{id}/status`, a query as `?a=&b=`, and a
    sibling of the call before it as a bare path (`POST /opportunities/{id}/won`, `/lost`);
    other backquoted text (request bodies) is skipped.
    """
    section = text.split("\n## 6.", 1)[1].split("\n## ", 1)[0]
    table: dict[Op, set[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cell = re.split(r"(?<!\\)\|", line)[1]
        last: Op | None = None
        for code in re.findall(r"`([^`]*)`", cell):
            call = _CALL.match(code.strip())
            if call:
                method, target = call.groups()
            elif code.startswith("/") and last is not None:
                method, target = last[0], last[1].rsplit("/", 1)[0] + code
            else:
                continue
            path, _, query = target.partition("?")
            last = (method, normalise(path))
            table.setdefault(last, set()).update(re.findall(r"([A-Za-z_]+)=", query))
    return table


def contract_table() -> dict[Op, set[str]]:
    if CONTRACT.is_file():
        return parse_contract_table(CONTRACT.read_text(encoding="utf-8"))
    return FALLBACK_TABLE


TABLE = contract_table()
COMMANDS = sorted(op for op in TABLE if op[0] == "POST" and op not in INGEST)


def _id(op: Op) -> str:
    return f"{op[0]} {op[1]}"


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("openapi")
    lf = build(
        Settings(data_dir=data_dir, database=DatabaseSettings.from_url(None, data_dir)),
        load_config(),
    )
    try:
        yield create_app(lf, None).openapi()
    finally:
        lf.close()


def operation(doc: dict[str, Any], op: Op) -> dict[str, Any]:
    """The OpenAPI operation for a contract (method, path), whatever its path parameters are
    called; fails when there is none."""
    method, path = op
    found = [
        (p, item[method.lower()])
        for p, item in doc["paths"].items()
        if normalise(p) == path and method.lower() in item
    ]
    assert len(found) == 1, f"{method} {path}: {len(found)} operations in the OpenAPI document"
    result: dict[str, Any] = found[0][1]
    return result


def deref(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    result: dict[str, Any] = schema
    return result


def parameters(op: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == where}


def json_schema(doc: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content", {}).get("application/json")
    return None if content is None else deref(doc, content.get("schema", {}))


def is_error_shape(doc: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    """`{"error": {"code", "message", "details"}}`, with `code` and `message` required."""
    if schema is None or "error" not in schema.get("required", []):
        return False
    error = deref(doc, schema.get("properties", {}).get("error", {}))
    props = error.get("properties", {})
    return (
        {"code", "message", "details"} <= set(props)
        and {"code", "message"} <= set(error.get("required", []))
        and deref(doc, props["code"]).get("type") == "string"
        and deref(doc, props["message"]).get("type") == "string"
    )


def test_the_contract_table_is_read() -> None:
    if not CONTRACT.is_file():
        pytest.skip(f"{CONTRACT} is absent: the tests use FALLBACK_TABLE (contract v1.1)")
    # The fallback is a copy of the table: a contract change must be copied there too.
    assert contract_table() == FALLBACK_TABLE


@pytest.mark.parametrize("op", sorted(TABLE), ids=_id)
def test_every_contract_call_is_in_the_openapi_document(openapi: dict[str, Any], op: Op) -> None:
    found = operation(openapi, op)
    path = next(p for p in openapi["paths"] if normalise(p) == op[1])
    for name in re.findall(r"\{([^}]*)\}", path):
        param = parameters(found, "path").get(name)
        assert param is not None and param["required"] is True, f"{_id(op)}: path {name}"


FILTERED = sorted({op for op, query in TABLE.items() if query} | set(READ_MODELS))


@pytest.mark.parametrize("op", FILTERED, ids=_id)
def test_query_parameters_the_contract_names(openapi: dict[str, Any], op: Op) -> None:
    expected = TABLE.get(op, set()) | READ_MODELS.get(op, set())
    found = parameters(operation(openapi, op), "query")
    assert expected <= set(found), f"{_id(op)}: missing {sorted(expected - set(found))}"
    for name in expected:
        assert not found[name].get("required", False), f"{_id(op)}: {name} is optional"


def test_the_query_parameters_cover_the_brief() -> None:
    # Every filter CONTRACT 6 and 7 name for the lists and read models is checked above.
    checked = set().union(*TABLE.values(), *READ_MODELS.values())
    assert checked >= {
        "from", "to", "source", "campaign", "owner", "as_of", "by", "email", "status",
        "stage", "limit", "cursor", "account_id", "country", "industry",
    }  # fmt: skip


@pytest.mark.parametrize("op", COMMANDS, ids=_id)
def test_commands_take_an_idempotency_key(openapi: dict[str, Any], op: Op) -> None:
    headers = {k.lower(): v for k, v in parameters(operation(openapi, op), "header").items()}
    header = headers.get("idempotency-key")
    assert header is not None, f"{_id(op)}: no Idempotency-Key header"
    assert not header.get("required", False)
    schema = header["schema"]
    types = {s.get("type") for s in schema.get("anyOf", [schema])}
    assert "string" in types, schema


def test_ingest_answers_202(openapi: dict[str, Any]) -> None:
    for op in sorted(INGEST):
        responses = operation(openapi, op)["responses"]
        assert "202" in responses, f"{_id(op)}: {sorted(responses)}"


def _expected_errors(op: Op, found: dict[str, Any]) -> set[str]:
    expected = set()
    if "{id}" in op[1]:
        expected.add("404")  # unknown id
    if op in COMMANDS:
        expected |= {"409", "422"}  # a rule says no; invalid input
    if op in INGEST or parameters(found, "query"):
        expected.add("422")
    return expected


@pytest.mark.parametrize(
    "op",
    sorted(TABLE),
    ids=_id,
)
def test_errors_are_documented_with_the_contract_error_shape(
    openapi: dict[str, Any], op: Op
) -> None:
    found = operation(openapi, op)
    responses = found["responses"]
    missing = _expected_errors(op, found) - set(responses)
    assert not missing, f"{_id(op)}: {sorted(missing)} not documented"
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            schema = json_schema(openapi, response)
            assert is_error_shape(openapi, schema), f"{_id(op)} {status}: {schema}"


def _is_described(doc: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    # More than "some JSON object": named fields (or items of a described array).
    if schema is None:
        return False
    if schema.get("type") == "array":
        return _is_described(doc, deref(doc, schema.get("items", {})))
    return bool(schema.get("properties"))


def test_success_answers_are_described(openapi: dict[str, Any]) -> None:
    undescribed = []
    for op in sorted(TABLE):
        for status, response in operation(openapi, op)["responses"].items():
            schema = json_schema(openapi, response)
            if status.startswith("2") and not _is_described(openapi, schema):
                undescribed.append(f"{_id(op)} {status}")
    assert not undescribed, undescribed
