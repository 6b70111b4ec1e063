"""leadflow.subscribe on the session broker: real events from the application, published by
the relay to a fresh set of topics per test.

The relay publishes everything in one batch, so each partition's records share a record
batch: on Tansu, ListOffsets(latest) would then under-report and a naive "latest" would
re-read records (see leadflow.infra.broker).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from leadflow.application.commands import CommandContext
from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.infra.broker import group_lag, high_watermarks
from leadflow.producers.relay import Relay, RelaySettings
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings
from leadflow.subscribe import AnyPayload, Envelope, LeadConverted, Subscriber
from leadflow.topics import Topics

pytestmark = pytest.mark.kafka

AT = datetime(2026, 9, 20, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
Where = tuple[int, int]  # (partition, offset)


@dataclass
class Data:
    lf: Leadflow
    converted: dict[str, dict[str, Any]] = field(default_factory=dict)  # lead id -> answer
    leads: int = 0

    def lead(self, convert: bool) -> str:
        self.leads += 1
        email = f"person{self.leads}@company{self.leads}.example"
        out = self.lf.engagement.record([parse_engagement({
            "event_id": f"ev-{self.leads}", "type": "demo_requested",
            "occurred_at": "2026-09-14T10:00:00Z", "email": email, "source": "webinar",
            "campaign": "q3", "person": {"company": f"Company {self.leads}"},
        })])  # fmt: skip
        lead_id = out.lead_ids[f"ev-{self.leads}"]
        if convert:
            ctx = CommandContext(occurred_at=AT)
            self.lf.leads.assign(UUID(lead_id), "alice", ctx)
            answer = self.lf.conversion.convert(
                UUID(lead_id), ctx, opportunity={"name": "deal", "amount": "1250"}
            )
            self.converted[lead_id] = {**answer, "email": email}
        return lead_id


@dataclass
class Feed:
    bootstrap: str
    topics: Topics
    relay: Relay

    @property
    def lead_topic(self) -> str:
        return self.topics.events("Lead")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    tmp: Path = tmp_path_factory.mktemp("subscribe")
    settings = Settings(data_dir=tmp, database=DatabaseSettings.from_url(None, tmp))
    lf = build(settings, load_config())
    d = Data(lf)
    for i in range(10):
        d.lead(convert=i % 3 == 0)
    yield d
    lf.close()


@pytest.fixture
def feed(data: Data, kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Iterator[Feed]:
    """Every stored event so far, published once to a fresh set of topics."""
    prefix = unique_name("sub") + "."
    relay = Relay(data.lf.store, RelaySettings(
        bootstrap=kafka_bootstrap, topics=Topics(prefix), name=f"relay-{prefix}"
    ))  # fmt: skip
    relay.start()
    assert relay.publish_batch() > 0
    yield Feed(kafka_bootstrap, Topics(prefix), relay)
    relay.close()


def scan(bootstrap: str, topic: str) -> dict[Where, str | None]:
    """Every record of ``topic``: (partition, offset) -> event_id (None if not an envelope)."""
    highs = high_watermarks(bootstrap, [topic])
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=10)  # fmt: skip
    out: dict[Where, str | None] = {}
    try:
        consumer.assign(list(highs))
        consumer.seek_to_beginning()
        deadline = time.monotonic() + 15
        while len(out) < sum(highs.values()) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    try:
                        event_id = json.loads(r.value).get("event_id")
                    except (ValueError, AttributeError):
                        event_id = None
                    out[(r.partition, r.offset)] = event_id
    finally:
        consumer.close()
    assert len(out) == sum(highs.values())
    return out


@contextmanager
def running(sub: Subscriber, stop: threading.Event | None = None) -> Iterator[threading.Event]:
    stop = stop or threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            sub.run(stop)
        except BaseException as e:  # surfaced in the test thread
            errors.append(e)

    thread = threading.Thread(target=target, name=f"subscriber-{sub.group_id}", daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive(), "subscriber did not stop"
    if errors:
        raise errors[0]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 25.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def caught_up(feed: Feed, group: str) -> Callable[[], bool]:
    return lambda: sum(group_lag(feed.bootstrap, group, [feed.lead_topic]).values()) == 0


def probe(feed: Feed, group: str) -> Callable[[int], int | None]:
    """Committed offset of the group for a partition of the lead topic, asked remotely."""
    consumer = KafkaConsumer(bootstrap_servers=feed.bootstrap, group_id=group,
                             enable_auto_commit=False)  # fmt: skip

    def committed(partition: int) -> int | None:
        value = consumer.committed(TopicPartition(feed.lead_topic, partition))
        return None if value is None else int(value)

    committed.close = consumer.close  # type: ignore[attr-defined]
    return committed


def subscriber(feed: Feed, group: str, **kw: Any) -> Subscriber:
    return Subscriber(feed.bootstrap, group, prefix=feed.topics.prefix, backoff=0.1, **kw)


def test_handler_gets_typed_lead_converted_and_the_commit_follows_it(
    data: Data, feed: Feed, unique_name: Callable[[str], str]
) -> None:
    producer = KafkaProducer(bootstrap_servers=feed.bootstrap)
    for bad in (b"not json", b'{"json": "but no envelope"}', b"\xff\xfe"):
        producer.send(feed.lead_topic, bad, partition=0).get(10)
    producer.close()
    where = {e: w for w, e in scan(feed.bootstrap, feed.lead_topic).items()}
    group = unique_name("g")
    committed = probe(feed, group)
    sub = subscriber(feed, group)
    got: list[tuple[LeadConverted, Envelope, int | None]] = []
    captured: list[Any] = []

    @sub.on(LeadConverted)
    def converted(event: LeadConverted, envelope: Envelope) -> None:
        partition, _ = where[envelope.event_id]
        got.append((event, envelope, committed(partition)))

    sub.on("LeadCaptured", lambda payload, _env: captured.append(payload))
    with running(sub):
        wait_until(caught_up(feed, group), "the group to commit everything")
    committed.close()  # type: ignore[attr-defined]

    assert {str(e.lead_id) for e, _, _ in got} == set(data.converted)
    for event, envelope, committed_then in got:
        answer = data.converted[str(event.lead_id)]
        assert envelope.type == "LeadConverted" and envelope.aggregate_id == str(event.lead_id)
        assert (event.contact_id, event.account_id) == (
            UUID(answer["contact_id"]),
            UUID(answer["account_id"]),
        )
        assert event.opportunity_id == UUID(answer["opportunity_id"])
        assert event.opportunity_amount == Decimal("1250.00")
        assert (event.email, event.owner, event.source, event.campaign) == (
            answer["email"],
            "alice",
            "webinar",
            "q3",
        )
        assert event.contact_created and event.account_created
        assert event.converted_at == AT
        # The handler runs before its record is committed.
        assert committed_then is not None and committed_then <= where[envelope.event_id][1]
    assert len(captured) == data.leads and all(isinstance(p, AnyPayload) for p in captured)
    assert {p.data()["lead_id"] for p in captured} >= set(data.converted)
    assert sub.stats.skipped >= 3 and sub.stats.failed == 0


def test_a_failing_handler_gets_the_same_record_again_and_nothing_after_it_is_committed(
    feed: Feed, unique_name: Callable[[str], str]
) -> None:
    records = scan(feed.bootstrap, feed.lead_topic)
    where = {e: w for w, e in records.items()}
    counts = {p: sum(1 for q, _ in records if q == p) for p, _ in records}
    partition = max(counts, key=lambda p: counts[p])
    assert counts[partition] >= 2
    first = records[(partition, 0)]
    group = unique_name("g")
    committed = probe(feed, group)
    sub = subscriber(feed, group)
    seen: list[tuple[int, int | None]] = []  # (offset, committed) on partition, in order

    def handle(_payload: AnyPayload, envelope: Envelope) -> None:
        p, offset = where[envelope.event_id]
        if p != partition:
            return
        seen.append((offset, committed(p)))
        if envelope.event_id == first and len(seen) == 1:
            raise RuntimeError("the CRM is down")

    sub.on("*", handle)
    with running(sub):
        wait_until(caught_up(feed, group), "the group to commit everything")
    committed.close()  # type: ignore[attr-defined]

    offsets = [o for o, _ in seen]
    assert offsets == [0, *range(counts[partition])], "redelivered first, then in order"
    assert seen[0][1] == 0 and seen[1][1] == 0, "nothing committed past the failed record"
    assert sub.stats.failed == 1


def test_start_latest_skips_existing_records_even_after_a_multi_record_batch(
    data: Data, feed: Feed, unique_name: Callable[[str], str]
) -> None:
    highs = high_watermarks(feed.bootstrap, [feed.lead_topic])
    assert max(highs.values()) >= 2  # some partition holds a batch of several records
    before = data.lf.store.max_position()
    group = unique_name("g")
    sub = subscriber(feed, group, start="latest")
    got: list[Envelope] = []
    sub.on("*", lambda _p, envelope: got.append(envelope))
    with running(sub):
        wait_until(sub.ready.is_set, "the subscriber to be assigned")
        # The start position is committed at once, so it holds across a restart.
        assert group_lag(feed.bootstrap, group, [feed.lead_topic]) == dict.fromkeys(highs, 0)
        lead_id = data.lead(convert=True)
        assert feed.relay.publish_batch() > 0
        wait_until(lambda: any(e.type == "LeadConverted" and e.aggregate_id == lead_id
                               for e in got), "the new conversion")  # fmt: skip
        wait_until(caught_up(feed, group), "the group to commit everything")
    assert got and all(e.position > before for e in got)
    assert {e.aggregate_id for e in got} == {lead_id}


def test_start_at_an_offset_applies_to_every_partition_without_a_committed_offset(
    feed: Feed, unique_name: Callable[[str], str]
) -> None:
    records = scan(feed.bootstrap, feed.lead_topic)
    where = {e: w for w, e in records.items()}
    group = unique_name("g")
    sub = subscriber(feed, group, start=2)
    got: list[Where] = []
    sub.on("*", lambda _p, envelope: got.append(where[envelope.event_id]))
    with running(sub):
        wait_until(caught_up(feed, group), "the group to commit everything")
    assert sorted(got) == sorted(w for w in records if w[1] >= 2)


def test_a_second_subscriber_in_the_group_resumes_after_the_committed_offset(
    feed: Feed, unique_name: Callable[[str], str]
) -> None:
    records = scan(feed.bootstrap, feed.lead_topic)
    group = unique_name("g")
    first_stop = threading.Event()
    first: list[str] = []

    def handle_then_stop(_payload: AnyPayload, envelope: Envelope) -> None:
        first.append(envelope.event_id)
        if len(first) == 5:
            first_stop.set()

    sub1 = subscriber(feed, group)
    sub1.on("*", handle_then_stop)
    with running(sub1, first_stop):
        wait_until(first_stop.is_set, "five records")
    second: list[str] = []
    sub2 = subscriber(feed, group, start="latest")  # ignored: the group has offsets
    sub2.on("*", lambda _p, envelope: second.append(envelope.event_id))
    with running(sub2):
        wait_until(caught_up(feed, group), "the group to commit everything")
    assert len(first) == 5
    assert not set(first) & set(second), "nothing handled twice after a clean stop"
    assert sorted(first + second) == sorted(e for e in records.values() if e is not None)


def test_the_example_automation_acts_on_conversions_and_stops_cleanly_on_sigint(
    data: Data, feed: Feed, unique_name: Callable[[str], str]
) -> None:
    group = unique_name("g")
    argv = [sys.executable, str(ROOT / "examples" / "automation.py"), "--bootstrap",
            feed.bootstrap, "--prefix", feed.topics.prefix, "--group", group]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(caught_up(feed, group), "the example to commit everything", timeout=40)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    tasks = [line for line in out.splitlines() if line.startswith("TASK for alice: welcome ")]
    assert len(tasks) == len(data.converted), out
    assert "subscriber stopped" in err


def test_start_must_be_earliest_latest_or_an_offset() -> None:
    with pytest.raises(ValueError, match="start"):
        Subscriber("127.0.0.1:9", "g", start="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        Subscriber("127.0.0.1:9", "g", start=-1)
