"""The Kafka side of `POST /engagement` and `POST /spend`: an InboundPublisher on kafka-python."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from leadflow.api.ingest import KeyedRecords, PublishFailed
from leadflow.topics import Topics


class KafkaInboundPublisher:
    """Publishes to `marketing.engagement` / `marketing.spend` and waits for every ack.

    acks=all with an idempotent producer: an answered 202 means the records are on every
    in-sync replica, and the producer's own retries cannot write one twice.
    """

    def __init__(
        self, bootstrap: str, topics: Topics, timeout: float = 30.0, **producer: Any
    ) -> None:
        self._topics = topics
        self._timeout = timeout
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            # A request must fail within our timeout instead of blocking the worker thread.
            max_block_ms=int(timeout * 1000),
            **producer,
        )

    def publish_engagement(self, items: KeyedRecords) -> None:
        self._publish(self._topics.engagement, items)

    def publish_spend(self, items: KeyedRecords) -> None:
        self._publish(self._topics.spend, items)

    def _publish(self, topic: str, items: KeyedRecords) -> None:
        try:
            futures = [self._producer.send(topic, key=k, value=v) for k, v in items]
            self._producer.flush(timeout=self._timeout)
            for f in futures:
                f.get(timeout=self._timeout)
        except KafkaError as e:
            # Some records may be on the topic already; a retried request is harmless as
            # every record is deduplicated by its event_id downstream.
            raise PublishFailed(f"the broker did not acknowledge the records: {e}") from e

    def close(self) -> None:
        self._producer.close(timeout=self._timeout)
