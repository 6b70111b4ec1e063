"""`POST /engagement` and `POST /spend` (CONTRACT 3, 4, 6, 9): one object or an array of at
most 1000; invalid items answered per index; valid ones published (or recorded directly)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from kafka import KafkaConsumer

from leadflow.api.ingest import KeyedRecords, PublishFailed
from leadflow.api.publisher import KafkaInboundPublisher
from leadflow.infra.broker import ensure_topics
from leadflow.topics import Topics

if TYPE_CHECKING:
    from leadflow.container import Leadflow
    from tests.integration.api.conftest import Serve

ExpectError = Callable[..., dict[str, Any]]


def event(email: str = "ada@example.com", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "type": "demo_requested",
        "occurred_at": "2026-09-14T16:02:11+02:00",
        "email": email,
        "source": "webinar",
        **fields,
    }


def spend(**fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"sp-{uuid.uuid4().hex}",
        "source": "paid_social",
        "campaign": None,
        "amount": "4200.00",
        "currency": "USD",
        "period_start": "2026-09-01",
        "period_end": "2026-09-30",
        **fields,
    }


def test_one_engagement_object(client: httpx.Client, app: Leadflow) -> None:
    r = client.post("/engagement", json=event(" Ada@Example.com "))
    assert (r.status_code, r.json()) == (202, {"accepted": 1, "rejected": []})
    ref = app.people.find("ada@example.com")
    assert ref is not None
    assert client.get(f"/leads/{ref.id}").json()["score"] == 30


def test_batch_answers_each_invalid_item(client: httpx.Client, app: Leadflow) -> None:
    batch = [
        event("a@example.com"),
        event("b@example.com", type="telepathy"),
        "not an object",
        event("not-an-email"),
        event("c@example.com", occurred_at="2099-01-01T00:00:00Z"),
        event("d@example.com", person={"company_size": -1}),
        event("e@example.com", properties={"blob": "x" * 70_000}),
        event("f@example.com", unknown_field={"kept": True}),
    ]
    r = client.post("/engagement", json=batch)
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["accepted"] == 2
    assert [x["index"] for x in out["rejected"]] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(x["error"], str) and x["error"] for x in out["rejected"])
    assert "telepathy" in out["rejected"][0]["error"]
    assert app.people.find("a@example.com") and app.people.find("f@example.com")
    assert app.people.find("b@example.com") is None


def test_nothing_valid_is_422(client: httpx.Client, expect_error: ExpectError) -> None:
    error = expect_error(client.post("/engagement", json=[{"event_id": "x"}, 5]), 422)
    assert error["code"] == "invalid_input"
    assert [x["index"] for x in error["details"]["rejected"]] == [0, 1]
    expect_error(client.post("/engagement", json=[]), 422, "invalid_input")
    expect_error(client.post("/engagement", json="hello"), 422, "invalid_input")
    raw = b'{"event_id": NaN}'
    r = client.post("/spend", content=raw, headers={"content-type": "application/json"})
    expect_error(r, 422, "invalid_json")


def test_batch_limit(client: httpx.Client, expect_error: ExpectError) -> None:
    error = expect_error(client.post("/engagement", json=[1] * 1001), 422, "batch_too_large")
    assert error["details"] == {"limit_items": 1000, "items": 1001}
    r = client.post("/engagement", json=[event(), *([1] * 999)])
    assert r.status_code == 202
    assert r.json()["accepted"] == 1 and len(r.json()["rejected"]) == 999


def test_seen_event_id_is_accepted_without_effect(client: httpx.Client, app: Leadflow) -> None:
    first = event("dup@example.com")
    client.post("/engagement", json=first)
    stored = app.store.max_position()
    r = client.post("/engagement", json=[{**first, "type": "email_opened"}, first])
    assert r.json() == {"accepted": 2, "rejected": []}
    assert app.store.max_position() == stored


def test_spend(client: httpx.Client, app: Leadflow) -> None:
    batch = [
        spend(),
        spend(currency="EUR"),
        spend(period_end="2026-08-01"),
        spend(amount="-1"),
        spend(amount=12.5),
    ]
    r = client.post("/spend", json=batch)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 2
    assert [x["index"] for x in r.json()["rejected"]] == [1, 2, 3]
    assert "currency" in r.json()["rejected"][0]["error"]
    stored = app.store.max_position()
    assert stored > 0
    assert client.post("/spend", json=batch[0]).json() == {"accepted": 1, "rejected": []}
    assert app.store.max_position() == stored


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: dict[str, KeyedRecords] = {"engagement": [], "spend": []}

    def publish_engagement(self, items: KeyedRecords) -> None:
        if self.fail:
            raise PublishFailed("broker down")
        self.sent["engagement"].extend(items)

    def publish_spend(self, items: KeyedRecords) -> None:
        if self.fail:
            raise PublishFailed("broker down")
        self.sent["spend"].extend(items)


def test_valid_items_go_to_the_publisher(app: Leadflow, serve: Serve) -> None:
    publisher = FakePublisher()
    sent_event = event(" Ada@Example.COM ", extra={"kept": ["as", "sent"]}, campaign=None)
    with httpx.Client(base_url=serve(app, publisher)) as c:
        r = c.post("/engagement", json=[sent_event, event(type="nope")])
        assert r.json()["accepted"] == 1
        assert c.post("/spend", json=spend(source="Paid Social")).status_code == 202
    [(key, value)] = publisher.sent["engagement"]
    assert key == b"ada@example.com"
    assert json.loads(value) == sent_event
    [(key, value)] = publisher.sent["spend"]
    assert key == b"Paid Social"
    assert json.loads(value)["source"] == "Paid Social"
    # Published, not recorded: the consumer records it.
    assert app.store.max_position() == 0


def test_publisher_failure_is_503(app: Leadflow, serve: Serve, expect_error: ExpectError) -> None:
    with httpx.Client(base_url=serve(app, FakePublisher(fail=True))) as c:
        r = c.post("/engagement", json=event())
    expect_error(r, 503, "broker_unavailable")
    assert r.headers["retry-after"] == "1"


@pytest.mark.kafka
@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
def test_kafka_publisher_writes_the_inbound_topics(
    app: Leadflow, serve: Serve, kafka_bootstrap: str
) -> None:
    topics = Topics(prefix=f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics(kafka_bootstrap, [topics.engagement, topics.spend], partitions=3)
    publisher = KafkaInboundPublisher(kafka_bootstrap, topics, timeout=20)
    sent = [event("Ada@Example.com"), event("bob@example.com")]
    sent_spend = spend()
    try:
        with httpx.Client(base_url=serve(app, publisher), timeout=30) as c:
            assert c.post("/engagement", json=sent).json()["accepted"] == 2
            assert c.post("/spend", json=sent_spend).json()["accepted"] == 1
    finally:
        publisher.close()
    consumer = KafkaConsumer(
        topics.engagement,
        topics.spend,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    records: dict[tuple[str, bytes], Any] = {}
    try:
        for r in consumer:  # consumer_timeout_ms ends the loop if a record is missing
            records[(r.topic, r.key)] = json.loads(r.value)
            if len(records) == 3:
                break
    finally:
        consumer.close()
    assert records == {
        (topics.engagement, b"ada@example.com"): sent[0],
        (topics.engagement, b"bob@example.com"): sent[1],
        (topics.spend, b"paid_social"): sent_spend,
    }
