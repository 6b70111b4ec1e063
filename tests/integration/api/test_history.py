"""Audit (CONTRACT 9): `GET /leads/{id}/history` shows, for each of a lead's events in version
order, who asked (the API key's name) and under which Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import httpx

from leadflow.api.auth import OPEN_ACTOR
from tests.integration.api._auth_helpers import Keyed, keyed
from tests.integration.api.conftest import Api, assert_error

__all__ = ["keyed"]  # a fixture, found by pytest here

BANT = {"budget": True, "authority": True, "need": True, "timeline": False}


def engage(client: httpx.Client, keyed: Keyed, email: str, type: str = "form_submitted") -> UUID:
    record = {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "type": type,
        "occurred_at": "2026-09-14T10:00:00Z",
        "email": email,
        "source": "web",
        "campaign": "spring",
    }
    r = client.post("/engagement", json=record)
    assert r.status_code == 202, r.text
    ref = keyed.lf.people.find(email)
    assert ref is not None
    return ref.id


def history(client: httpx.Client, lead_id: UUID, **params: Any) -> dict[str, Any]:
    r = client.get(f"/leads/{lead_id}/history", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_commands_record_the_key_name_and_idempotency_key(keyed: Keyed) -> None:
    with (
        keyed.client("ingest-bot") as ingest,
        keyed.client("sales-sam") as sales,
        keyed.client("analyst-ann") as analyst,
    ):
        lead_id = engage(ingest, keyed, "audit@example.com")
        engage(ingest, keyed, "audit@example.com", "demo_requested")
        before = history(analyst, lead_id)["items"]

        headers = {"Idempotency-Key": "assign-42"}
        r = sales.post(f"/leads/{lead_id}/assign", json={"owner": "sam"}, headers=headers)
        assert r.status_code == 200, r.text
        again = sales.post(f"/leads/{lead_id}/assign", json={"owner": "sam"}, headers=headers)
        assert again.json() == r.json()
        assert sales.post(f"/leads/{lead_id}/qualify", json=BANT).status_code == 200

        items = history(analyst, lead_id)["items"]
    assert [i["version"] for i in items] == list(range(1, len(items) + 1))
    assert items[: len(before)] == before
    new = items[len(before) :]
    assigned = [i for i in new if i["type"] == "LeadAssigned"]
    assert len(assigned) == 1  # the replay had no second effect
    assert assigned[0]["actor"] == "sales-sam"
    assert assigned[0]["idempotency_key"] == "assign-42"
    assert assigned[0]["payload"]["owner"] == "sam"
    qualified = [i for i in new if i["type"] == "LeadQualified"]
    assert qualified and all(
        (i["actor"], i["idempotency_key"]) == ("sales-sam", None) for i in qualified
    )
    # What engagement caused was asked for by no one: no actor, no idempotency key.
    assert before[0]["type"] == "LeadCaptured"
    assert all((i["actor"], i["idempotency_key"]) == (None, None) for i in before)
    for item in items:
        assert set(item) == {
            "version", "type", "occurred_at", "recorded_at", "actor", "idempotency_key",
            "payload",
        }  # fmt: skip
        assert item["recorded_at"].endswith("Z")
        assert "audit" not in item["payload"]


def test_history_pages_follow_the_cursor(keyed: Keyed) -> None:
    with keyed.client("admin-ada") as admin:
        lead_id = engage(admin, keyed, "pages@example.com")
        for kind in ("email_opened", "page_viewed", "email_clicked"):
            engage(admin, keyed, "pages@example.com", kind)
        everything = history(admin, lead_id)
        assert everything["next_cursor"] is None
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = history(admin, lead_id, limit=2, **({"cursor": cursor} if cursor else {}))
            assert len(page["items"]) <= 2
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == everything["items"] and len(seen) > 4
        for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "abc"}, {"cursor": "-1"}):
            r = admin.get(f"/leads/{lead_id}/history", params=bad)
            assert_error(r, 422, "invalid_input")


def test_history_of_an_unknown_lead_or_another_aggregate_is_404(keyed: Keyed) -> None:
    with keyed.client("sales-sam") as sales:
        r = sales.post("/accounts", json={"name": "Acme"})
        assert r.status_code == 201, r.text
        account_id = r.json()["id"]
        for some_id in (str(uuid.uuid4()), account_id, "not-a-uuid"):
            assert_error(sales.get(f"/leads/{some_id}/history"), 404, "not_found")


def test_who_may_read_the_history(keyed: Keyed) -> None:
    with keyed.client("admin-ada") as admin:
        lead_id = engage(admin, keyed, "who@example.com")
    for name in ("analyst-ann", "sales-sam", "admin-ada"):
        with keyed.client(name) as client:
            assert client.get(f"/leads/{lead_id}/history").status_code == 200, name
    with keyed.client("ingest-bot") as ingest:
        assert_error(ingest.get(f"/leads/{lead_id}/history"), 403, "forbidden")
    assert_error(httpx.get(f"{keyed.url}/leads/{lead_id}/history", timeout=30), 401)


def test_an_open_api_records_the_open_marker_as_actor(api: Api) -> None:
    lead_id = api.engage("open@example.com")
    r = api.post(f"/leads/{lead_id}/assign", {"owner": "olga"}, key="open-1")
    assert r.status_code == 200, r.text
    items = api.client.get(f"/leads/{lead_id}/history").json()["items"]
    assigned = [i for i in items if i["type"] == "LeadAssigned"]
    assert [(i["actor"], i["idempotency_key"]) for i in assigned] == [(OPEN_ACTOR, "open-1")]
