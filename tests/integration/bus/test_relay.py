"""The outbox relay on a real broker and a real database: the CONTRACT 5 envelope, topics,
per-aggregate order, stable event ids on re-publication, position saved after acks."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.partitioner.default import murmur2

from leadflow.application.commands import CommandContext
from leadflow.container import Leadflow
from leadflow.infra.broker import EmbeddedBroker, high_watermarks
from leadflow.producers.relay import Relay, RelaySettings
from leadflow.schemas import parse_engagement
from leadflow.topics import Topics

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
AT = datetime(2026, 9, 20, 12, 0, tzinfo=UTC)
ENVELOPE_FIELDS = {
    "event_id", "type", "schema_version", "aggregate_type", "aggregate_id",
    "aggregate_version", "position", "occurred_at", "recorded_at", "causation_id", "payload",
}  # fmt: skip
CONVERTED_FIELDS = {
    "lead_id", "email", "contact_id", "contact_created", "account_id", "account_created",
    "opportunity_id", "opportunity_amount", "owner", "source", "campaign", "converted_at",
}  # fmt: skip
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


# --- helpers (the fault tests, test_faults_*.py, use them too) --------------------------


def read_records(
    bootstrap: str, topics: Sequence[str], timeout: float = 60.0
) -> list[ConsumerRecord]:
    """Every record of ``topics`` up to the high watermarks seen at the call, in
    (topic, partition, offset) order. Assigns partitions: no group, no join wait."""
    highs = high_watermarks(bootstrap, topics)
    tps = [tp for tp, high in highs.items() if high > 0]
    if not tps:
        return []
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_wait_ms=20, max_partition_fetch_bytes=4 * 1024 * 1024,
    )  # fmt: skip
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while [tp for tp in tps if consumer.position(tp) < highs[tp]]:
            assert time.monotonic() < deadline, f"could not read {topics} within {timeout}s"
            for records in consumer.poll(timeout_ms=200).values():
                out.extend(records)
        return sorted(out, key=lambda r: (r.topic, r.partition, r.offset))
    finally:
        consumer.close()


def envelopes(records: Sequence[ConsumerRecord]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


def drain(relay: Relay, max_batches: int = 1000) -> int:
    total = 0
    for _ in range(max_batches):
        published = relay.publish_batch()
        if published == 0:
            return total
        total += published
    raise AssertionError(f"relay still publishing after {max_batches} batches")


def stored(app: Leadflow) -> dict[int, Any]:
    """Notification id -> stored notification, for every event in the store."""
    notes = app.store.app.recorder.select_notifications(start=1, limit=1_000_000)
    return {n.id: n for n in notes}


def engagement(
    event_id: str, email: str, type: str, minutes: int = 0, **over: Any
) -> dict[str, Any]:
    record = {
        "event_id": event_id, "type": type, "email": email, "source": "webinar",
        "campaign": "q3", "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }  # fmt: skip
    record.update(over)
    return record


def record_engagement(app: Leadflow, records: Sequence[dict[str, Any]]) -> dict[str, str]:
    return app.engagement.record([parse_engagement(r) for r in records]).lead_ids


def new_relay(app: Leadflow, bootstrap: str, topics: Topics, **over: Any) -> Relay:
    return Relay(app.store, RelaySettings(bootstrap=bootstrap, topics=topics, partitions=3,
                                          **over))


def as_utc(text: str) -> datetime:
    assert UTC_Z.match(text), f"not a UTC 'Z' time: {text!r}"
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.utcoffset() == timedelta(0)
    return value


# --- tests ---------------------------------------------------------------------------


def test_relay_publishes_every_stored_event_in_the_contracted_envelope(
    app: Leadflow, kafka_bootstrap: str, topics: Topics
) -> None:
    lead_ids = record_engagement(app, [
        engagement("e1", "ada@engines.co.uk", "form_submitted", 0,
                   person={"first_name": "Ada", "company": "Engines Ltd"}),
        engagement("e2", "ada@engines.co.uk", "webinar_attended", 10),
        engagement("e3", "ada@engines.co.uk", "demo_requested", 20),  # 10+15+30 >= 50: MQL
        engagement("e4", "bo@acme.com", "email_opened", 5),
    ])  # fmt: skip
    lead_id = UUID(lead_ids["e1"])
    app.leads.assign(lead_id, "alice", CommandContext(occurred_at=AT, actor="ops"))
    answer = app.conversion.convert(
        lead_id,
        CommandContext(occurred_at=AT, actor="seller", idempotency_key="conv-1"),
        opportunity={"name": "Engines deal", "amount": "1250"},
    )
    notes = stored(app)

    relay = new_relay(app, kafka_bootstrap, topics)
    relay.start()
    try:
        assert drain(relay) == len(notes)
    finally:
        relay.close()

    records = read_records(kafka_bootstrap, topics.domain_events)
    assert len(records) == len(notes)  # published once each, nothing else on the topics
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record, env in zip(records, envelopes(records), strict=True):
        assert set(env) >= ENVELOPE_FIELDS
        note = notes[env["position"]]
        assert env["type"] == note.topic.rsplit(".", 1)[-1]
        assert env["aggregate_id"] == str(note.originator_id)
        assert env["aggregate_version"] == note.originator_version
        assert env["schema_version"] == 1
        assert record.topic == topics.events(env["aggregate_type"])
        assert record.key == env["aggregate_id"].encode()
        # Java's partitioner, as kafka-python's default and earlier releases of the relay:
        # an aggregate's events stay in the one partition every client expects.
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % 3
        headers = dict(record.headers)
        assert headers["event_type"] == env["type"].encode()
        assert headers["schema_version"] == b"1"
        UUID(env["event_id"])
        as_utc(env["occurred_at"])
        as_utc(env["recorded_at"])
        assert isinstance(env["payload"], dict)
        by_type[env["type"]].append(env)
    assert len({env["event_id"] for env in envelopes(records)}) == len(records)

    for name in ("LeadCaptured", "EngagementRecorded", "LeadScored", "LeadQualified",
                 "LeadAssigned", "LeadConverted"):
        assert by_type[name], f"no {name} published"
        assert {env["aggregate_type"] for env in by_type[name]} == {"Lead"}
    assert {r.topic for r in records if json.loads(r.value)["type"].startswith("Lead")} == {
        topics.events("Lead")
    }
    assert [e["payload"]["event_id"] for e in by_type["EngagementRecorded"]
            if e["aggregate_id"] == str(lead_id)] == ["e1", "e2", "e3"]  # fmt: skip
    assert {e["causation_id"] for e in by_type["EngagementRecorded"]} == {"e1", "e2", "e3", "e4"}
    assert [e["payload"]["score"] for e in by_type["LeadScored"]
            if e["aggregate_id"] == str(lead_id)] == [10, 25, 55]  # fmt: skip
    (qualified,) = by_type["LeadQualified"]
    assert qualified["aggregate_id"] == str(lead_id)
    assert qualified["payload"]["stage"] == "MQL"
    assert as_utc(qualified["occurred_at"]) == T0 + timedelta(minutes=20)

    (converted,) = by_type["LeadConverted"]
    payload = converted["payload"]
    assert set(payload) >= CONVERTED_FIELDS
    assert payload["lead_id"] == str(lead_id)
    assert payload["email"] == "ada@engines.co.uk"
    assert payload["contact_id"] == answer["contact_id"]
    assert payload["account_id"] == answer["account_id"]
    assert payload["opportunity_id"] == answer["opportunity_id"]
    assert payload["contact_created"] is True and payload["account_created"] is True
    assert payload["opportunity_amount"] == "1250.00"
    assert (payload["owner"], payload["source"], payload["campaign"]) == (
        "alice", "webinar", "q3"
    )
    assert as_utc(payload["converted_at"]) == AT
    assert as_utc(converted["occurred_at"]) == AT
    assert converted["causation_id"] == "conv-1"

    for name, aggregate, key in (("ContactCreated", "Contact", answer["contact_id"]),
                                 ("AccountCreated", "Account", answer["account_id"]),
                                 ("OpportunityOpened", "Opportunity", answer["opportunity_id"])):
        (env,) = by_type[name]
        assert env["aggregate_type"] == aggregate and env["aggregate_id"] == key
        (record,) = [r for r in records if json.loads(r.value)["event_id"] == env["event_id"]]
        assert record.topic == topics.events(aggregate) and record.key == key.encode()

    # Order: per partition, positions increase; per aggregate, versions are 1, 2, 3, ...
    versions: dict[str, list[int]] = defaultdict(list)
    last_position: dict[tuple[str, int], int] = {}
    for record in records:
        env = json.loads(record.value)
        tp = (record.topic, record.partition)
        assert env["position"] > last_position.get(tp, 0)
        last_position[tp] = env["position"]
        versions[env["aggregate_id"]].append(env["aggregate_version"])
    for aggregate_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), aggregate_id


def test_republishing_gives_the_same_event_id_for_the_same_stored_event(
    app: Leadflow, kafka_bootstrap: str, topics: Topics
) -> None:
    record_engagement(app, [
        engagement(f"r{i}", f"p{i % 3}@example.com", "webinar_attended", i) for i in range(9)
    ])  # fmt: skip
    relay = new_relay(app, kafka_bootstrap, topics)
    relay.start()
    try:
        first = drain(relay)
        app.store.side.set_position("relay", 0)
        assert relay.lag() == app.store.max_position()
        assert drain(relay) == first
    finally:
        relay.close()

    published = envelopes(read_records(kafka_bootstrap, topics.domain_events))
    assert len(published) == 2 * first
    by_position: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for env in published:
        by_position[env["position"]].append(env)
    assert set(by_position) == set(stored(app))
    for position, copies in by_position.items():
        assert len(copies) == 2, position
        a, b = copies
        assert a["event_id"] == b["event_id"]
        assert (a["aggregate_id"], a["aggregate_version"], a["type"]) == (
            b["aggregate_id"], b["aggregate_version"], b["type"]
        )  # fmt: skip
        assert a == b  # the whole envelope is a function of the stored event
    assert len({copies[0]["event_id"] for copies in by_position.values()}) == len(by_position)


def test_position_is_saved_only_after_the_broker_acknowledged(
    app: Leadflow, topics: Topics
) -> None:
    record_engagement(app, [
        engagement(f"a{i}", f"q{i % 4}@example.com", "page_viewed", i) for i in range(12)
    ])  # fmt: skip
    # A broker of our own, so that it can be frozen (SIGSTOP) without hurting other tests.
    with EmbeddedBroker() as broker:
        relay = new_relay(app, broker.bootstrap, topics, batch_size=7)
        relay.start()
        try:
            assert relay.position == 0 and relay.lag() == app.store.max_position()
            while relay.publish_batch():
                # Everything up to the saved position is readable on the broker.
                on_broker = {e["position"] for e in
                             envelopes(read_records(broker.bootstrap, topics.domain_events))}
                assert set(range(1, relay.position + 1)) <= on_broker
            assert relay.position == app.store.max_position() == max(stored(app))
            assert relay.lag() == 0

            # A broker that cannot answer: the batch is sent but not acknowledged, so the
            # position must not move until it is.
            before = relay.position
            record_engagement(app, [engagement("late", "q0@example.com", "demo_requested", 99)])
            pid = broker._proc.pid  # type: ignore[union-attr]  # the broker process
            os.kill(pid, signal.SIGSTOP)
            try:
                worker = threading.Thread(target=relay.publish_batch, daemon=True)
                worker.start()
                worker.join(2.0)
                assert worker.is_alive(), "publish_batch returned without an ack"
                assert relay.position == before
                assert relay.lag() > 0
            finally:
                os.kill(pid, signal.SIGCONT)
            worker.join(60)
            assert not worker.is_alive()
            assert relay.position == app.store.max_position() > before
            assert relay.lag() == 0
            on_broker = {e["position"] for e in
                         envelopes(read_records(broker.bootstrap, topics.domain_events))}
            assert on_broker == set(stored(app))
        finally:
            relay.close()
