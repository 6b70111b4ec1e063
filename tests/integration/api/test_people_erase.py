"""`POST /people/erase` over HTTP (CONTRACT 9): 200 with the erased ids, 404 for an email
nobody has, 422 for an invalid one, idempotent with `Idempotency-Key`."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx

from leadflow.domain.lead import Lead

if TYPE_CHECKING:
    from leadflow.container import Leadflow
    from tests.integration.api.conftest import Api


def test_erase_answers_the_ids_then_404_and_the_email_returns_as_a_new_lead(
    client: httpx.Client, api: Api, app: Leadflow
) -> None:
    lead_id = api.sql_lead("grace@navy.example", first_name="Grace", phone="+1 555 0100")
    r = api.post("/people/erase", {"email": " Grace@Navy.example"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["erased"] is True and body["lead_ids"] == [str(lead_id)]
    assert body["contact_ids"] == [] and body["opportunity_ids"] == []
    app.store.forget_cached()
    assert app.store.get(lead_id, Lead).email is None
    view = client.get(f"/leads/{lead_id}").json()
    assert view["email"] is None and "first_name" not in view["profile"]
    assert view["stage"] == "sql"  # the facts stay

    r = api.post("/people/erase", {"email": "grace@navy.example"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "grace" not in r.text.lower()  # the answer does not echo the email
    assert api.engage("grace@navy.example") != lead_id


def test_invalid_input_is_422(client: httpx.Client, api: Api) -> None:
    for body in ({"email": "no-at-sign"}, {}, {"email": 7}, {"email": "a@b.example", "x": 1}):
        r = api.post("/people/erase", body)
        assert r.status_code == 422, (body, r.text)
        assert set(r.json()["error"]) == {"code", "message", "details"}


def test_the_same_key_replays_the_answer_and_stores_nothing_tied_to_the_email(
    client: httpx.Client, api: Api, app: Leadflow
) -> None:
    api.contact("ken@bell.example")
    raw = b'{"email": "ken@bell.example"}'
    headers = {"content-type": "application/json", "Idempotency-Key": "erase-ken"}
    first = client.post("/people/erase", content=raw, headers=headers)
    assert first.status_code == 200, first.text
    stored = app.store.max_position()
    again = client.post("/people/erase", content=raw, headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    assert app.store.max_position() == stored  # no second PersonErased
    other = client.post("/people/erase", content=b'{"email": "x@y.example"}', headers=headers)
    assert other.status_code == 422  # the same key with another body
    rows = app.store.side.query("SELECT idem_key, fingerprint FROM {idempotency}")
    plain_hash = hashlib.sha256(raw).hexdigest()
    assert rows and all(k != "erase-ken" and f != plain_hash for k, f in rows)
