"""Hostile records on the inbound topics (CONTRACT 3.4, 9), against a real InboundConsumer on
the session broker: every bad record reaches the DLQ with its key and value as received and
safe leadflow headers, the valid ones around it are stored, and the consumer keeps going."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from leadflow.consumers.deadletter import UNREADABLE
from leadflow.consumers.inbound import InboundOptions, engagement_consumer
from leadflow.consumers.pipeline import InboundConsumer
from leadflow.container import Leadflow
from leadflow.schemas import MAX_REASON_CHARS, MAX_RECORD_BYTES
from leadflow.topics import Topics
from tests.integration.bus.test_inbound_consumers import drain

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True),
]

OURS = (
    "leadflow.error",
    "leadflow.source.topic",
    "leadflow.source.partition",
    "leadflow.source.offset",
)
Where = tuple[int, int]


def valid(email: str | None = None) -> dict[str, Any]:
    return {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "type": "form_submitted",
        "occurred_at": "2026-09-14T10:00:00Z",
        "email": email or f"p{uuid.uuid4().hex[:12]}@example.com",
        "source": "web",
    }


@pytest.fixture
def big_producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        acks="all",
        linger_ms=2,
        max_request_size=8 * 1024 * 1024,
    )
    yield p
    p.close(timeout=5)


@dataclass
class Sent:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def produce(producer: KafkaProducer, topic: str, records: list[Sent]) -> list[Where]:
    """Where each record landed, in order."""
    futures = [producer.send(topic, key=r.key, value=r.value, headers=r.headers) for r in records]
    producer.flush()
    return [(m.partition, m.offset) for m in (f.get(timeout=30) for f in futures)]


class DlqReader:
    """Reads a DLQ topic incrementally, without a group: every partition from the start."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20
        )
        parts = self.consumer.partitions_for_topic(topic) or set()
        self.consumer.assign([TopicPartition(topic, p) for p in parts])
        self.consumer.seek_to_beginning()
        self.by_source: dict[Where, Any] = {}

    def read_until(self, count: int, rounds: int = 300) -> dict[Where, Any]:
        for _ in range(rounds):
            if len(self.by_source) >= count:
                break
            for records in self.consumer.poll(timeout_ms=100).values():
                for m in records:
                    h = dict(m.headers)
                    where = (int(h["leadflow.source.partition"]), int(h["leadflow.source.offset"]))
                    assert where not in self.by_source, f"dead-lettered twice: {where}"
                    self.by_source[where] = m
        return self.by_source

    def close(self) -> None:
        self.consumer.close()


def assert_safe_headers(message: Any, topic: str) -> str:
    """Our headers are present once each, printable, bounded; returns the reason."""
    names = [k for k, _ in message.headers]
    for name in OURS:
        assert names.count(name) == 1, names
    h = dict(message.headers)
    reason = h["leadflow.error"].decode()
    assert reason and len(reason) <= MAX_REASON_CHARS and reason.isprintable(), reason
    assert h["leadflow.source.topic"] == topic.encode()
    return str(reason)


def test_hostile_records_reach_the_dlq_as_received(
    app: Leadflow, kafka_bootstrap: str, topics: Topics, big_producer: KafkaProducer
) -> None:
    email = "ada.lovelace@example.com"
    good = [valid() for _ in range(4)]
    bad: dict[str, tuple[Sent, str]] = {
        "null value": (Sent(b"k", None, []), "no value"),
        "enormous key": (Sent(b"k" * 2_000_000, b"{nope", []), "not valid JSON"),
        "too large": (
            Sent(b"k", json.dumps({**valid(), "p": "x" * MAX_RECORD_BYTES}).encode(), []),
            "too large",
        ),
        "deep": (Sent(None, b"[" * 60_000, []), "nested"),
        "huge number": (Sent(None, b'{"n": 1e999999}', []), "too large for a 64-bit float"),
        "long integer": (Sent(None, b'{"n": ' + b"9" * 60_000 + b"}", []), "digits"),
        "NaN": (Sent(None, b'{"n": NaN}', []), "NaN"),
        "duplicate keys": (Sent(None, b'{"email": "a@b.co", "email": "c@d.co"}', []), "twice"),
        "BOM": (Sent(None, b"\xef\xbb\xbf" + json.dumps(valid()).encode(), []), "byte order"),
        "invalid UTF-8": (Sent(b"\xff\xfe", b'{"source": "\xff"}', []), "UTF-8"),
        "lone surrogate": (
            Sent(None, json.dumps(valid(email="\ud800@x.com")).encode(), []),
            "surrogate",
        ),
        "scalar": (Sent(None, b"null", []), "JSON object"),
        "email kept out": (
            Sent(email.encode(), json.dumps({**valid(email), "type": "x"}).encode(), []),
            "unknown type",
        ),
        "hostile headers": (
            Sent(
                b"k",
                b"{nope",
                [
                    ("x-bin", b"\xff\x00\r\n"),
                    ("x\r\nInjected: yes", b"v"),
                    ("leadflow.error", b"spoofed"),
                    ("LEADFLOW.SOURCE.OFFSET", b"-1"),
                    *[(f"h{i}", b"v") for i in range(2000)],
                ],
            ),
            "not valid JSON",
        ),
    }
    records = [Sent(r["email"].encode(), json.dumps(r).encode(), [("x-ok", b"\xff")]) for r in good]
    interleaved = [records[0], *(s for s, _ in bad.values()), *records[1:]]
    sent = dict(
        zip(produce(big_producer, topics.engagement, interleaved), interleaved, strict=True)
    )
    consumer = engagement_consumer(app, InboundOptions(kafka_bootstrap, topics, "gh-"))
    drain(consumer, len(sent))

    assert consumer.counters.accepted == len(good)
    assert consumer.counters.dead_lettered == len(bad)
    for r in good:
        assert app.people.find(r["email"]) is not None
    reader = DlqReader(kafka_bootstrap, topics.engagement_dlq)
    try:
        dlq = reader.read_until(len(bad))
    finally:
        reader.close()
    expected = {id(s): why for s, why in bad.values()}
    assert len(dlq) == len(bad)
    for where, message in dlq.items():
        original = sent[where]
        reason = assert_safe_headers(message, topics.engagement)
        assert expected[id(original)] in reason, (reason, where)
        assert "ada.lovelace" not in reason
        assert message.key == original.key
        assert message.value == original.value
        theirs = [(k, v) for k, v in message.headers if k not in OURS]
        assert theirs == [
            (k, v) for k, v in original.headers if not k.lower().startswith("leadflow.")
        ]


