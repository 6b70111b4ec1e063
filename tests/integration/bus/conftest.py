"""Bus fixtures: a fresh set of topics (by prefix) and a leadflow app per test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer

from leadflow.infra.broker import ensure_topics
from leadflow.topics import Topics


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    t = Topics(prefix=f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics(kafka_bootstrap, t.all, partitions=3)
    return t


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=2)
    yield p
    p.close(timeout=5)


@pytest.fixture
def publish(producer: KafkaProducer) -> Callable[[str, Sequence[Any]], None]:
    """Publishes records (dicts become JSON, bytes stay as given), keyed like senders do."""

    def send(topic: str, records: Sequence[Any]) -> None:
        for r in records:
            if isinstance(r, dict):
                key = str(r.get("email", r.get("source", ""))).strip().lower().encode()
                producer.send(topic, key=key, value=json.dumps(r).encode())
            else:
                producer.send(topic, key=b"raw", value=r)
        producer.flush()

    return send


def read_all(bootstrap: str, topic: str, timeout_ms: int = 3000) -> list[Any]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, consumer_timeout_ms=timeout_ms, fetch_max_wait_ms=20,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()
