"""The relay's Kafka producer: records go out in batches, and a batch counts as published
only once the broker acknowledged every record of it.

It runs on librdkafka (see `leadflow.infra.rdkafka` for why). The partitioner is Java's
(murmur2 of the key, as kafka-python's default): an aggregate keeps the partition earlier
releases and other clients put it in, so its events stay in order.
"""

from __future__ import annotations

from typing import cast

from confluent_kafka import KafkaError, Message, Producer

from leadflow.infra.rdkafka import client_config
from leadflow.logs import get_logger

log = get_logger("leadflow.relay")
_Headers = list[tuple[str, str | bytes | None]]


class PublishFailed(Exception):
    """The broker did not acknowledge every record of a batch (in time)."""


class AckedProducer:
    def __init__(self, bootstrap: str, ack_timeout: float = 60.0) -> None:
        self._timeout = ack_timeout
        self._failures: list[str] = []
        self._producer = Producer(
            client_config(
                bootstrap,
                "leadflow-relay",
                **{
                    "enable.idempotence": True,
                    "acks": "all",
                    "partitioner": "murmur2_random",
                    # A batch ends in flush(), which sends whatever lingers at once.
                    "linger.ms": 100,
                    "batch.size": 1_000_000,
                    "message.max.bytes": 4 * 1024 * 1024,
                    "queue.buffering.max.messages": 1_000_000,
                    "message.timeout.ms": int(ack_timeout * 1000),
                    # Successes are known from flush() returning with nothing left in flight;
                    # a callback per record would cost the Python call librdkafka saves.
                    "delivery.report.only.error": True,
                    "on_delivery": self._delivered,
                    "error_cb": self._error,
                },
            )
        )

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(err.name())

    def _error(self, err: KafkaError) -> None:
        # Transient ones (a broker gone for a while) are retried by librdkafka until the
        # records' timeout; a fatal one (the idempotent producer fenced) fails the batch.
        if err.fatal():
            self._failures.append(err.name())
        log.warning("kafka client error", error=err.name(), fatal=err.fatal())

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, headers=cast(_Headers, headers))
                return
            except BufferError:  # the local queue is full: let librdkafka drain some
                self._producer.poll(0.05)

    def acknowledge(self) -> None:
        """Returns once the broker acknowledged every record sent so far; raises
        `PublishFailed` if one failed or the timeout passed with some unacknowledged."""
        left = self._producer.flush(self._timeout)
        failures, self._failures = self._failures, []
        if left or failures:
            raise PublishFailed(
                f"{left} records unacknowledged after {self._timeout:.0f} s"
                if left
                else f"the broker refused records: {', '.join(sorted(set(failures)))}"
            )

    def close(self, timeout: float = 10.0) -> None:
        if self._producer.flush(timeout):
            self._producer.purge()  # records not acknowledged are published again later
        self._producer.close()
