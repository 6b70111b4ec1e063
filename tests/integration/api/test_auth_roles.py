"""Keys and roles (CONTRACT 9) over every operation of the real server's OpenAPI document, so
that a route added later is tested without being listed here.

What each role may do is stated here from the contract, independently of the code's policy:
`ingest` the two inbound POSTs, `analyst` every GET, `sales` the lead, contact, account and
opportunity commands (the contract table's other POSTs) and GETs, `admin` everything. Any
other POST (erasure, rebuild, what comes next) is for admin only.

Requests are harmless (unknown ids, empty bodies), so an allowed role gets the endpoint's own
answer, which must be the same as admin's, and never 401 or 403.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.api._auth_helpers import ROLE_KEYS, Keyed, bearer, keyed
from tests.integration.api.conftest import assert_error
from tests.integration.api.test_openapi_contract import COMMANDS, INGEST, normalise

__all__ = ["keyed"]  # a fixture, found by pytest here

Op = tuple[str, str]
READERS = {"analyst", "sales", "admin"}


def expected_roles(method: str, template: str) -> set[str]:
    op = (method, normalise(template))
    if method in ("GET", "HEAD"):
        return READERS
    if op in INGEST:
        return {"ingest", "admin"}
    if op in COMMANDS:
        return {"sales", "admin"}
    return {"admin"}


def operations(url: str) -> list[Op]:
    doc = httpx.get(f"{url}/openapi.json", timeout=30).json()
    return sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item)


def send(client: httpx.Client, op: Op, headers: dict[str, str] | None = None) -> httpx.Response:
    method, template = op
    path = re.sub(r"\{[^}]*\}", str(uuid.UUID(int=7)), template)
    body: Any = {} if method == "POST" else None
    return client.request(method, path, json=body, headers=headers or {})


def test_the_document_lists_the_contract_calls_and_the_history(keyed: Keyed) -> None:
    ops = {(m, normalise(p)) for m, p in operations(keyed.url)}
    assert INGEST | set(COMMANDS) <= ops
    assert ("GET", "/leads/{id}/history") in ops and ("GET", "/funnel") in ops


@pytest.mark.parametrize("name", sorted(ROLE_KEYS))
def test_each_role_on_each_operation(keyed: Keyed, name: str) -> None:
    roles = set(ROLE_KEYS[name])
    wrong: list[str] = []
    with keyed.client(name) as client, keyed.client("admin-ada") as admin:
        for op in operations(keyed.url):
            r = send(client, op)
            if roles & expected_roles(*op):
                own = send(admin, op)
                if r.status_code in (401, 403) or r.status_code != own.status_code:
                    wrong.append(f"{op}: {r.status_code} (admin: {own.status_code}) {r.text}")
            elif r.status_code != 403:
                wrong.append(f"{op}: {r.status_code}, expected 403")
            else:
                error = assert_error(r, 403, "forbidden")
                assert error["details"]["key"] == name
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "credentials",
    [
        None,
        "lf_not-a-key-anyone-made-0123456789",
        "revoked-rob",
        "Basic YWRtaW46YWRtaW4=",  # not Bearer
    ],
    ids=["no key", "unknown key", "revoked key", "other scheme"],
)
def test_without_a_valid_key_every_operation_is_401(keyed: Keyed, credentials: str | None) -> None:
    if credentials is None:
        headers: dict[str, str] = {}
    elif credentials.startswith("Basic "):
        headers = {"Authorization": credentials}
    else:
        headers = bearer(keyed.keys.get(credentials, credentials))
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        for op in operations(keyed.url):
            r = send(client, op, headers)
            assert_error(r, 401, "unauthorized")
            assert r.headers["www-authenticate"].startswith("Bearer"), op


def test_public_paths_answer_without_a_key(keyed: Keyed) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        for path in (
            "/",
            "/dashboard/app.js",
            "/dashboard/dashboard.css",
            "/docs",
            "/openapi.json",
        ):
            assert client.get(path).status_code == 200, path
        assert_error(client.get("/dashboard/nothing.js"), 404)  # public, and still no data


def test_unknown_routes_need_a_key_and_an_unknown_post_needs_admin(keyed: Keyed) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        assert_error(client.get("/no-such-thing"), 401)
        assert_error(client.post("/rebuild", json={}), 401)
    with keyed.client("analyst-ann") as analyst:
        assert_error(analyst.get("/no-such-thing"), 404)
    with keyed.client("sales-sam") as sales:
        assert_error(sales.post("/rebuild", json={}), 403, "forbidden")
        assert_error(sales.post("/people/erase", json={"email": "a@b.test"}), 403, "forbidden")
        assert_error(sales.delete("/leads/x"), 403, "forbidden")
    with keyed.client("admin-ada") as admin:
        assert admin.post("/rebuild", json={}).status_code in (404, 405)


def test_a_refused_request_is_refused_before_its_body_is_read(keyed: Keyed) -> None:
    # No key: 401 even for a body the API would reject as too large or not JSON.
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        r = client.post("/engagement", content=b"x" * (2 * 1024 * 1024))
        assert_error(r, 401)
        assert_error(client.post("/leads/abc/status", content=b"{not json"), 401)
    with keyed.client("ingest-bot") as ingest:
        assert_error(ingest.post("/leads/abc/status", content=b"{not json"), 403)


def test_the_openapi_document_describes_the_bearer_scheme(keyed: Keyed) -> None:
    doc = httpx.get(f"{keyed.url}/openapi.json", timeout=30).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["HTTPBearer"]["description"],
    }
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
