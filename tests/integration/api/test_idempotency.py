"""`Idempotency-Key` over HTTP (CONTRACT 6): 2xx and 409 answers are replayed with no second
effect; 422 is not stored; a key is scoped to method and path; another body is a 422."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from leadflow.container import Leadflow
    from tests.integration.api.conftest import Api

ExpectError = Callable[..., dict[str, Any]]
JSON = {"content-type": "application/json"}


def keyed(key: str) -> dict[str, str]:
    return {**JSON, "Idempotency-Key": key}


def test_same_key_replays_the_answer_without_new_events(
    client: httpx.Client, api: Api, app: Leadflow
) -> None:
    raw = b'{"email": "k@acme.example", "company": "Acme"}'
    first = client.post("/contacts", content=raw, headers=keyed("create-1"))
    assert first.status_code == 201, first.text
    stored = app.store.max_position()
    again = client.post("/contacts", content=raw, headers=keyed("create-1"))
    assert (again.status_code, again.json()) == (201, first.json())
    assert app.store.max_position() == stored
    # Without the key it is a new command: one person per email says no.
    assert client.post("/contacts", content=raw, headers=JSON).status_code == 409


def test_refusals_are_replayed(
    client: httpx.Client, api: Api, app: Leadflow, expect_error: ExpectError
) -> None:
    lead = api.engage("refused@example.com")
    raw = b'{"budget": true, "authority": false, "need": false, "timeline": false}'
    path = f"/leads/{lead}/qualify"
    first = expect_error(client.post(path, content=raw, headers=keyed("q")), 409)
    stored = app.store.max_position()
    again = expect_error(client.post(path, content=raw, headers=keyed("q")), 409)
    assert again == first
    assert app.store.max_position() == stored


def test_refusal_replayed_even_once_the_rule_would_allow_it(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("later@example.com")
    raw = b'{"status": "Working"}'
    api.post(f"/leads/{lead}/status", {"status": "Unqualified"})
    api.post(f"/leads/{lead}/convert", {})  # refused: Unqualified
    r = client.post(f"/leads/{lead}/convert", content=b"{}", headers=keyed("c"))
    expect_error(r, 409, "conversion_refused")
    assert client.post(f"/leads/{lead}/status", content=raw, headers=JSON).status_code == 200
    r = client.post(f"/leads/{lead}/convert", content=b"{}", headers=keyed("c"))
    expect_error(r, 409, "conversion_refused")


def test_invalid_input_is_not_stored(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("fix@example.com")
    path = f"/leads/{lead}/assign"
    # Rejected before the command runs (model) and by the use case: neither is stored.
    expect_error(client.post(path, content=b'{"owner": 1}', headers=keyed("a")), 422)
    expect_error(client.post(path, content=b'{"owner": " "}', headers=keyed("a")), 422)
    r = client.post(path, content=b'{"owner": "ana"}', headers=keyed("a"))
    assert r.status_code == 200 and r.json()["owner"] == "ana"


def test_same_key_other_body_is_422(
    client: httpx.Client, api: Api, app: Leadflow, expect_error: ExpectError
) -> None:
    lead = api.engage("body@example.com")
    path = f"/leads/{lead}/assign"
    assert client.post(path, content=b'{"owner": "ana"}', headers=keyed("b")).status_code == 200
    stored = app.store.max_position()
    # Even the same JSON spelt differently: the key covers the body as sent.
    for other in (b'{"owner": "bob"}', b'{"owner":"ana"}'):
        error = expect_error(client.post(path, content=other, headers=keyed("b")), 422)
        assert error["code"] == "invalid_input"
        assert error["details"] == {"idempotency_key": "b"}
    assert app.store.max_position() == stored
    assert client.get(f"/leads/{lead}").json()["owner"] == "ana"


def test_key_is_scoped_by_method_and_path(client: httpx.Client, api: Api) -> None:
    one = api.engage("one@example.com")
    two = api.engage("two@example.com")
    raw = b'{"owner": "ana"}'
    for lead in (one, two):
        r = client.post(f"/leads/{lead}/assign", content=raw, headers=keyed("shared"))
        assert r.json() == {"id": str(lead), "owner": "ana"}
    r = client.post(
        f"/leads/{one}/status", content=b'{"status": "Working"}', headers=keyed("shared")
    )
    assert r.json() == {"id": str(one), "status": "Working"}
    assert client.get(f"/leads/{two}").json()["owner"] == "ana"


def test_bad_keys_are_422(client: httpx.Client, api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("badkey@example.com")
    path = f"/leads/{lead}/assign"
    for key in ("x" * 256, ""):
        r = client.post(path, content=b'{"owner": "ana"}', headers=keyed(key))
        assert expect_error(r, 422)["details"] == {"field": "Idempotency-Key"}


def test_concurrent_requests_with_one_key_have_one_effect(
    server_url: str, api: Api, app: Leadflow
) -> None:
    lead = api.engage("race@example.com")
    raw = b'{"owner": "ana"}'
    stored = app.store.max_position()

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=server_url, timeout=30) as c:
            return c.post(f"/leads/{lead}/assign", content=raw, headers=keyed("race"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {(r.status_code, r.text) for r in answers} == {(200, answers[0].text)}
    assert app.store.max_position() == stored + 1
