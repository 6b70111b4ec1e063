"""Engagement and spend consumers on a real broker: durable effect, DLQ, dedupe."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from leadflow.consumers.inbound import InboundOptions, engagement_consumer, spend_consumer
from leadflow.consumers.pipeline import InboundConsumer
from leadflow.container import Leadflow
from leadflow.domain.lead import Lead
from leadflow.topics import Topics
from tests.integration.bus.conftest import read_all

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def engagement(i: int, email: str = "ada@example.com", **over: Any) -> dict[str, Any]:
    record = {
        "event_id": f"e-{i}",
        "type": "webinar_attended",
        "occurred_at": (T0 + timedelta(minutes=i)).isoformat(),
        "email": email,
        "source": "webinar",
        "campaign": "q3",
    }
    record.update(over)
    return record


def drain(consumer: InboundConsumer[Any], expected_records: int, rounds: int = 200) -> None:
    stop = threading.Event()
    consumer.start()
    try:
        for _ in range(rounds):
            consumer.run_once(stop)
            if consumer.counters.records >= expected_records:
                return
        raise AssertionError(f"consumed {consumer.counters.records} of {expected_records}")
    finally:
        consumer.close()


def test_engagement_becomes_leads_and_invalid_records_go_to_dlq(
    app: Leadflow, kafka_bootstrap: str, topics: Topics,
    publish: Callable[[str, Sequence[Any]], None],
) -> None:
    good = [engagement(i, email=f"p{i % 7}@example.com") for i in range(40)]
    bad: list[Any] = [
        b"{not json",
        engagement(100, type="telepathy"),
        engagement(101, occurred_at=(datetime.now(UTC) + timedelta(days=3)).isoformat()),
        engagement(102, email="not-an-email"),
        {"event_id": "e-103"},
    ]
    publish(topics.engagement, [*good[:20], *bad, *good[20:]])
    consumer = engagement_consumer(app, InboundOptions(kafka_bootstrap, topics, "g1-"))
    drain(consumer, len(good) + len(bad))

    assert consumer.counters.accepted == 40
    assert consumer.counters.dead_lettered == 5
    people = app.people.lookup([f"p{i}@example.com" for i in range(7)])
    assert len(people) == 7
    lead = app.store.get(people["p0@example.com"].id, Lead)
    assert lead.score == 15 * len([i for i in range(40) if i % 7 == 0])

    dlq = read_all(kafka_bootstrap, topics.engagement_dlq)
    assert len(dlq) == 5
    by_value = {m.value: dict(m.headers) for m in dlq}
    headers = by_value[b"{not json"]
    assert b"not valid JSON" in headers["leadflow.error"]
    assert headers["leadflow.source.topic"] == topics.engagement.encode()
    assert int(headers["leadflow.source.offset"]) >= 0
    reasons = b" | ".join(h["leadflow.error"] for h in by_value.values())
    for expected in (b"unknown type", b"future", b"email", b"Field required"):
        assert expected in reasons


def test_same_engagement_published_twice_has_one_effect(
    app: Leadflow, kafka_bootstrap: str, topics: Topics,
    publish: Callable[[str, Sequence[Any]], None],
) -> None:
    records = [engagement(i) for i in range(5)]
    publish(topics.engagement, records + records)
    # A different payload under a used event_id: the first one processed wins.
    publish(topics.engagement, [engagement(0, type="demo_requested")])
    consumer = engagement_consumer(app, InboundOptions(kafka_bootstrap, topics, "g2-"))
    drain(consumer, 11)
    person = app.people.find("ada@example.com")
    assert person is not None
    lead = app.store.get(person.id, Lead)
    assert lead.score == 5 * 15
    assert consumer.counters.accepted == 5
    assert consumer.counters.duplicates == 6


def test_redelivered_batch_after_crash_before_offset_commit_has_no_second_effect(
    app: Leadflow, kafka_bootstrap: str, topics: Topics,
    publish: Callable[[str, Sequence[Any]], None],
) -> None:
    publish(topics.engagement, [engagement(i) for i in range(10)])
    first = engagement_consumer(app, InboundOptions(kafka_bootstrap, topics, "g3-"))
    # Simulate a crash between the database commit and the offset commit.
    first.commit = lambda records, futures: None  # type: ignore[method-assign]
    drain(first, 10)
    position_after_first = app.store.max_position()
    second = engagement_consumer(app, InboundOptions(kafka_bootstrap, topics, "g3-"))
    drain(second, 10)
    assert second.counters.duplicates == 10
    assert app.store.max_position() == position_after_first


def test_spend_consumer_validates_currency_and_dedupes(
    app: Leadflow, kafka_bootstrap: str, topics: Topics,
    publish: Callable[[str, Sequence[Any]], None],
) -> None:
    spend = {"event_id": "s1", "source": "paid_social", "campaign": "q3", "amount": "4200.00",
             "currency": "USD", "period_start": "2026-09-01", "period_end": "2026-09-30",
             "replaces": None}
    restated = {**spend, "event_id": "s2", "amount": 3900, "replaces": "s1"}
    wrong = {**spend, "event_id": "s3", "currency": "EUR"}
    publish(topics.spend, [spend, spend, restated, wrong])
    consumer = spend_consumer(app, InboundOptions(kafka_bootstrap, topics, "g4-"))
    drain(consumer, 4)
    assert consumer.counters.accepted == 2
    assert consumer.counters.dead_lettered == 1
    dlq = read_all(kafka_bootstrap, topics.spend_dlq)
    assert len(dlq) == 1 and b"reporting currency" in dict(dlq[0].headers)["leadflow.error"]
    assert json.loads(dlq[0].value)["event_id"] == "s3"
