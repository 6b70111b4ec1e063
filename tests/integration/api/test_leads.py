"""Lead commands and `GET /leads/{id}` over HTTP (CONTRACT 3.3, 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import httpx

if TYPE_CHECKING:
    from tests.integration.api.conftest import Api

ExpectError = Callable[..., dict[str, Any]]


def test_get_lead_shows_the_contract_fields(client: httpx.Client, api: Api) -> None:
    lead = api.engage(" Ada@Example.com ", type="webinar_attended", first_name="Ada")
    r = client.get(f"/leads/{lead}")
    assert r.status_code == 200
    view = r.json()
    assert {
        "id",
        "email",
        "status",
        "stage",
        "outcome",
        "score",
        "score_breakdown",
        "source",
        "campaign",
        "owner",
        "captured_at",
        "mql_at",
        "sql_at",
        "converted_at",
        "won_at",
        "email_opt_out",
        "profile",
        "conversion",
    } <= set(view)
    assert view["id"] == str(lead)
    assert view["email"] == "ada@example.com"
    assert (view["status"], view["stage"], view["score"]) == ("New", "captured", 15)
    assert view["captured_at"] == "2026-09-14T10:00:00Z"
    assert view["profile"] == {"first_name": "Ada"}
    assert view["score_breakdown"][0]["type"] == "webinar_attended"


def test_status_changes_and_refusals(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("status@example.com")
    r = api.post(f"/leads/{lead}/status", {"status": "Working", "reason": "called"})
    assert r.status_code == 200
    assert r.json() == {"id": str(lead), "status": "Working"}
    error = expect_error(api.post(f"/leads/{lead}/status", {"status": "Converted"}), 422)
    assert error["details"]["errors"][0]["field"] == "status"
    expect_error(api.post(f"/leads/{lead}/status", {"reason": "x"}), 422, "invalid_input")
    r = api.post(f"/leads/{lead}/status", {"status": "Working", "reason": "x" * 2001})
    expect_error(r, 422, "invalid_input")

    api.post(f"/leads/{lead}/convert", {})
    error = expect_error(api.post(f"/leads/{lead}/status", {"status": "Nurturing"}), 409)
    assert error["code"] == "status_change_refused"
    assert client.get(f"/leads/{lead}").json()["status"] == "Converted"


def test_assign_and_unassign(client: httpx.Client, api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("assign@example.com")
    assert api.post(f"/leads/{lead}/assign", {"owner": "ana"}).json()["owner"] == "ana"
    assert client.get(f"/leads/{lead}").json()["owner"] == "ana"
    assert api.post(f"/leads/{lead}/assign", {"owner": None}).json()["owner"] is None
    expect_error(api.post(f"/leads/{lead}/assign", {"owner": "  "}), 422, "invalid_input")
    expect_error(api.post(f"/leads/{lead}/assign", {"owner": 7}), 422, "invalid_input")
    expect_error(api.post(f"/leads/{lead}/assign", {}), 422, "invalid_input")


def test_qualify_at_the_commands_time(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.engage("bant@example.com")
    two = {"budget": True, "authority": True, "need": False, "timeline": False}
    error = expect_error(api.post(f"/leads/{lead}/qualify", two), 409, "qualification_refused")
    assert error["details"]["true_answers"] == 2
    expect_error(api.post(f"/leads/{lead}/qualify", {**two, "need": "yes"}), 422, "invalid_input")
    expect_error(api.post(f"/leads/{lead}/qualify", {"budget": True}), 422, "invalid_input")
    three = {**two, "need": True, "notes": "ok", "occurred_at": "2026-09-20T14:00:00+02:00"}
    r = api.post(f"/leads/{lead}/qualify", three)
    assert r.status_code == 200, r.text
    view = client.get(f"/leads/{lead}").json()
    assert (view["stage"], view["sql_at"]) == ("sql", "2026-09-20T12:00:00Z")


def test_occurred_at_must_be_rfc3339_with_offset(api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("when@example.com")
    for bad in ("2026-09-20T14:00:00", "2026-09-20", 1790000000, "yesterday"):
        r = api.post(f"/leads/{lead}/status", {"status": "Working", "occurred_at": bad})
        error = expect_error(r, 422, "invalid_input")
        assert error["details"]["errors"][0]["field"] == "occurred_at"


def test_convert_creates_contact_account_and_opportunity(
    client: httpx.Client, api: Api, expect_error: ExpectError
) -> None:
    lead = api.sql_lead("grace@navy.example", company="US Navy", first_name="Grace")
    body = {"opportunity": {"name": "Compilers", "amount": "1250.5"}}
    r = api.post(f"/leads/{lead}/convert", body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == {
        "lead_id",
        "contact_id",
        "contact_created",
        "account_id",
        "account_created",
        "opportunity_id",
    }
    assert (out["lead_id"], out["contact_created"], out["account_created"]) == (
        str(lead),
        True,
        True,
    )
    view = client.get(f"/leads/{lead}").json()
    assert view["status"] == "Converted" and view["stage"] == "converted"
    assert view["conversion"] == {
        "contact_id": out["contact_id"],
        "account_id": out["account_id"],
        "opportunity_id": out["opportunity_id"],
    }
    account = client.get(f"/accounts/{out['account_id']}").json()
    assert (account["name"], account["domain"]) == ("US Navy", "navy.example")

    again = expect_error(api.post(f"/leads/{lead}/convert", {}), 409, "conversion_refused")
    assert again["details"]["contact_id"] == out["contact_id"]

    won = api.post(f"/opportunities/{out['opportunity_id']}/won", None)
    assert won.status_code == 200, won.text
    assert won.json()["amount"] == "1250.50"
    view = client.get(f"/leads/{lead}").json()
    assert (view["stage"], view["outcome"]) == ("won", "won")


def test_convert_refusals_and_unknown_references(api: Api, expect_error: ExpectError) -> None:
    lead = api.engage("refuse@example.com")
    for field in ("contact_id", "account_id"):
        error = expect_error(
            api.post(f"/leads/{lead}/convert", {field: str(uuid4())}), 422, "unknown_reference"
        )
        assert error["details"]["field"] == field
        assert field in error["details"]
        error = expect_error(api.post(f"/leads/{lead}/convert", {field: "nope"}), 422)
        assert error["details"]["errors"][0]["field"] == field
    for opp in ({"name": "x"}, {"name": "", "amount": 1}, {"name": "x", "amount": "-1"}):
        expect_error(api.post(f"/leads/{lead}/convert", {"opportunity": opp}), 422)
    api.post(f"/leads/{lead}/status", {"status": "Unqualified"})
    expect_error(api.post(f"/leads/{lead}/convert", {}), 409, "conversion_refused")


def test_convert_onto_an_existing_contact(client: httpx.Client, api: Api) -> None:
    contact = api.contact("grace@acme.example")
    lead = api.engage("g.hopper@other.example")
    r = api.post(f"/leads/{lead}/convert", {"contact_id": contact["id"]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["contact_id"], out["contact_created"]) == (contact["id"], False)
    assert out["account_id"] == contact["account_id"]
    emails = client.get(f"/contacts/{contact['id']}").json()["emails"]
    assert emails == ["grace@acme.example", "g.hopper@other.example"]
