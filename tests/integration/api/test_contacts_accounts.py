"""Contact, account and opportunity commands and reads over HTTP (CONTRACT 3.1, 3.3, 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import httpx

if TYPE_CHECKING:
    from leadflow.container import Leadflow
    from tests.integration.api.conftest import Api, Serve

ExpectError = Callable[..., dict[str, Any]]


def test_create_contact_and_read_it(client: httpx.Client, api: Api) -> None:
    r = api.post(
        "/contacts",
        {
            "email": " Grace@Acme.example ",
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "ACME, Inc.",
        },
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert r.headers["location"] == f"/contacts/{out['id']}"
    assert out["account_created"] is True
    view = client.get(f"/contacts/{out['id']}").json()
    assert view["emails"] == ["grace@acme.example"]
    assert view["account_id"] == out["account_id"]
    assert view["profile"]["company"] == "ACME, Inc."
    assert {"owner", "activities", "relationships"} <= set(view)
    # Same company by normalised name: the same account.
    second = api.contact("alan@elsewhere.example", company="Acme Inc")
    assert second["account_id"] == out["account_id"]

    api.engage("grace@acme.example", type="page_viewed")
    activities = client.get(f"/contacts/{out['id']}").json()["activities"]
    assert [a["type"] for a in activities] == ["page_viewed"]


def test_contact_refusals(api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("taken@example.com")
    error = expect_error(api.post("/contacts", {"email": "TAKEN@example.com"}), 409)
    assert error == {
        "code": "person_exists",
        "message": error["message"],
        "details": {"lead_id": str(lead)},
    }
    contact = api.contact("c@acme.example")
    error = expect_error(api.post("/contacts", {"email": "c@acme.example"}), 409)
    assert error["details"] == {"contact_id": contact["id"]}
    expect_error(api.post("/contacts", {"email": "not an email"}), 422, "invalid_input")
    expect_error(api.post("/contacts", {"first_name": "x"}), 422, "invalid_input")
    error = expect_error(
        api.post("/contacts", {"email": "n@acme.example", "account_id": str(uuid4())}),
        422,
        "unknown_reference",
    )
    assert error["details"]["field"] == "account_id"


def test_contact_under_a_given_account(client: httpx.Client, api: Api) -> None:
    account = api.account("Initech", domain="initech.example")
    r = api.post("/contacts", {"email": "peter@gmail.com", "account_id": account})
    assert r.status_code == 201
    assert (r.json()["account_id"], r.json()["account_created"]) == (account, False)


def test_contact_owner_and_relationships(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    a = api.contact("a@acme.example")["id"]
    b = api.contact("b@acme.example")["id"]
    r = api.post(f"/contacts/{a}/owner", {"owner": "ana"})
    assert r.json() == {"id": a, "owner": "ana"}
    r = api.post(f"/contacts/{a}/relationships", {"to_contact_id": b, "kind": "reports_to"})
    assert r.status_code == 200, r.text
    view = client.get(f"/contacts/{a}").json()
    assert view["owner"] == "ana"
    assert [(x["to_contact_id"], x["kind"]) for x in view["relationships"]] == [(b, "reports_to")]
    error = expect_error(
        api.post(f"/contacts/{a}/relationships", {"to_contact_id": str(uuid4()), "kind": "x"}),
        422,
        "unknown_reference",
    )
    assert error["details"]["field"] == "to_contact_id"
    r = api.post(f"/contacts/{a}/relationships", {"to_contact_id": a, "kind": "x"})
    expect_error(r, 422, "invalid_input")
    expect_error(api.post(f"/contacts/{a}/relationships", {"kind": "x"}), 422)


def test_accounts_hierarchy(client: httpx.Client, api: Api, expect_error: ExpectError) -> None:
    top = api.account("Umbrella Holdings", domain="Umbrella.example")
    mid = api.account("Umbrella Pharma", parent_id=top)
    low = api.account("Umbrella Labs")
    view = client.get(f"/accounts/{top}").json()
    assert view == {
        **view,
        "id": top,
        "name": "Umbrella Holdings",
        "domain": "umbrella.example",
        "parent_id": None,
        "children": [],
        "contacts": [],
        "won_revenue": "0.00",
    }
    r = api.post(f"/accounts/{low}/parent", {"parent_id": mid})
    assert r.json() == {"id": low, "parent_id": mid}
    assert client.get(f"/accounts/{low}").json()["parent_id"] == mid
    error = expect_error(api.post(f"/accounts/{top}/parent", {"parent_id": low}), 409)
    assert error["code"] == "hierarchy_cycle"
    expect_error(api.post(f"/accounts/{top}/parent", {"parent_id": top}), 409, "hierarchy_cycle")
    error = expect_error(
        api.post(f"/accounts/{top}/parent", {"parent_id": str(uuid4())}), 422, "unknown_reference"
    )
    assert error["details"]["field"] == "parent_id"
    assert api.post(f"/accounts/{low}/parent", {"parent_id": None}).json()["parent_id"] is None


def test_account_refusals(api: Api, expect_error: ExpectError) -> None:
    expect_error(api.post("/accounts", {"name": ""}), 422, "invalid_input")
    expect_error(api.post("/accounts", {"name": "X", "domain": "gmail.com"}), 422)
    expect_error(api.post("/accounts", {"name": "X", "domain": "no dots"}), 422)
    error = expect_error(
        api.post("/accounts", {"name": "X", "parent_id": str(uuid4())}), 422, "unknown_reference"
    )
    assert error["details"]["field"] == "parent_id"


def test_account_extras_come_from_the_read_models(app: Leadflow, serve: Serve) -> None:
    class ReadModels:
        def account_extras(self, account_id: Any) -> dict[str, Any]:
            return {"children": ["c"], "contacts": ["k"], "won_revenue": "12.00"}

    with httpx.Client(base_url=serve(app, None, ReadModels())) as c:
        r = c.post("/accounts", json={"name": "Globex"})
        view = c.get(f"/accounts/{r.json()['id']}").json()
    assert (view["children"], view["contacts"], view["won_revenue"]) == (["c"], ["k"], "12.00")


def test_opportunity_won_and_lost(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    def opportunity(email: str) -> str:
        lead = api.sql_lead(email)
        out = api.post(f"/leads/{lead}/convert", {"opportunity": {"name": "Deal", "amount": 100}})
        return str(out.json()["opportunity_id"])

    won = opportunity("won@example.com")
    r = api.post(f"/opportunities/{won}/won", {"amount": "90.5"})
    assert r.json() == {"id": won, "outcome": "won", "amount": "90.50"}
    error = expect_error(api.post(f"/opportunities/{won}/lost", {"reason": "x"}), 409)
    assert error["code"] == "outcome_already_recorded"

    lost = opportunity("lost@example.com")
    expect_error(api.post(f"/opportunities/{lost}/lost", {"reason": " "}), 422)
    expect_error(api.post(f"/opportunities/{lost}/lost", {}), 422)
    expect_error(api.post(f"/opportunities/{lost}/won", {"amount": True}), 422)
    expect_error(api.post(f"/opportunities/{lost}/won", {"amount": "-3"}), 422)
    r = api.post(f"/opportunities/{lost}/lost", {"reason": "no budget"})
    assert r.json() == {"id": lost, "outcome": "lost"}
    expect_error(api.post(f"/opportunities/{lost}/won", None), 409, "outcome_already_recorded")
    expect_error(api.post(f"/opportunities/{uuid4()}/won", None), 404, "not_found")