class _RawName(str):
    """A header name that kafka-python writes as bytes that are not UTF-8, as another
    client could (the protocol says header names are UTF-8 strings)."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"\xff\xfe-name"


def test_record_the_client_cannot_decode_is_skipped_to_the_dlq(
    app: Leadflow, kafka_bootstrap: str, topics: Topics, big_producer: KafkaProducer
) -> None:
    before, after = valid(), valid()
    sent: dict[Where, Sent] = {}
    # One send each: a record the client cannot decode spoils the rest of its batch.
    for r in (
        Sent(b"a", json.dumps(before).encode(), []),
        Sent(b"k", json.dumps(valid()).encode(), [(_RawName("x"), b"v")]),
        Sent(b"b", json.dumps(after).encode(), []),
    ):
        sent.update(zip(produce(big_producer, topics.engagement, [r]), [r], strict=True))
    consumer = engagement_consumer(app, InboundOptions(kafka_bootstrap, topics, "gu-"))
    drain(consumer, 3)
    assert (consumer.counters.accepted, consumer.counters.dead_lettered) == (2, 1)
    assert app.people.find(before["email"]) and app.people.find(after["email"])
    reader = DlqReader(kafka_bootstrap, topics.engagement_dlq)
    try:
        [(where, message)] = reader.read_until(1).items()
    finally:
        reader.close()
    assert sent[where].headers  # the one with the undecodable header name
    assert assert_safe_headers(message, topics.engagement) == UNREADABLE
    assert message.value == b"" and dict(message.headers)["leadflow.truncated"] == b"null"


# --- fuzz --------------------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
BAD_VALUES = (
    st.none()
    | st.binary(max_size=300)
    | JSONISH.map(lambda v: json.dumps(v).encode())
    | st.builds(
        lambda r, k, v: json.dumps({**r, k: v}).encode(),
        st.builds(valid),
        st.sampled_from(["type", "email", "occurred_at", "source", "event_id"]),
        JSONISH,
    )
)
HEADERS = st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=40)), max_size=4)


@st.composite
def record(draw: st.DrawFn) -> tuple[bool, Sent]:
    headers = draw(HEADERS)
    key = draw(st.none() | st.binary(max_size=60))
    if draw(st.booleans()):
        r = valid()
        return True, Sent(key, json.dumps(r).encode(), headers)
    value = draw(BAD_VALUES)
    if key is None and value is None:
        key = b"k"  # kafka-python cannot produce a record with neither
    return False, Sent(key, value, headers)


# kafka-python in the consumer's thread uses the random module while hypothesis draws data.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_random_records_never_stop_the_consumer(
    app: Leadflow, kafka_bootstrap: str, topics: Topics, big_producer: KafkaProducer
) -> None:
    consumer: InboundConsumer[Any] = engagement_consumer(
        app, InboundOptions(kafka_bootstrap, topics, "gf-")
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    reader = DlqReader(kafka_bootstrap, topics.engagement_dlq)
    totals = {"records": 0, "bad": 0}

    @settings(
        deadline=None,
        max_examples=40,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=st.lists(record(), min_size=1, max_size=12))
    def run(batch: list[tuple[bool, Sent]]) -> None:
        wheres = produce(big_producer, topics.engagement, [s for _, s in batch])
        sent = dict(zip(wheres, (s for _, s in batch), strict=True))
        good = {where for where, (ok, _) in zip(wheres, batch, strict=True) if ok}
        totals["records"] += len(sent)
        totals["bad"] += len(sent) - len(good)
        for _ in range(600):
            if consumer.counters.records >= totals["records"] or not thread.is_alive():
                break
            stop.wait(0.05)
        assert thread.is_alive(), "the consumer stopped"
        assert consumer.counters.records == totals["records"]
        # Count in = accepted + dead-lettered (every valid record is new: no duplicates).
        assert consumer.counters.accepted + consumer.counters.dead_lettered == totals["records"]
        assert consumer.counters.dead_lettered == totals["bad"]
        dlq = reader.read_until(totals["bad"])
        for where, s in sent.items():
            if where in good:
                assert where not in dlq
                assert app.people.find(json.loads(s.value or b"")["email"]) is not None
            else:
                message = dlq[where]
                assert (message.key, message.value) == (s.key, s.value)
                reason = assert_safe_headers(message, topics.engagement)
                assert "could not be validated" not in reason

    try:
        run()
    finally:
        stop.set()
        thread.join(timeout=30)
        reader.close()
    assert not thread.is_alive()
