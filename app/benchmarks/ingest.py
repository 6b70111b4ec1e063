"""`leadflow bench ingest`: marketing.engagement -> stored lead events -> published domain
events, beside raw kafka-python produce and consume rates on the same broker, same run."""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from leadflow.infra.broker import EmbeddedBroker, ensure_topics
from leadflow.infra.store import Store
from leadflow.settings import DatabaseSettings
from leadflow.topics import Topics

TYPES = (
    "email_opened",
    "email_clicked",
    "page_viewed",
    "pricing_page_viewed",
    "form_submitted",
    "webinar_attended",
    "content_downloaded",
)


def records(n: int, people: int, seed: int = 3) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        person = rng.randrange(people)
        email = f"p{person}@co{person % 500}.example"
        value = {
            "event_id": f"bench-{i}",
            "type": rng.choice(TYPES),
            "occurred_at": (start + timedelta(minutes=i)).isoformat(),
            "email": email,
            "source": rng.choice(("webinar", "paid_social", "organic")),
            "campaign": "bench",
            "person": {"company": "Bench Co", "country": "GB"},
        }
        out.append((email.encode(), json.dumps(value).encode()))
    return out


def raw_produce(bootstrap: str, topic: str, data: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=256 * 1024
    )
    started = time.perf_counter()
    for key, value in data:
        producer.send(topic, key=key, value=value)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(data) / elapsed


def raw_consume(bootstrap: str, topic: str, expected: int) -> float:
    """Records/s fetched from the start of `topic`, partitions assigned directly: the clock
    starts at the first fetch, with no group join to time."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        max_poll_records=2000,
    )
    partitions = consumer.partitions_for_topic(topic) or set()
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    seen = 0
    started = time.perf_counter()
    while seen < expected:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=200).values())
    elapsed = time.perf_counter() - started
    consumer.close()
    return expected / elapsed


@contextmanager
def parts(bootstrap: str, db_url: str, prefix: str) -> Iterator[None]:
    env = {
        **os.environ,
        "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
        "LEADFLOW_DATABASE_URL": db_url,
        "LEADFLOW_TOPIC_PREFIX": prefix,
        "LEADFLOW_LOG_FORMAT": "json",
    }
    logs = Path(tempfile.mkdtemp(prefix="leadflow-bench-logs-"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "leadflow", *args],
            env=env,
            stdout=(logs / f"{args[0]}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for args in (["consume", "engagement"], ["relay"])
    ]
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def _stored(store: Store) -> int:
    return int(store.side.query("SELECT COUNT(*) FROM {inbound}")[0][0])


def end_to_end(bootstrap: str, n: int, people: int) -> dict[str, Any]:
    db_path = Path(tempfile.mkdtemp(prefix="leadflow-bench-")) / "ingest.sqlite3"
    db = DatabaseSettings(kind="sqlite", sqlite_path=db_path)
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:6]}.")
    ensure_topics(bootstrap, topics.all)
    data = records(n, people)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for key, value in data:
        producer.send(topics.engagement, key=key, value=value)
    producer.flush()
    store = Store(db)
    with parts(bootstrap, f"sqlite:///{db_path}", topics.prefix):
        started = time.perf_counter()
        first = 0.0
        while True:
            stored = _stored(store)
            if stored and not first:
                first = time.perf_counter()  # the consumer has joined and started work
            if stored >= n and store.side.position("relay") >= store.max_position():
                break
            time.sleep(0.05)
        done = time.perf_counter()
        published = store.max_position()
    store.close()
    return {
        "engagements": n,
        "domain_events": published,
        "seconds_from_first_store": round(done - first, 3),
        "seconds_including_group_join": round(done - started, 3),
        "engagements_per_s": n / (done - first),
    }


def latency(bootstrap: str, rate: int, seconds: int, people: int) -> dict[str, Any]:
    db_path = Path(tempfile.mkdtemp(prefix="leadflow-bench-")) / "latency.sqlite3"
    db = DatabaseSettings(kind="sqlite", sqlite_path=db_path)
    topics = Topics(prefix=f"lat{uuid.uuid4().hex[:6]}.")
    ensure_topics(bootstrap, topics.all)
    data = records(rate * seconds, people, seed=9)
    store = Store(db)
    sent_at: dict[str, float] = {}
    stored_at: dict[str, float] = {}
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    with parts(bootstrap, f"sqlite:///{db_path}", topics.prefix):
        # Warm up: wait until the consumer has joined and stored something.
        producer.send(topics.engagement, key=data[0][0], value=data[0][1]).get(30)
        while _stored(store) < 1:
            time.sleep(0.05)
        started = time.perf_counter()
        for i, (key, value) in enumerate(data[1:], start=1):
            due = started + i / rate
            while (now := time.perf_counter()) < due:
                _poll_stored(store, stored_at)
                time.sleep(min(0.002, max(0.0, due - now)))
            sent_at[f"bench-{i}"] = time.perf_counter()
            producer.send(topics.engagement, key=key, value=value)
        producer.flush()
        deadline = time.perf_counter() + 30
        while len(stored_at) < len(sent_at) and time.perf_counter() < deadline:
            _poll_stored(store, stored_at)
            time.sleep(0.002)
    store.close()
    ms = sorted((stored_at[k] - t) * 1000 for k, t in sent_at.items() if k in stored_at)
    return {
        "rate_per_s": rate,
        "events": len(sent_at),
        "measured": len(ms),
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, math.ceil(len(ms) * 0.99) - 1)],
        "note": "stored time observed by polling the inbound table every ~2 ms",
    }


def _poll_stored(store: Store, stored_at: dict[str, float]) -> None:
    now = time.perf_counter()
    for (event_id,) in store.side.query("SELECT event_id FROM {inbound} WHERE kind = 'engagement'"):
        stored_at.setdefault(event_id, now)


@contextmanager
def bus(fresh: bool = False) -> Iterator[tuple[str, str]]:
    """(bootstrap, description): LEADFLOW_KAFKA_BOOTSTRAP if set (and not `fresh`), else an
    embedded broker started for the duration."""
    bootstrap = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
    if bootstrap and not fresh:
        yield bootstrap, bootstrap
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap, "embedded tansu"


def run(n: int, people: int, rate: int, seconds: int) -> dict[str, Any]:
    with bus() as (bootstrap, broker):
        raw_topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
        ensure_topics(bootstrap, [raw_topic])
        data = records(n, people)
        produce = raw_produce(bootstrap, raw_topic, data)
        consume = raw_consume(bootstrap, raw_topic, n)
        e2e = end_to_end(bootstrap, n, people)
        lat = latency(bootstrap, rate, seconds, people)
        return {
            "broker": broker,
            "raw_produce_per_s": produce,
            "raw_consume_per_s": consume,
            "end_to_end": e2e,
            "latency": lat,
            "ratio_to_raw_produce": e2e["engagements_per_s"] / produce,
            "ratio_to_raw_consume": e2e["engagements_per_s"] / consume,
        }
