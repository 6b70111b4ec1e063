"""Cursor paging of `GET /leads` and `GET /contacts` over the read models (CONTRACT 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from leadflow.container import Leadflow
from leadflow.projections.rebuild import rebuild

if TYPE_CHECKING:
    from tests.integration.api.conftest import Api


def pages(client: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        out.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out
        assert len(out) < 20, "paging does not end"


def test_leads_page_through_every_lead_once_in_capture_order(
    client: httpx.Client, api: Api, app: Leadflow
) -> None:
    for day in (5, 1, 3, 2, 4):
        api.engage(f"p{day}@example.com", occurred_at=f"2026-09-0{day}T10:00:00Z")
    rebuild(app.store)
    got = pages(client, "/leads", limit=2)
    assert [len(p) for p in got] == [2, 2, 1]
    emails = [lead["email"] for page in got for lead in page]
    assert emails == [f"p{d}@example.com" for d in (1, 2, 3, 4, 5)]
    assert pages(client, "/leads", limit=5)[0] and len(pages(client, "/leads", limit=5)) == 1
    filtered = pages(client, "/leads", limit=1, email="P3@Example.com")
    assert [[lead["email"] for lead in p] for p in filtered] == [["p3@example.com"]]


def test_contacts_page_through_every_contact_once(
    client: httpx.Client, api: Api, app: Leadflow
) -> None:
    made = {api.contact(f"c{i}@example.com")["id"] for i in range(5)}
    rebuild(app.store)
    got = pages(client, "/contacts", limit=2)
    assert [len(p) for p in got] == [2, 2, 1]
    ids = [c["id"] for page in got for c in page]
    assert len(ids) == len(set(ids)) == 5 and set(ids) == made
    assert ids == sorted(ids)
    r = client.get("/contacts", params={"limit": 0})
    assert r.status_code == 422
