"""An inbound consumer as a small pipeline of explicit steps (arroyo-style):

    poll -> validate -> dead-letter the invalid -> process the valid (durably) -> commit

Offsets are committed only after the batch's effect is durable in the database and its
DLQ records are acknowledged, so a crash at any point redelivers, and the use case's
dedupe by event_id makes the redelivery harmless.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CorruptRecordError, KafkaError
from kafka.structs import OffsetAndMetadata

from leadflow.consumers.deadletter import UNREADABLE, DeadLetters, Sent, skip_unreadable
from leadflow.consumers.runtime import tune_gc
from leadflow.infra.epoch import EpochWatch
from leadflow.logs import get_logger
from leadflow.schemas import InvalidRecord
from leadflow.topics import Topics

T = TypeVar("T")
log = get_logger("leadflow.consumer")

# Database errors worth waiting out; anything else in processing is treated as poison.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class ConsumerSettings:
    bootstrap: str
    topic: str
    dlq_topic: str
    group_id: str
    max_batch: int = 1000
    poll_timeout_ms: int = 100
    fetch_max_wait_ms: int = 20
    session_timeout_ms: int = 6000
    max_backoff: float = 5.0
    # To notice a broker that restarted empty (see leadflow.infra.epoch).
    topics: Topics | None = None


@dataclass
class Counters:
    batches: int = 0
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class InboundConsumer(Generic[T]):
    def __init__(
        self,
        settings: ConsumerSettings,
        parse: Callable[[bytes], T],
        process: Callable[[Sequence[T]], Any],
    ) -> None:
        self._s = settings
        self._parse = parse
        self._process = process
        self.counters = Counters()
        self._consumer: KafkaConsumer | None = None
        self._dlq: DeadLetters | None = None
        # Stand-ins for records the client could not decode (see skip_unreadable).
        self._unreadable: set[tuple[str, int, int]] = set()
        self._epochs: EpochWatch | None = (
            EpochWatch(settings.bootstrap, settings.topics) if settings.topics else None
        )

    def start(self) -> None:
        self._consumer = KafkaConsumer(
            self._s.topic,
            bootstrap_servers=self._s.bootstrap,
            group_id=self._s.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._s.max_batch,
            fetch_max_wait_ms=self._s.fetch_max_wait_ms,
            session_timeout_ms=self._s.session_timeout_ms,
            heartbeat_interval_ms=max(500, self._s.session_timeout_ms // 6),
            max_poll_interval_ms=600_000,
        )
        self._dlq = DeadLetters(self._s.bootstrap, self._s.dlq_topic)

    # --- the steps ------------------------------------------------------------------

    def poll(self) -> list[ConsumerRecord]:
        assert self._consumer is not None
        try:
            batches = self._consumer.poll(
                timeout_ms=self._s.poll_timeout_ms, max_records=self._s.max_batch
            )
        except CorruptRecordError as e:
            stand_in = skip_unreadable(self._consumer)
            if stand_in is None:
                raise
            log.warning(
                "unreadable record skipped",
                topic=stand_in.topic,
                partition=stand_in.partition,
                offset=stand_in.offset,
                error=type(e).__name__,
            )
            self._unreadable.add((stand_in.topic, stand_in.partition, stand_in.offset))
            return [stand_in]
        return [r for records in batches.values() for r in records]

    def validate(
        self, records: Sequence[ConsumerRecord]
    ) -> tuple[list[tuple[ConsumerRecord, T]], list[tuple[ConsumerRecord, str]]]:
        valid: list[tuple[ConsumerRecord, T]] = []
        invalid: list[tuple[ConsumerRecord, str]] = []
        for record in records:
            where = (record.topic, record.partition, record.offset)
            if where in self._unreadable:
                self._unreadable.discard(where)
                invalid.append((record, UNREADABLE))
                continue
            if record.value is None:
                invalid.append((record, "record has no value (null)"))
                continue
            try:
                valid.append((record, self._parse(record.value)))
            except InvalidRecord as e:
                invalid.append((record, e.reason))
            except Exception:
                # A validation bug must not stop the consumer: the record waits in the DLQ.
                log.exception("record could not be validated", offset=record.offset)
                invalid.append((record, "record could not be validated; see leadflow logs"))
        return valid, invalid

    def dead_letter(self, invalid: Sequence[tuple[ConsumerRecord, str]]) -> list[Sent]:
        assert self._dlq is not None
        sends = []
        for record, reason in invalid:
            sends.append(self._dlq.send(record, reason))
            log.warning(
                "record dead-lettered",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                reason=reason[:200],
            )
        self.counters.dead_lettered += len(invalid)
        return sends

    def process(
        self, valid: Sequence[tuple[ConsumerRecord, T]], stop: threading.Event
    ) -> tuple[Any, list[tuple[ConsumerRecord, str]]]:
        """Makes the batch durable; waits out transient errors. A batch that fails for
        another reason is split so one poison record cannot stop the others."""
        items = [item for _, item in valid]
        backoff = 0.05
        while True:
            try:
                return self._process(items), []
            except TRANSIENT as e:
                if stop.is_set():
                    raise
                self.counters.retries += 1
                log.warning(
                    "transient error; retrying", error=type(e).__name__, backoff_s=round(backoff, 2)
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, self._s.max_backoff)
            except Exception:
                if len(valid) == 1:
                    record, _ = valid[0]
                    log.exception("record failed in processing", offset=record.offset)
                    return None, [(record, "processing failed; see leadflow logs")]
                break
        poison: list[tuple[ConsumerRecord, str]] = []
        for one in valid:
            _, failed = self.process([one], stop)
            poison.extend(failed)
        return None, poison

    def commit(self, records: Sequence[ConsumerRecord], dlq_futures: Sequence[Sent]) -> None:
        assert self._consumer is not None
        if dlq_futures:
            assert self._dlq is not None
            self._dlq.confirm(dlq_futures)
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            if tp not in offsets or offsets[tp].offset < r.offset + 1:
                offsets[tp] = OffsetAndMetadata(r.offset + 1, "", -1)
        if offsets:
            try:
                self._consumer.commit(offsets)
            except KafkaError as e:
                # The effect is durable; an uncommitted batch is redelivered and deduplicated.
                log.warning(
                    "offset commit failed; the batch may be redelivered", error=type(e).__name__
                )

    # --- the loop -------------------------------------------------------------------

    def _restart_if_broker_emptied(self) -> None:
        """An emptied broker kept no offsets and renumbered its logs: read from the start
        (what was delivered before is deduplicated by event_id)."""
        if self._epochs is None or not self._epochs.changed():
            return
        assert self._consumer is not None
        assigned = list(self._consumer.assignment())
        log.warning(
            "broker lost its data; reading inbound from the start", partitions=len(assigned)
        )
        if assigned:
            self._consumer.seek_to_beginning(*assigned)

    def run_once(self, stop: threading.Event) -> int:
        self._restart_if_broker_emptied()
        records = self.poll()
        if not records:
            return 0
        started = time.perf_counter()
        valid, invalid = self.validate(records)
        futures = self.dead_letter(invalid)
        outcome, poison = self.process(valid, stop) if valid else (None, [])
        futures += self.dead_letter(poison)
        self.commit(records, futures)
        self.counters.batches += 1
        self.counters.records += len(records)
        accepted = getattr(outcome, "accepted", 0)
        duplicates = getattr(outcome, "duplicates", 0)
        self.counters.accepted += accepted
        self.counters.duplicates += duplicates
        log.info(
            "batch committed",
            topic=self._s.topic,
            records=len(records),
            accepted=accepted,
            duplicates=duplicates,
            dead_lettered=len(invalid) + len(poison),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return len(records)

    def run(self, stop: threading.Event) -> None:
        self.start()
        tune_gc()
        log.info("consumer started", topic=self._s.topic, group=self._s.group_id)
        try:
            while not stop.is_set():
                try:
                    self.run_once(stop)
                except TRANSIENT:
                    if not stop.is_set():
                        raise
                    # Stopping in the middle of a retry: nothing is committed, the batch
                    # is redelivered to whoever takes the partitions next.
        finally:
            self.close()
            log.info(
                "consumer stopped",
                topic=self._s.topic,
                records=self.counters.records,
                accepted=self.counters.accepted,
                dead_lettered=self.counters.dead_lettered,
            )

    def close(self) -> None:
        if self._dlq is not None:
            self._dlq.close()
            self._dlq = None
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
