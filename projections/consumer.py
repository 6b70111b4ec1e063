"""The projection consumer: applies `leadflow.*.events` to the read models.

Rows and the consumer's offsets are written in one transaction, and on (re)assignment the
consumer seeks to the offsets it stored, so every event is applied exactly once per table
whatever crashes or rebalances happen. Offsets are also committed to Kafka, only so that
lag can be watched from outside.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from leadflow.consumers.runtime import tune_gc
from leadflow.infra.epoch import EpochWatch, current_epoch
from leadflow.infra.store import DATABASE_ERRORS, Store
from leadflow.logs import get_logger
from leadflow.projections import facts, schema
from leadflow.projections.batching import Batch
from leadflow.topics import Topics

log = get_logger("leadflow.projections")
GROUP = "leadflow.projections"


@dataclass(frozen=True)
class ProjectionSettings:
    bootstrap: str
    topics: Topics = field(default_factory=Topics)
    group_id: str = GROUP
    max_batch: int = 2000
    session_timeout_ms: int = 6000


class _Seeker(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs on kafka-python's IO thread, where blocking calls are refused: it pauses new
    partitions, and the poll loop seeks them to the stored offsets and resumes them."""

    def __init__(self, owner: ProjectionConsumer) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        with self._owner._lock:
            self._owner._unpositioned.difference_update(revoked)

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        assert self._owner._consumer is not None
        self._owner._consumer.pause(*assigned)
        with self._owner._lock:
            self._owner._unpositioned.update(assigned)


class ProjectionConsumer:
    def __init__(self, store: Store, settings: ProjectionSettings) -> None:
        self._store = store
        self._s = settings
        self._consumer: KafkaConsumer | None = None
        self._epoch: str | None = None
        self.applied = 0
        self._names = schema.table_names()
        self._lock = threading.Lock()
        self._epochs = EpochWatch(settings.bootstrap, settings.topics)
        self._unpositioned: set[TopicPartition] = set()

    def start(self) -> None:
        schema.create(self._store.side)
        self._consumer = KafkaConsumer(
            bootstrap_servers=self._s.bootstrap,
            group_id=self._s.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._s.max_batch,
            fetch_max_wait_ms=20,
            session_timeout_ms=self._s.session_timeout_ms,
            heartbeat_interval_ms=max(500, self._s.session_timeout_ms // 6),
            max_poll_interval_ms=600_000,
        )
        self._consumer.subscribe(self._s.topics.domain_events, listener=_Seeker(self))

    def _position_new_partitions(self) -> None:
        assert self._consumer is not None
        with self._lock:
            new, self._unpositioned = self._unpositioned, set()
        new &= set(self._consumer.assignment())
        if new:
            self.seek_to_stored(sorted(new))
            self._consumer.resume(*new)

    def seek_to_stored(self, assigned: Sequence[TopicPartition]) -> None:
        assert self._consumer is not None
        self._epoch = current_epoch(self._s.bootstrap, self._s.topics)
        rows = self._store.side.query(
            "SELECT topic, partition_no, next_offset, epoch FROM {rm_positions} WHERE consumer = ?",
            (self._s.group_id,),
            self._names,
        )
        stored = {(t, int(p)): (int(o), e) for t, p, o, e in rows}
        for tp in assigned:
            offset, epoch = stored.get((tp.topic, tp.partition), (0, None))
            # Offsets from another broker's life (an emptied broker) mean nothing here.
            if self._epoch is None or epoch != self._epoch:
                offset = 0
            self._consumer.seek(tp, offset)
        log.info("partitions assigned", count=len(assigned), epoch=self._epoch)

    def run_once(self) -> int:
        assert self._consumer is not None
        if self._epochs.changed():
            # The broker restarted empty: stored offsets mean nothing in its new logs.
            with self._lock:
                self._unpositioned.update(self._consumer.assignment())
        self._position_new_partitions()
        polled = self._consumer.poll(timeout_ms=100, max_records=self._s.max_batch)
        self._position_new_partitions()
        records = [r for batch in polled.values() for r in batch]
        if not records:
            return 0
        started = time.perf_counter()
        last: dict[TopicPartition, int] = {}
        touched: set[str] = set()
        with self._store.side.transaction(self._names) as tx:
            batch = Batch(tx)
            for r in records:
                try:
                    envelope: dict[str, Any] = json.loads(r.value)
                except (ValueError, TypeError):
                    log.error(
                        "skipping a record that is not an envelope", topic=r.topic, offset=r.offset
                    )
                else:
                    lead = batch.apply(envelope)
                    if lead is not None:
                        touched.add(lead)
                last[TopicPartition(r.topic, r.partition)] = r.offset + 1
            batch.flush()
            facts.refresh(tx, touched, self._store.side.dialect)
            for tp, next_offset in last.items():
                tx.execute(
                    "INSERT INTO {rm_positions} (consumer, topic, partition_no, next_offset,"
                    " epoch) VALUES (?, ?, ?, ?, ?) ON CONFLICT (consumer, topic, partition_no)"
                    " DO UPDATE SET next_offset = excluded.next_offset, epoch = excluded.epoch",
                    (self._s.group_id, tp.topic, tp.partition, next_offset, self._epoch),
                )
        try:
            # Only for lag watching: the positions that count are in the database.
            self._consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in last.items()})
        except KafkaError as e:
            log.warning("offset commit failed", error=type(e).__name__)
        self.applied += len(records)
        log.info(
            "projection batch applied",
            events=len(records),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return len(records)

    def run(self, stop: threading.Event) -> None:
        self.start()
        tune_gc()
        log.info("projection consumer started", group=self._s.group_id)
        try:
            while not stop.is_set():
                try:
                    self.run_once()
                except DATABASE_ERRORS as e:
                    # The database went away mid-batch (restart, failover, a terminated
                    # connection): the batch was not applied, so seek back to the stored
                    # offsets and go on once the database answers again.
                    log.warning("database unavailable; retrying", error=type(e).__name__)
                    stop.wait(1.0)
                    assert self._consumer is not None
                    assigned = self._consumer.assignment()
                    self._consumer.pause(*assigned)
                    with self._lock:
                        self._unpositioned.update(assigned)
        finally:
            self.close()
            log.info("projection consumer stopped", applied=self.applied)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
