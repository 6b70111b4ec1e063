"""A typed subscriber to leadflow's domain events (CONTRACT 5), for automation.

    sub = Subscriber("127.0.0.1:9092", "welcome-tasks")

    @sub.on(LeadConverted)
    def welcome(event: LeadConverted, envelope: Envelope) -> None: ...

    sub.run_forever()

Delivery is at least once: a record's offset is committed only after its handlers
returned, and a handler that raises gets the same record again after a back-off, so
handlers should be idempotent (``envelope.event_id`` is stable across re-deliveries).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal, TypeAlias, TypeVar, overload

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError

from leadflow.envelopes import (
    PAYLOAD_TYPES,
    AnyPayload,
    Envelope,
    LeadConverted,
    Money,
    Payload,
    PersonErased,
)
from leadflow.infra.broker import high_watermarks
from leadflow.logs import get_logger
from leadflow.topics import Topics

log = get_logger("leadflow.subscribe")

Start: TypeAlias = Literal["earliest", "latest"] | int
ANY_TYPE = "*"

__all__ = [
    "ANY_TYPE",
    "PAYLOAD_TYPES",
    "AnyPayload",
    "Envelope",
    "LeadConverted",
    "Money",
    "Payload",
    "PersonErased",
    "Subscriber",
    "SubscriberStats",
    "stop_on_signals",
]

P = TypeVar("P", bound=BaseModel)
Handler: TypeAlias = Callable[[P, Envelope], object]
Outcome: TypeAlias = Literal["handled", "skipped", "failed"]


@dataclass
class SubscriberStats:
    handled: int = 0
    skipped: int = 0
    failed: int = 0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs on kafka-python's IO thread, where blocking consumer calls are refused: it only
    pauses new partitions, and the poll loop positions and resumes them."""

    def __init__(self, sub: Subscriber, consumer: KafkaConsumer) -> None:
        self._sub, self._consumer = sub, consumer

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        with self._sub._lock:
            self._sub._unpositioned.difference_update(revoked)
            for tp in revoked:
                self._sub._failures.pop(tp, None)

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        # Paused before the first fetch, so nothing is read from a position we did not choose.
        self._consumer.pause(*assigned)
        with self._sub._lock:
            self._sub._unpositioned.update(assigned)


