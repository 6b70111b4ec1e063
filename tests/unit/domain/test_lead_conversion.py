"""The Lead aggregate (CONTRACT 3.3): conversion, and what a converted lead refuses."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from leadflow.domain.errors import ConversionRefused
from tests.unit.domain._lead_helpers import (
    EMAIL,
    POLICY,
    _converted_lead,
    at,
    capture,
    eng,
)

# --- conversion ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["New", "Working", "Nurturing"])
def test_conversion(status: str) -> None:
    lead = capture(eng("e1", source="webinar", campaign="q3"))
    if status != "New":
        lead.change_status(status, None, at(1))
    lead.assign("alice", at(2))
    lead.collect_events()
    contact_id, account_id, opportunity_id = uuid4(), uuid4(), uuid4()
    lead.convert(
        contact_id=contact_id,
        contact_created=True,
        account_id=account_id,
        account_created=False,
        opportunity_id=opportunity_id,
        opportunity_amount=Decimal("1250.00"),
        occurred_at=at(60),
    )
    assert lead.status == "Converted"
    assert lead.converted_at == at(60)
    assert lead.conversion == {
        "contact_id": contact_id,
        "account_id": account_id,
        "opportunity_id": opportunity_id,
    }
    (converted,) = lead.collect_events()
    assert type(converted).__name__ == "LeadConverted"
    payload = {
        k: getattr(converted, k)
        for k in (
            "email",
            "contact_id",
            "contact_created",
            "account_id",
            "account_created",
            "opportunity_id",
            "opportunity_amount",
            "owner",
            "source",
            "campaign",
            "converted_at",
        )
    }
    assert payload == {
        "email": EMAIL,
        "contact_id": contact_id,
        "contact_created": True,
        "account_id": account_id,
        "account_created": False,
        "opportunity_id": opportunity_id,
        "opportunity_amount": Decimal("1250.00"),
        "owner": "alice",
        "source": "webinar",
        "campaign": "q3",
        "converted_at": at(60),
    }


def test_unqualified_lead_cannot_be_converted() -> None:
    lead = capture(eng("e1"))
    lead.change_status("Unqualified", None, at(1))
    lead.collect_events()
    with pytest.raises(ConversionRefused) as exc:
        lead.convert(
            contact_id=uuid4(),
            contact_created=True,
            account_id=uuid4(),
            account_created=True,
            opportunity_id=None,
            opportunity_amount=None,
            occurred_at=at(60),
        )
    assert exc.value.details["lead_id"] == str(lead.id)
    assert lead.status == "Unqualified"
    assert lead.conversion is None
    assert lead.collect_events() == []


def test_second_conversion_is_refused_naming_existing_ids() -> None:
    lead = capture(eng("e1"))
    contact_id, account_id = uuid4(), uuid4()
    lead.convert(
        contact_id=contact_id,
        contact_created=True,
        account_id=account_id,
        account_created=True,
        opportunity_id=None,
        opportunity_amount=None,
        occurred_at=at(60),
    )
    lead.collect_events()
    with pytest.raises(ConversionRefused) as exc:
        lead.check_convertible()
    assert exc.value.details == {
        "lead_id": str(lead.id),
        "contact_id": str(contact_id),
        "account_id": str(account_id),
        "opportunity_id": None,
    }
    with pytest.raises(ConversionRefused):
        lead.convert(
            contact_id=uuid4(),
            contact_created=False,
            account_id=uuid4(),
            account_created=False,
            opportunity_id=uuid4(),
            opportunity_amount=Decimal("1"),
            occurred_at=at(90),
        )
    assert lead.conversion is not None
    assert lead.conversion["contact_id"] == contact_id
    assert lead.converted_at == at(60)
    assert lead.collect_events() == []


def test_engagement_after_conversion_still_has_effect_once() -> None:
    lead = _converted_lead()
    assert lead.record_engagement(eng("e1"), POLICY) is False
