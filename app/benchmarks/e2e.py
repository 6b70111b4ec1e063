"""`leadflow bench e2e`: published to marketing.engagement -> visible in the read models,
through the real processes (engagement consumer, relay, projection consumer as children,
like `leadflow up`) on one broker and a SQLite file.

Throughput: N records published as fast as kafka-python sends them; the clock runs from the
first send until every record is stored, every stored event published and every published
event applied by the projection consumer (its lag, as `leadflow status` counts it, is 0).

Latency at a fixed rate: a record is visible when its lead's row in rm_leads carries a
version at least that of the last event the record caused (its EngagementRecorded and the
capture, scoring, qualification and assignment events saved with it): the row then shows
the record's effect. The watcher learns (lead, version) per record by tailing the store's
notification log (it decodes only EngagementRecorded events, for their event_id) and polls
rm_leads for the leads it waits on every ~5 ms. It only reads (SQLite WAL: readers do not
block the writers), and no part is changed to report times; each sample is late by at most
one poll (~5 ms plus the queries), so the figures err slightly high.

Raw floors, same broker, same run: kafka-python produce, consume, and produce -> consume
latency at the same rate; eventsourcing inserting trivial events into a SQLite file.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
import uuid
from typing import Any

from eventsourcing.utils import get_topic
from kafka import KafkaConsumer, KafkaProducer

from leadflow.benchmarks.ingest import raw_consume, raw_produce, records
from leadflow.benchmarks.pipeline import BenchError, Pipeline, pipeline
from leadflow.benchmarks.store import raw_floor, sqlite_db
from leadflow.domain.lead import Lead
from leadflow.infra.broker import ensure_topics
from leadflow.projections import schema

ENGAGEMENT_RECORDED = get_topic(Lead.EngagementRecorded)
POLL_S = 0.005


def percentiles(ms: list[float]) -> dict[str, float]:
    """Nearest rank, so with few samples the p99 is the slowest one."""
    if not ms:
        return {}
    s = sorted(ms)

    def rank(q: float) -> float:
        return s[min(len(s) - 1, max(0, math.ceil(len(s) * q) - 1))]

    return {
        "p50_ms": statistics.median(s),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": s[-1],
    }


class Watcher:
    """Per-record visibility in the read models, read from the database only."""

    def __init__(self, p: Pipeline) -> None:
        self._store = p.store
        self._position = p.store.max_position()
        self._last: dict[str, str] = {}  # lead -> event_id of its latest engagement
        self.pending: dict[str, tuple[str, int]] = {}  # event_id -> (lead, version)
        self.visible: dict[str, float] = {}
        self._names = schema.table_names()

    def poll(self) -> None:
        app = self._store.app
        # Drained to the end before checking: a save's events commit together, so each
        # record's target version is then complete.
        while batch := app.recorder.select_notifications(start=self._position + 1, limit=2000):
            for n in batch:
                lead = str(n.originator_id)
                if n.topic == ENGAGEMENT_RECORDED:
                    # Straight from the stored JSON: event_id is not personal, so there is
                    # nothing to decrypt, and a full decode per record would slow the watch
                    # (and the paced sender beside it) enough to distort what it measures.
                    event_id = str(json.loads(n.state)["event_id"])
                    self._last[lead] = event_id
                    self.pending[event_id] = (lead, n.originator_version)
                elif (eid := self._last.get(lead)) is not None and eid in self.pending:
                    self.pending[eid] = (lead, n.originator_version)
            self._position = batch[-1].id
        if not self.pending:
            return
        leads = list({lead for lead, _ in self.pending.values()})
        versions: dict[str, int] = {}
        for i in range(0, len(leads), 500):
            chunk = leads[i : i + 500]
            rows = self._store.side.query(
                "SELECT lead_id, version FROM {rm_leads} WHERE lead_id IN "
                + self._store.side.in_clause(len(chunk)),
                chunk,
                self._names,
            )
            versions.update((str(lead), int(v)) for lead, v in rows)
        now = time.perf_counter()
        for eid, (lead, version) in list(self.pending.items()):
            if versions.get(lead, 0) >= version:
                self.visible[eid] = now
                del self.pending[eid]


def _send_paced(
    producer: KafkaProducer,
    topic: str,
    data: list[tuple[bytes, bytes]],
    rate: int,
    sent: dict[str, float],
) -> None:
    started = time.perf_counter()
    for i, (key, value) in enumerate(data):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[f"bench-{i}"] = time.perf_counter()
        producer.send(topic, key=key, value=value)
    producer.flush()


def throughput(bootstrap: str, n: int, people: int) -> dict[str, Any]:
    data = records(n, people, seed=21)
    with pipeline(bootstrap) as p:
        p.warm_up()
        expected = p.inbound() + n
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=256 * 1024
        )
        started = time.perf_counter()
        for key, value in data:
            producer.send(p.topics.engagement, key=key, value=value)
        producer.flush()
        published = time.perf_counter()
        producer.close()
        stages = p.wait_visible(expected, timeout=max(300.0, n / 200))
        events = p.store.max_position()
    total = stages["visible"] - started
    return {
        "engagements": n,
        "people": people,
        "domain_events": events,
        "seconds_publishing": round(published - started, 3),
        "seconds_to_all_stored": round(stages["stored"] - started, 3),
        "seconds_to_all_published": round(stages["published"] - started, 3),
        "seconds_to_all_visible": round(total, 3),
        "engagements_per_s": n / total,
        "domain_events_per_s": events / total,
    }


def latency(bootstrap: str, rate: int, seconds: float, people: int) -> dict[str, Any]:
    data = records(max(1, int(rate * seconds)), people, seed=29)
    sent: dict[str, float] = {}
    with pipeline(bootstrap) as p:
        p.warm_up()
        watcher = Watcher(p)
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
        sender = threading.Thread(
            target=_send_paced, args=(producer, p.topics.engagement, data, rate, sent)
        )
        sender.start()
        while sender.is_alive():
            watcher.poll()
            time.sleep(POLL_S)
        deadline = time.perf_counter() + max(120.0, 10 * seconds)
        while len(watcher.visible) < len(sent) and time.perf_counter() < deadline:
            watcher.poll()
            p.check_alive()
            time.sleep(POLL_S)
        stopped = time.perf_counter()
        producer.close()
    # A record never seen counts with the time the watch gave up: the percentiles are then
    # lower bounds, not figures that quietly left the slowest records out.
    ms = [(watcher.visible.get(k, stopped) - t) * 1000 for k, t in sent.items()]
    seen = sum(1 for k in sent if k in watcher.visible)
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "records": len(sent),
        "measured": seen,
        "percentiles_are_lower_bounds": seen < len(sent),
        **percentiles(ms),
        "visibility": "the record's lead row in rm_leads at >= the version of the last event"
        " the record caused; watcher polls the read-model DB every ~5 ms",
    }


def raw_latency(bootstrap: str, rate: int, seconds: float) -> dict[str, Any]:
    """kafka-python produce -> consume per record at the same rate, same broker."""
    topic = f"bench-rawlat-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, [topic])
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        group_id=f"bench-rawlat-{uuid.uuid4().hex}",
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    producer.send(topic, key=b"w", value=b"warmup").get(30)
    joined_by = time.perf_counter() + 120
    while not consumer.poll(timeout_ms=200):  # until joined and positioned
        if time.perf_counter() > joined_by:
            raise BenchError(f"raw consumer saw nothing on {topic} in 120 s")
    n = max(1, int(rate * seconds))
    data = [(str(i).encode(), f"bench-{i}".encode()) for i in range(n)]
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    sender = threading.Thread(target=_send_paced, args=(producer, topic, data, rate, sent))
    sender.start()
    deadline = time.perf_counter() + seconds + 30
    while len(received) < n and time.perf_counter() < deadline:
        for batch in consumer.poll(timeout_ms=50).values():
            now = time.perf_counter()
            for r in batch:
                received.setdefault(r.value.decode(), now)
    stopped = time.perf_counter()
    sender.join()
    producer.close()
    consumer.close()
    ms = [(received.get(k, stopped) - t) * 1000 for k, t in sent.items()]
    seen = sum(1 for k in sent if k in received)
    return {"rate_per_s": rate, "records": n, "measured": seen, **percentiles(ms)}


def run(bootstrap: str, n: int, people: int, rate: int, seconds: float) -> dict[str, Any]:
    raw_topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, [raw_topic])
    data = records(n, people, seed=21)
    produce = raw_produce(bootstrap, raw_topic, data)
    consume = raw_consume(bootstrap, raw_topic, n)
    inserts = raw_floor(sqlite_db(), min(n, 3000))
    tput = throughput(bootstrap, n, people)
    raw_lat = raw_latency(bootstrap, rate, min(seconds, 5.0))
    lat = latency(bootstrap, rate, seconds, people)
    eps = tput["engagements_per_s"]
    return {
        "raw_produce_per_s": produce,
        "raw_consume_per_s": consume,
        "raw_store_inserts_per_s": inserts,
        "throughput": tput,
        "raw_latency": raw_lat,
        "latency": lat,
        "ratio_to_raw_produce": eps / produce,
        "ratio_to_raw_consume": eps / consume,
        "ratio_to_raw_store_inserts": eps / inserts,
        "p99_ratio_to_raw": lat.get("p99_ms", math.nan) / raw_lat.get("p99_ms", math.nan),
    }