class Subscriber:
    """Consumes ``topics`` in consumer group ``group_id`` and calls handlers by event type.

    ``start`` applies only to partitions where the group has no committed offset:
    ``"earliest"``, ``"latest"`` (records produced after the subscriber joined) or an
    offset (clamped to what the partition holds). The chosen position is committed at
    once, so a restart before the first record does not move it.
    """

    def __init__(
        self, bootstrap: str, group_id: str, *, topics: Sequence[str] | None = None,
        prefix: str = "", start: Start = "earliest", backoff: float = 0.5,
        max_backoff: float = 30.0, poll_timeout_ms: int = 200, max_poll_records: int = 100,
    ) -> None:  # fmt: skip
        if isinstance(start, str) and start not in ("earliest", "latest"):
            raise ValueError(f"start must be 'earliest', 'latest' or an offset, not {start!r}")
        if isinstance(start, int) and start < 0:
            raise ValueError("a start offset must be >= 0")
        self.bootstrap, self.group_id, self.start = bootstrap, group_id, start
        self.topics = list(topics) if topics else [Topics(prefix).events("Lead")]
        self.backoff, self.max_backoff = backoff, max_backoff
        self.poll_timeout_ms, self.max_poll_records = poll_timeout_ms, max_poll_records
        self.stats = SubscriberStats()
        #: Set once partitions were assigned and positioned (tests, health checks).
        self.ready = threading.Event()
        self._handlers: dict[str, list[tuple[type[BaseModel], Handler[Any]]]] = {}
        self._lock = threading.Lock()
        self._unpositioned: set[TopicPartition] = set()
        # Consecutive failures of the record each partition is stuck on, for the back-off.
        self._failures: dict[TopicPartition, int] = {}

    @overload
    def on(self, event: type[P]) -> Callable[[Handler[P]], Handler[P]]: ...
    @overload
    def on(self, event: type[P], fn: Handler[P]) -> Handler[P]: ...
    @overload
    def on(self, event: str) -> Callable[[Handler[Any]], Handler[Any]]: ...
    @overload
    def on(self, event: str, fn: Handler[Any]) -> Handler[Any]: ...

    def on(self, event: type[BaseModel] | str, fn: Handler[Any] | None = None) -> Any:
        """Register ``fn(payload, envelope)`` for an event type: a payload model (its class
        name is the type) or a type name, whose payload is then the typed model if there is
        one, else :class:`AnyPayload`. ``"*"`` catches every type without a handler of its
        own. Without ``fn``, a decorator."""
        model: type[BaseModel]
        if isinstance(event, str):
            name, model = event, PAYLOAD_TYPES.get(event, AnyPayload)
        else:
            name, model = event.__name__, event

        def register(handler: Handler[Any]) -> Handler[Any]:
            self._handlers.setdefault(name, []).append((model, handler))
            return handler

        return register if fn is None else register(fn)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; the record in hand is finished first."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group_id, enable_auto_commit=False,
            # Never "latest": ListOffsets(latest) is wrong on Tansu (see infra.broker), so
            # _position chooses start positions itself.
            auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
            fetch_max_wait_ms=50, max_poll_records=self.max_poll_records,
        )  # fmt: skip
        consumer.subscribe(topics=self.topics, listener=_Listener(self, consumer))
        log.info("subscriber started", group=self.group_id, topics=self.topics,
                 start=self.start, types=sorted(self._handlers))  # fmt: skip
        try:
            while not stop.is_set():
                self._position(consumer)
                for tp, records in consumer.poll(timeout_ms=self.poll_timeout_ms).items():
                    if stop.is_set():
                        break
                    self._process(consumer, tp, records, stop)
        finally:
            consumer.close()
            log.info("subscriber stopped", group=self.group_id, **vars(self.stats))

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT."""
        stop = threading.Event()
        with stop_on_signals(stop):
            self.run(stop)

    # --- the pieces -----------------------------------------------------------------

    def _position(self, consumer: KafkaConsumer) -> None:
        with self._lock:
            new, self._unpositioned = self._unpositioned, set()
        new &= set(consumer.assignment())
        if not new:
            return
        fresh = sorted(tp for tp in new if consumer.committed(tp) is None)
        if fresh:
            offsets = self._start_offsets(consumer, fresh)
            for tp, offset in offsets.items():
                consumer.seek(tp, offset)
            self._commit(consumer, offsets)
            log.info("start positions chosen", group=self.group_id, start=self.start,
                     positions=_named(offsets))  # fmt: skip
        consumer.resume(*new)
        self.ready.set()

    def _start_offsets(
        self, consumer: KafkaConsumer, tps: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        if self.start == "earliest":
            return {tp: int(o) for tp, o in consumer.beginning_offsets(tps).items()}
        # Fetch-based high watermarks: ListOffsets(latest) under-reports on Tansu.
        highs = high_watermarks(self.bootstrap, sorted({tp.topic for tp in tps}))
        if self.start == "latest":
            return {tp: highs.get(tp, 0) for tp in tps}
        assert isinstance(self.start, int)
        lows = consumer.beginning_offsets(tps)
        return {tp: max(int(lows[tp]), min(self.start, highs.get(tp, 0))) for tp in tps}

    def _process(
        self, consumer: KafkaConsumer, tp: TopicPartition, records: Sequence[Any],
        stop: threading.Event,
    ) -> None:  # fmt: skip
        skipped_to: int | None = None  # records nobody handles are committed together
        for record in records:
            if stop.is_set():
                break
            outcome = self._deliver(record)
            if outcome == "failed":
                # Back to this record, dropping the rest of tp's batch: nothing after it
                # can be committed before it succeeds.
                consumer.seek(tp, record.offset)
                self._back_off(tp, record.offset, stop)
                break
            self._failures.pop(tp, None)
            if outcome == "handled":
                self._commit(consumer, {tp: record.offset + 1})
                skipped_to = None
            else:
                skipped_to = record.offset + 1
        if skipped_to is not None:
            self._commit(consumer, {tp: skipped_to})

    def _deliver(self, record: Any) -> Outcome:
        where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
        envelope = _decode(record.value, where)
        calls = [] if envelope is None else self._calls(envelope, where)
        if envelope is None or not calls:
            self.stats.skipped += 1
            return "skipped"
        for payload, fn in calls:
            try:
                fn(payload, envelope)
            except Exception:
                log.exception("handler failed; the record will be redelivered",
                              type=envelope.type, event_id=envelope.event_id, **where)  # fmt: skip
                self.stats.failed += 1
                return "failed"
        self.stats.handled += 1
        return "handled"

    def _calls(
        self, envelope: Envelope, where: dict[str, Any]
    ) -> list[tuple[BaseModel, Handler[Any]]]:
        """Each handler with its payload parsed; none when the payload does not parse, since
        redelivering it could never succeed."""
        handlers = self._handlers.get(envelope.type) or self._handlers.get(ANY_TYPE) or []
        try:
            return [(model.model_validate(envelope.payload), fn) for model, fn in handlers]
        except ValidationError as e:
            log.error("payload does not match its model; skipped", type=envelope.type,
                      event_id=envelope.event_id, error=str(e)[:500], **where)  # fmt: skip
            return []

    def _back_off(self, tp: TopicPartition, offset: int, stop: threading.Event) -> None:
        failures = self._failures[tp] = self._failures.get(tp, 0) + 1
        delay = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        log.info("backing off before redelivery", topic=tp.topic, partition=tp.partition,
                 offset=offset, attempt=failures, seconds=delay)  # fmt: skip
        stop.wait(delay)  # heartbeats go on in kafka-python's IO thread meanwhile

    def _commit(self, consumer: KafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        except KafkaError as e:
            # Typically a rebalance took the partition: its new owner reads the records
            # again, which at-least-once delivery allows.
            log.warning("commit failed; records may be redelivered", error=str(e)[:200],
                        offsets=_named(offsets))  # fmt: skip


def _named(offsets: dict[TopicPartition, int]) -> dict[str, dict[int, int]]:
    """For logs: offset by partition, per topic."""
    out: dict[str, dict[int, int]] = {}
    for tp in sorted(offsets):
        out.setdefault(tp.topic, {})[tp.partition] = offsets[tp]
    return out


def _decode(value: bytes | None, where: dict[str, Any]) -> Envelope | None:
    """The envelope, or None (logged) for a record that is not one: it is skipped."""
    try:
        return Envelope.model_validate(json.loads(value or b""))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        log.warning("record is not JSON; skipped", error=str(e)[:200], **where)
    except ValidationError as e:
        log.warning("record is not an event envelope; skipped", error=str(e)[:500], **where)
    return None


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` instead of killing the process (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
