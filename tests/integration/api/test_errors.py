"""Every failure has the contract's error shape (CONTRACT 6) and the right status; bad input
is never a 500; bodies over 1 MiB are a 413 (CONTRACT 9)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import httpx
import pytest

if TYPE_CHECKING:
    from tests.integration.api.conftest import Api

ExpectError = Callable[..., dict[str, Any]]
MIB = 1024 * 1024

# The HTTP layer does not depend on the database: one is enough here.
pytestmark = pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)


def test_unknown_route_is_404(client: httpx.Client, expect_error: ExpectError) -> None:
    expect_error(client.get("/nowhere"), 404, "not_found")
    expect_error(client.post("/nowhere", json={}), 404, "not_found")


def test_wrong_method_is_405_with_allow(client: httpx.Client, expect_error: ExpectError) -> None:
    r = client.delete(f"/leads/{uuid4()}")
    expect_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]


@pytest.mark.parametrize(
    "path",
    ["/leads/{id}", "/contacts/{id}", "/accounts/{id}"],
)
def test_unknown_and_malformed_ids_are_404(
    client: httpx.Client, expect_error: ExpectError, path: str
) -> None:
    for some_id in (str(uuid4()), "not-a-uuid", "1"):
        expect_error(client.get(path.format(id=some_id)), 404, "not_found")


def test_commands_on_unknown_ids_are_404(client: httpx.Client, expect_error: ExpectError) -> None:
    missing = uuid4()
    for path, body in (
        (f"/leads/{missing}/status", {"status": "Working"}),
        (f"/leads/{missing}/assign", {"owner": "ana"}),
        (f"/opportunities/{missing}/lost", {"reason": "budget"}),
        (f"/contacts/{missing}/owner", {"owner": "ana"}),
        (f"/accounts/{missing}/parent", {"parent_id": None}),
        ("/leads/not-a-uuid/status", {"status": "Working"}),
    ):
        expect_error(client.post(path, json=body), 404, "not_found")


def test_malformed_json_is_422(client: httpx.Client, api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("malformed@example.com")
    headers = {"content-type": "application/json"}
    for raw in (b"{", b'{"status": "Working",}', b"\xff\xfe{}", b"[" * 100_000):
        r = client.post(f"/leads/{lead}/status", content=raw, headers=headers)
        expect_error(r, 422, "invalid_json")
        r = client.post("/engagement", content=raw, headers=headers)
        expect_error(r, 422, "invalid_json")


def test_body_of_the_wrong_type_is_422(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("shape@example.com")
    for body in ([], "Working", 3, None):
        r = client.post(f"/leads/{lead}/status", json=body)
        expect_error(r, 422, "invalid_input")


def test_wrong_content_type_is_415(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("ctype@example.com")
    body = b'{"status": "Working"}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": ctype} if ctype else {}
        r = client.post(f"/leads/{lead}/status", content=body, headers=headers)
        expect_error(r, 415, "unsupported_media_type")
    r = client.post(
        f"/leads/{lead}/status",
        content=body,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200, r.text


def test_body_over_one_mib_is_413(client: httpx.Client, expect_error: ExpectError) -> None:
    big = b'{"x": "' + b"a" * MIB + b'"}'
    headers = {"content-type": "application/json"}
    error = expect_error(client.post("/engagement", content=big, headers=headers), 413)
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"limit_bytes": MIB}
    # Exactly at the limit is still read (and then judged on its content).
    exact = b'{"x": "' + b"a" * (MIB - 10) + b'"}'
    r = client.post("/engagement", content=exact, headers=headers)
    expect_error(r, 422, "invalid_input")


def test_streamed_body_over_one_mib_is_413(client: httpx.Client, expect_error: ExpectError) -> None:
    def chunks() -> Iterator[bytes]:
        # No Content-Length: the size is only known while reading.
        yield b'[{"x": "'
        for _ in range(20):
            yield b"a" * 64 * 1024
        yield b'"}]'

    headers = {"content-type": "application/json"}
    r = client.post("/engagement", content=chunks(), headers=headers)
    expect_error(r, 413, "payload_too_large")
    # The connection stays usable.
    expect_error(client.get(f"/leads/{uuid4()}"), 404)


def test_lone_surrogates_are_422_not_500(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("surrogate@example.com")
    raw = b'{"status": "Working", "reason": "\\ud800"}'
    r = client.post(
        f"/leads/{lead}/status", content=raw, headers={"content-type": "application/json"}
    )
    error = expect_error(r, 422, "invalid_input")
    assert error["details"]["errors"][0]["field"] == "reason"


def test_unknown_fields_are_422(client: httpx.Client, api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("typo@example.com")
    r = client.post(f"/leads/{lead}/assign", json={"ownr": "ana"})
    error = expect_error(r, 422, "invalid_input")
    fields = {e["field"] for e in error["details"]["errors"]}
    assert fields == {"owner", "ownr"}


def test_openapi_describes_every_route(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/engagement",
        "/spend",
        "/leads/{lead_id}",
        "/leads/{lead_id}/status",
        "/leads/{lead_id}/assign",
        "/leads/{lead_id}/qualify",
        "/leads/{lead_id}/convert",
        "/opportunities/{opportunity_id}/won",
        "/opportunities/{opportunity_id}/lost",
        "/contacts",
        "/contacts/{contact_id}",
        "/contacts/{contact_id}/owner",
        "/contacts/{contact_id}/relationships",
        "/accounts",
        "/accounts/{account_id}",
        "/accounts/{account_id}/parent",
    } <= set(spec["paths"])
    status = spec["paths"]["/leads/{lead_id}/status"]["post"]
    assert {"200", "404", "409", "413", "422"} <= set(status["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in status["parameters"])
