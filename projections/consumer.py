"""The projection consumer: applies `leadflow.*.events` to the read models.

Rows and the consumer's offsets are written in one transaction, and on (re)assignment the
consumer seeks to the offsets it stored, so every event is applied exactly once per table
whatever crashes or rebalances happen. Offsets are also committed to Kafka, only so that
lag can be watched from outside.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from leadflow.consumers.runtime import tune_gc
from leadflow.infra.epoch import EpochWatch, current_epoch
from leadflow.infra.rdkafka import client_config
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


Partition = tuple[str, int]


class ProjectionConsumer:
    """On librdkafka (see `leadflow.infra.rdkafka`). Its rebalance callbacks run inside
    `consume()`, on this thread, so a new assignment starts at the stored offsets."""

    def __init__(self, store: Store, settings: ProjectionSettings) -> None:
        self._store = store
        self._s = settings
        self._consumer: Consumer | None = None
        self._epoch: str | None = None
        self.applied = 0
        self._names = schema.table_names()
        self._epochs = EpochWatch(settings.bootstrap, settings.topics)
        self._assigned: set[Partition] = set()
        # Assigned but paused until sought to the stored offsets (after a database error
        # mid-batch, or a broker that restarted empty).
        self._unpositioned: set[Partition] = set()

    def start(self) -> None:
        schema.create(self._store.side)
        self._consumer = Consumer(
            client_config(
                self._s.bootstrap,
                "leadflow-projections",
                **{
                    "group.id": self._s.group_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": self._s.session_timeout_ms,
                    "heartbeat.interval.ms": max(500, self._s.session_timeout_ms // 6),
                    "max.poll.interval.ms": 600_000,
                    "fetch.wait.max.ms": 20,
                    # Topics made after the subscription (a broker emptied) are found soon.
                    "topic.metadata.refresh.interval.ms": 5000,
                    "queued.max.messages.kbytes": 16 * 1024,
                },
            )
        )
        self._consumer.subscribe(
            self._s.topics.domain_events,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = {(tp.topic, tp.partition) for tp in partitions}
        self._unpositioned.clear()
        try:
            offsets = self._stored_offsets(self._assigned)
        except DATABASE_ERRORS as e:
            # Assigned paused, and sought to the stored offsets once the database answers.
            log.warning("database unavailable; partitions wait", error=type(e).__name__)
            consumer.assign(partitions)
            consumer.pause(partitions)
            self._unpositioned = set(self._assigned)
            return
        consumer.assign(
            [TopicPartition(tp.topic, tp.partition, offsets[tp.topic, tp.partition])
             for tp in partitions]
        )  # fmt: skip
        log.info("partitions assigned", count=len(partitions), epoch=self._epoch)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        consumer.unassign()
        self._assigned.clear()
        self._unpositioned.clear()

    def _stored_offsets(self, partitions: set[Partition]) -> dict[Partition, int]:
        self._epoch = current_epoch(self._s.bootstrap, self._s.topics)
        rows = self._store.side.query(
            "SELECT topic, partition_no, next_offset, epoch FROM {rm_positions} WHERE consumer = ?",
            (self._s.group_id,),
            self._names,
        )
        stored = {(t, int(p)): (int(o), e) for t, p, o, e in rows}
        offsets = {}
        for tp in partitions:
            offset, epoch = stored.get(tp, (0, None))
            # Offsets from another broker's life (an emptied broker) mean nothing here.
            offsets[tp] = offset if self._epoch is not None and epoch == self._epoch else 0
        return offsets

    def rewind(self) -> None:
        """Every assigned partition goes back to its stored offset before the next batch."""
        assert self._consumer is not None
        self._consumer.pause([TopicPartition(t, p) for t, p in self._assigned])
        self._unpositioned |= self._assigned

    def _position_unpositioned(self) -> None:
        assert self._consumer is not None
        if not self._unpositioned:
            return
        offsets = self._stored_offsets(self._unpositioned)
        for (topic, partition), offset in sorted(offsets.items()):
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as e:  # not fetching yet: try again on the next round
                log.info("seek deferred", topic=topic, partition=partition, error=str(e))
                continue
            self._consumer.resume([TopicPartition(topic, partition)])
            self._unpositioned.discard((topic, partition))
        log.info("partitions assigned", count=len(offsets), epoch=self._epoch)

    def _poll(self) -> list[Message]:
        """What is fetched already, else the first record within 0.1 s and what came with
        it: consume(n, timeout) waits for n records or the whole timeout, which at a low rate
        would add the timeout to every record's latency."""
        assert self._consumer is not None
        polled = self._consumer.consume(self._s.max_batch, timeout=0)
        if not polled:
            polled = self._consumer.consume(1, timeout=0.1)
            if polled:
                polled += self._consumer.consume(self._s.max_batch - 1, timeout=0)
        return polled

    def run_once(self) -> int:
        assert self._consumer is not None
        if self._epochs.changed():
            # The broker restarted empty: stored offsets mean nothing in its new logs.
            self.rewind()
        self._position_unpositioned()
        polled = self._poll()
        records: list[Message] = []
        for m in polled:
            if m.error() is not None:
                log.warning("fetch error", error=str(m.error()))
            elif (m.topic(), m.partition()) not in self._unpositioned:
                records.append(m)
        if not records:
            return 0
        started = time.perf_counter()
        last: dict[Partition, int] = {}
        touched: set[str] = set()
        with self._store.side.transaction(self._names) as tx:
            batch = Batch(tx)
            for r in records:
                try:
                    envelope: dict[str, Any] = orjson.loads(r.value() or b"")
                except orjson.JSONDecodeError:
                    log.error(
                        "skipping a record that is not an envelope",
                        topic=r.topic(),
                        offset=r.offset(),
                    )
                else:
                    lead = batch.apply(envelope)
                    if lead is not None:
                        touched.add(lead)
                last[cast(str, r.topic()), cast(int, r.partition())] = cast(int, r.offset()) + 1
            batch.flush()
            facts.refresh(tx, touched, self._store.side.dialect)
            for (topic, partition), next_offset in last.items():
                tx.execute(
                    "INSERT INTO {rm_positions} (consumer, topic, partition_no, next_offset,"
                    " epoch) VALUES (?, ?, ?, ?, ?) ON CONFLICT (consumer, topic, partition_no)"
                    " DO UPDATE SET next_offset = excluded.next_offset, epoch = excluded.epoch",
                    (self._s.group_id, topic, partition, next_offset, self._epoch),
                )
        try:
            # Only for lag watching: the positions that count are in the database.
            self._consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in last.items()],
                asynchronous=False,
            )
        except KafkaException as e:
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
                    self.rewind()
        finally:
            self.close()
            log.info("projection consumer stopped", applied=self.applied)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
