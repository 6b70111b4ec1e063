"""Dead letters (CONTRACT 3.4, 9): a rejected record goes to the topic's `.dlq` as received
(key, value and the sender's headers), with leadflow's headers added:

* `leadflow.error`: why, for a person; one printable line of at most 500 characters, never
  a quote of the record (the reasons come from `leadflow.schemas`, which see to that);
* `leadflow.source.topic|partition|offset`: where the original is.

The sender cannot set those: any header of theirs in the `leadflow.` namespace is left out,
as are headers with a null value (kafka-python cannot produce them). Two cases cannot be
copied as they are, and say so in `leadflow.truncated`: a record with neither key nor value
(Kafka clients refuse to produce one) gets an empty value, and a record too large for the
DLQ gets its first 64 KiB of key and value and no sender headers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError

from leadflow.logs import get_logger
from leadflow.schemas import MAX_REASON_CHARS, MAX_RECORD_BYTES

log = get_logger("leadflow.consumer")

RESERVED_PREFIX = "leadflow."
# The inbound topic let the record in, so the DLQ on the same broker takes it too; the
# producer's own default cap (1 MiB) must not be the reason a dead letter fails.
MAX_DLQ_REQUEST_BYTES = 32 * 1024 * 1024
TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError)
UNREADABLE = (
    "record unreadable by the Kafka client (corrupt, or a header name that is not UTF-8); "
    "the original stays at the source offset"
)

Sent = tuple[Any, ConsumerRecord, str]


def safe_header(text: str, limit: int = MAX_REASON_CHARS) -> bytes:
    """Header values are for people: one line, printable, bounded."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text[:limit])
    return cleaned.encode("utf-8", "replace")


def _copy(record: ConsumerRecord, reason: str, whole: bool) -> dict[str, Any]:
    ours = [
        ("leadflow.error", safe_header(reason)),
        ("leadflow.source.topic", safe_header(record.topic)),
        ("leadflow.source.partition", str(record.partition).encode()),
        ("leadflow.source.offset", str(record.offset).encode()),
    ]
    key: bytes | None = record.key
    value: bytes | None = record.value
    if not whole:
        key = None if key is None else key[:MAX_RECORD_BYTES]
        value = None if value is None else value[:MAX_RECORD_BYTES]
        return {"key": key, "value": value or b"", "headers": [*ours, _truncated("too large")]}
    theirs = [
        (name, data)
        for name, data in record.headers or []
        if isinstance(data, bytes) and not name.lower().startswith(RESERVED_PREFIX)
    ]
    if key is None and value is None:
        return {"key": None, "value": b"", "headers": [*theirs, *ours, _truncated("null")]}
    return {"key": key, "value": value, "headers": [*theirs, *ours]}


def _truncated(why: str) -> tuple[str, bytes]:
    return ("leadflow.truncated", why.encode())


class DeadLetters:
    """The DLQ producer of one consumer: `send` now, `confirm` before committing offsets."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._producer = self._new_producer()

    def _new_producer(self) -> KafkaProducer:
        return KafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=MAX_DLQ_REQUEST_BYTES,
        )

    def send(self, record: ConsumerRecord, reason: str, whole: bool = True) -> Sent:
        try:
            future = self._producer.send(self._topic, **_copy(record, reason, whole))
        except TOO_LARGE:
            if not whole:
                raise
            log.warning("dead letter too large; sending it truncated", offset=record.offset)
            return self.send(record, reason, whole=False)
        return future, record, reason

    def confirm(self, sends: Sequence[Sent]) -> None:
        """Waits until the broker holds every dead letter. A broker that restarted empty
        no longer knows the idempotent producer's id: start a new producer and resend."""
        pending = list(sends)
        for attempt in range(6):
            self._producer.flush()
            failed: list[tuple[ConsumerRecord, str, KafkaError]] = []
            for future, record, reason in pending:
                try:
                    future.get(timeout=15)
                except KafkaError as e:
                    failed.append((record, reason, e))
            if not failed:
                return
            log.warning(
                "dead letters not acknowledged; resending with a new producer",
                count=len(failed),
                error=type(failed[0][2]).__name__,
                attempt=attempt,
            )
            self._producer.close(timeout=5)
            time.sleep(min(5.0, 0.5 * 2**attempt))
            self._producer = self._new_producer()
            pending = [
                self.send(r, why, whole=not isinstance(e, TOO_LARGE)) for r, why, e in failed
            ]
        raise failed[0][2]

    def close(self) -> None:
        self._producer.flush()
        self._producer.close(timeout=10)


def skip_unreadable(consumer: KafkaConsumer) -> ConsumerRecord | None:
    """After a CorruptRecordError from poll: moves past the record that could not be decoded
    and returns a stand-in for it (no key, value or headers), or None if it cannot be found.

    kafka-python does not say where the record is (Java's client does, in
    RecordDeserializationException); its fetcher's partition in progress does: that
    partition's next offset is the record it could not decode.
    """
    part = getattr(getattr(consumer, "_fetcher", None), "_next_partition_records", None)
    tp = getattr(part, "topic_partition", None)
    offset = getattr(part, "next_fetch_offset", None)
    if not isinstance(tp, TopicPartition) or not isinstance(offset, int):
        return None
    if consumer.position(tp) != offset:
        return None
    consumer.seek(tp, offset + 1)
    return ConsumerRecord(
        topic=tp.topic,
        partition=tp.partition,
        leader_epoch=-1,
        offset=offset,
        timestamp=-1,
        timestamp_type=0,
        key=None,
        value=None,
        headers=[],
        checksum=None,
        serialized_key_size=-1,
        serialized_value_size=-1,
        serialized_header_size=-1,
    )
