"""The outbox relay: publishes the event store's notification log, in order, to Kafka.

The store is the outbox: commands only ever write the database, and this relay is the only
writer of the `leadflow.*.events` topics. Its position is saved only after the broker has
acknowledged every record up to it, so a crash re-publishes (at least once, same event_id)
and never skips.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from uuid import UUID

from confluent_kafka import KafkaException
from eventsourcing.persistence import StoredEvent
from kafka.errors import KafkaError

from leadflow.consumers.runtime import tune_gc
from leadflow.infra.broker import ensure_topics
from leadflow.infra.crypto import key_ids
from leadflow.infra.epoch import current_epoch
from leadflow.infra.store import DATABASE_ERRORS, Store
from leadflow.logs import get_logger
from leadflow.producers.acked import AckedProducer, PublishFailed
from leadflow.producers.stored import outbound_stored
from leadflow.topics import Topics

log = get_logger("leadflow.relay")
# kafka-python (topics, the broker epoch) and librdkafka (publishing).
KAFKA_ERRORS = (KafkaError, KafkaException, PublishFailed)


@dataclass(frozen=True)
class RelaySettings:
    bootstrap: str
    topics: Topics = field(default_factory=Topics)
    name: str = "relay"
    batch_size: int = 2000
    idle_sleep: float = 0.02
    marker_check_every: float = 2.0
    partitions: int = 6


class Relay:
    def __init__(self, store: Store, settings: RelaySettings) -> None:
        self._store = store
        self._s = settings
        self._producer: AckedProducer | None = None
        self._last_marker_check = 0.0
        self.published = 0

    # --- the pieces -----------------------------------------------------------------

    def start(self) -> None:
        ensure_topics(self._s.bootstrap, self._s.topics.all, self._s.partitions)
        self._producer = self._new_producer()
        self.check_broker(force=True)

    def _new_producer(self) -> AckedProducer:
        return AckedProducer(self._s.bootstrap)

    def _renew_producer(self) -> None:
        """An emptied broker no longer knows the idempotent producer's id."""
        if self._producer is not None:
            self._producer.close(timeout=5)
        self._producer = None
        self._producer = self._new_producer()

    @property
    def position(self) -> int:
        return self._store.side.position(self._s.name)

    def lag(self) -> int:
        return max(0, self._store.max_position() - self.position)

    def check_broker(self, force: bool = False) -> None:
        """A broker that lost its data (the embedded one after a restart) is in a new
        epoch: publish everything again from the start."""
        now = time.monotonic()
        if not force and now - self._last_marker_check < self._s.marker_check_every:
            return
        self._last_marker_check = now
        epoch = current_epoch(self._s.bootstrap, self._s.topics)
        known = self._store.side.position(f"{self._s.name}:epoch:{epoch}")
        if known:
            return
        if self.position > 0:
            log.warning("broker lost its data; republishing from the start", position=self.position)
            ensure_topics(self._s.bootstrap, self._s.topics.all, self._s.partitions)
            self._store.side.set_position(self._s.name, 0)
            self._renew_producer()
        self._store.side.set_position(f"{self._s.name}:epoch:{epoch}", 1)

    def publish_batch(self) -> int:
        """Publishes the next batch; returns how many events it published."""
        assert self._producer is not None
        start = self.position
        # Raw rows: select_notifications would build a UUID and a Notification per event.
        rows = self._store.stored_rows(start, self._s.batch_size)
        if not rows:
            return 0
        self._store.keys.prefetch(key_ids(bytes(row[4]) for row in rows))
        mapper = self._store.app.mapper
        producer = self._producer
        for position, originator_id, version, topic, state in rows:
            stored = StoredEvent(
                originator_id=(
                    originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
                ),
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            record = outbound_stored(stored, position, mapper)
            producer.send(
                self._s.topics.events(record.topic_aggregate), record.key, record.value,
                record.headers,
            )
        producer.acknowledge()  # raises unless the broker acknowledged every record
        last = rows[-1][0]
        self._store.side.set_position(self._s.name, last)
        self.published += len(rows)
        log.info("relay batch published", events=len(rows), position=last)
        return len(rows)

    # --- the loop -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self.start()
        tune_gc()
        log.info("relay started", bootstrap=self._s.bootstrap, position=self.position)
        try:
            while not stop.is_set():
                try:
                    if self.publish_batch() == 0:
                        self.check_broker()
                        stop.wait(self._s.idle_sleep)
                except KAFKA_ERRORS as e:
                    # Nothing after the saved position counts as published: start a new
                    # producer, look at the broker again and go on from the position.
                    log.warning("publishing failed; retrying", error=type(e).__name__)
                    stop.wait(1.0)
                    self._renew_producer()
                    with contextlib.suppress(*KAFKA_ERRORS, *DATABASE_ERRORS):
                        self.check_broker(force=True)
                except DATABASE_ERRORS as e:
                    # The database went away (restart, failover, a terminated connection):
                    # nothing after the saved position counts as published, so go on from
                    # it once the database answers again.
                    log.warning("database unavailable; retrying", error=type(e).__name__)
                    stop.wait(1.0)
        finally:
            self.close()
            log.info("relay stopped", position=self.position, published=self.published)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None
