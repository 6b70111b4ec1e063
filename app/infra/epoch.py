"""The broker's epoch: one id per life of the broker's data.

The embedded broker forgets everything when it restarts, committed offsets included, while
leadflow's own positions (the relay's, the projections') live on in the database. The first
record of the marker topic names the current life; whoever finds the topic empty writes
one. A process that sees the epoch change knows its broker-side positions mean nothing.
"""

from __future__ import annotations

import json
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from leadflow.infra.broker import ensure_topics
from leadflow.topics import Topics


def _first(bootstrap: str, topic: str) -> str | None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=1500, fetch_max_wait_ms=50)
    try:
        if consumer.partitions_for_topic(topic) is None:
            return None
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        for record in consumer:
            try:
                epoch = json.loads(record.value).get("epoch")
            except (ValueError, AttributeError):
                return None
            return str(epoch) if epoch else None
        return None
    finally:
        consumer.close()


def current_epoch(bootstrap: str, topics: Topics) -> str:
    """The epoch of the broker's current life, written now if it has none yet."""
    marker = topics.relay_marker
    epoch = _first(bootstrap, marker)
    if epoch is not None:
        return epoch
    ensure_topics(bootstrap, [marker], partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        value = json.dumps({"epoch": uuid.uuid4().hex}).encode()
        producer.send(marker, key=b"epoch", value=value, partition=0).get(timeout=30)
    finally:
        producer.close(timeout=5)
    # Two processes may both have written one: the first record is the epoch for all.
    return _first(bootstrap, marker) or json.loads(value)["epoch"]


class EpochWatch:
    """Tells, at most every `every` seconds, whether the broker began a new life."""

    def __init__(self, bootstrap: str, topics: Topics, every: float = 5.0) -> None:
        self._bootstrap = bootstrap
        self._topics = topics
        self._every = every
        self._next = 0.0
        self.epoch: str | None = None

    def changed(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self._every
        try:
            epoch = current_epoch(self._bootstrap, self._topics)
        except KafkaError:
            return False  # the broker is away; look again next time
        before, self.epoch = self.epoch, epoch
        return before is not None and before != epoch
