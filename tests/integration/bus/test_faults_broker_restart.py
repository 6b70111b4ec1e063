"""Faults on a real broker and a real SQLite file: a broker that restarts empty, under a
running relay (the real `leadflow relay` command) and running consumers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from leadflow.consumers.inbound import InboundOptions, engagement_consumer
from leadflow.infra.broker import EmbeddedBroker, ensure_topics
from leadflow.producers.relay import Relay, RelaySettings
from leadflow.schemas import parse_engagement
from tests.integration.bus._fault_helpers import (
    Background,
    FileDb,
    Part,
    assert_relayed_at_least_once_in_order,
    engagement,
    file_db,
    fresh_topics,
    relayed_positions,
    score,
    stored_ids,
    wait_until,
)
from tests.integration.bus.test_relay import read_records

__all__ = ["file_db"]  # a fixture, found by pytest here


# --- the broker restarted empty ----------------------------------------------------------


def send_all(bootstrap: str, topic: str, records: Sequence[dict[str, Any] | bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    try:
        for r in records:
            if isinstance(r, bytes):
                producer.send(topic, key=b"raw", value=r)
            else:
                producer.send(topic, key=r["email"].encode(), value=json.dumps(r).encode())
        producer.flush()
    finally:
        producer.close(timeout=5)


@pytest.mark.slow
def test_after_a_broker_restart_everything_is_republished_and_consumers_resume(
    file_db: FileDb, tmp_path: Path
) -> None:
    lf = file_db.app
    topics = fresh_topics()
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, topics.all, partitions=3)
        relay = Part(["relay"], bootstrap=broker.bootstrap, topics=topics, db=file_db,
                     log_dir=tmp_path, name="relay")  # fmt: skip
        consumer = engagement_consumer(lf, InboundOptions(broker.bootstrap, topics, "rs-"))
        running = Background(consumer.run)
        try:
            relay.start()
            send_all(broker.bootstrap, topics.engagement, [
                engagement(f"a{i}", f"r{i % 2}@example.com", "webinar_attended", i)
                for i in range(10)
            ])  # fmt: skip
            wait_until(lambda: consumer.counters.accepted >= 10, 60, "engagement before restart")
            wait_until(lambda: relayed_positions(broker.bootstrap, topics) >= set(stored_ids(lf)),
                       60, "relay before restart")  # fmt: skip
            assert score(lf, "r0@example.com") == 5 * 15

            broker.restart()  # empty: no topics, records, offsets or groups
            # The consumer's own topic, before anyone publishes to it (`leadflow consume`
            # does this at start; a running one does not notice the loss).
            ensure_topics(broker.bootstrap, [topics.engagement, topics.engagement_dlq], 3)
            send_all(broker.bootstrap, topics.engagement, [
                *[engagement(f"b{i}", "r0@example.com", "form_submitted", 50 + i)
                  for i in range(3)],
                *[engagement(f"c{i}", "r9@example.com", "demo_requested", 60 + i)
                  for i in range(2)],
            ])  # fmt: skip

            def caught_up() -> bool:
                relay.keep_running()  # a relay that died is restarted, as `leadflow up` does
                return consumer.counters.accepted >= 15 and relayed_positions(
                    broker.bootstrap, topics
                ) >= set(stored_ids(lf))

            wait_until(caught_up, 60, "consumer and relay to resume after the restart", 0.3)
            assert running.alive, f"consumer died: {running.error!r}"
            assert score(lf, "r0@example.com") == 5 * 15 + 3 * 10
            assert score(lf, "r9@example.com") == 2 * 30
            records = read_records(broker.bootstrap, topics.domain_events)
            assert_relayed_at_least_once_in_order(records, stored_ids(lf))
        finally:
            running.stop()
            relay.stop()


def test_a_running_relay_detects_a_broker_that_lost_its_data_and_republishes(
    file_db: FileDb,
) -> None:
    lf = file_db.app
    topics = fresh_topics()
    lf.engagement.record([
        parse_engagement(engagement(f"d{i}", f"d{i % 3}@example.com", "page_viewed", i))
        for i in range(12)
    ])  # fmt: skip
    with EmbeddedBroker() as broker:
        relay = Relay(lf.store, RelaySettings(bootstrap=broker.bootstrap, topics=topics,
                                              partitions=3, marker_check_every=0.5))
        running = Background(relay.run)
        try:
            wait_until(lambda: relay.position and relay.lag() == 0, 30, "first publication")
            broker.restart()
            lf.engagement.record([
                parse_engagement(engagement("d-late", "d0@example.com", "demo_requested", 99))
            ])  # fmt: skip
            wait_until(lambda: not running.alive or relayed_positions(
                broker.bootstrap, topics) >= set(stored_ids(lf)), 30, "republication", 0.3)
            assert running.alive, f"relay died: {running.error!r}"
        finally:
            running.stop()


def test_a_running_consumer_still_dead_letters_after_a_broker_restart(
    file_db: FileDb,
) -> None:
    lf = file_db.app
    topics = fresh_topics()
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, topics.all, partitions=3)
        consumer = engagement_consumer(lf, InboundOptions(broker.bootstrap, topics, "dl-"))
        running = Background(consumer.run)
        try:
            send_all(broker.bootstrap, topics.engagement,
                     [engagement("x1", "x@example.com", "page_viewed"), b"{junk before"])
            wait_until(lambda: consumer.counters.records >= 2, 30, "records before restart")
            broker.restart()
            ensure_topics(broker.bootstrap, topics.all, partitions=3)
            send_all(broker.bootstrap, topics.engagement,
                     [engagement("x2", "x@example.com", "page_viewed", 1), b"{junk after"])
            wait_until(lambda: not running.alive or consumer.counters.records >= 4, 90,
                       "records after restart")
            assert running.alive, f"consumer died: {running.error!r}"
            # At least once: when the consumer read the new records before it noticed the
            # new broker epoch, it reads them again from the start, so the DLQ may hold the
            # bad record twice; what matters is that it is there and nothing else is.
            wait_until(lambda: read_records(broker.bootstrap, [topics.engagement_dlq]), 30,
                       "the dead-lettered record")
            dlq = read_records(broker.bootstrap, [topics.engagement_dlq])
            assert {r.value for r in dlq} == {b"{junk after"}, [r.value for r in dlq]
        finally:
            running.stop()
