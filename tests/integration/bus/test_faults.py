"""Faults on a real broker and a real SQLite file: the relay killed with SIGKILL mid-stream,
a broker that restarts empty, a consumer killed between its database commit and its offset
commit. Processes are the real `leadflow relay` / `leadflow consume engagement` commands."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kafka import KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from leadflow.config import load_config
from leadflow.consumers.inbound import (
    ENGAGEMENT_GROUP,
    InboundOptions,
    engagement_consumer,
)
from leadflow.container import Leadflow, build
from leadflow.domain.lead import Lead
from leadflow.infra.broker import (
    EmbeddedBroker,
    ensure_topics,
    find_tansu,
    group_lag,
    wait_for_broker,
)
from leadflow.producers.relay import Relay, RelaySettings
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings
from leadflow.topics import Topics
from tests.integration.bus.test_relay import read_records

T = TypeVar("T")
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
POINTS = load_config().points
TYPES = ("form_submitted", "email_clicked", "page_viewed", "webinar_attended",
         "content_downloaded", "demo_requested")  # fmt: skip


# --- helpers ---------------------------------------------------------------------------


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Polls ``check`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@dataclass
class FileDb:
    app: Leadflow
    url: str
    path: Path


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[FileDb]:
    """A SQLite file that this process and `leadflow` subprocesses share."""
    path = tmp_path / "leadflow.sqlite3"
    url = f"sqlite:///{path}"
    lf = build(Settings(data_dir=tmp_path, database=DatabaseSettings.from_url(url, tmp_path)),
               load_config())
    yield FileDb(lf, url, path)
    lf.close()


def fresh_topics() -> Topics:
    return Topics(prefix=f"f{uuid.uuid4().hex[:10]}.")


class Part:
    """One `python -m leadflow ...` process, started again as often as needed."""

    def __init__(self, args: Sequence[str], *, bootstrap: str, topics: Topics, db: FileDb,
                 log_dir: Path, name: str) -> None:  # fmt: skip
        self.args = [sys.executable, "-m", "leadflow", *args]
        self.env = {
            **os.environ,
            "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
            "LEADFLOW_TOPIC_PREFIX": topics.prefix,
            "LEADFLOW_DATABASE_URL": db.url,
            "LEADFLOW_DATA_DIR": str(db.path.parent),
            "LEADFLOW_LOG_FORMAT": "json",
        }
        self.env.pop("LEADFLOW_CONFIG", None)
        self.log_dir, self.name = log_dir, name
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.kills = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.running
        log = self.log_dir / f"{self.name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, cwd=self.log_dir, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def keep_running(self) -> None:
        """What `leadflow up` does for a part that exited: start it again."""
        if not self.running:
            self.start()

    def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for path in self.logs:
            for raw in path.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    if isinstance(data := json.loads(raw), dict):
                        lines.append(data)
        return lines

    def started(self) -> bool:
        """The latest process logged that it is running."""
        return bool(self.logs) and '"relay started"' in self.logs[-1].read_text(errors="replace")

    def tail(self, n: int = 15) -> str:
        if not self.logs:
            return "(no log)"
        return "\n".join(self.logs[-1].read_text(errors="replace").splitlines()[-n:])


def engagement(event_id: str, email: str, type: str, minutes: int = 0) -> dict[str, Any]:
    return {
        "event_id": event_id, "type": type, "email": email, "source": "webinar",
        "campaign": "q3", "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
    }  # fmt: skip


def stored_ids(lf: Leadflow) -> dict[int, tuple[str, int]]:
    """Notification id -> (aggregate id, version) of every stored event."""
    notes = lf.store.app.recorder.select_notifications(start=1, limit=1_000_000)
    return {n.id: (str(n.originator_id), n.originator_version) for n in notes}


def relayed_positions(bootstrap: str, topics: Topics) -> set[int]:
    return {json.loads(r.value)["position"] for r in read_records(bootstrap, topics.domain_events)}


def assert_relayed_at_least_once_in_order(
    records: Sequence[ConsumerRecord], stored: dict[int, tuple[str, int]]
) -> int:
    """Every stored event is on its topic; per aggregate, in offset order, versions never
    go backwards except to re-deliver one already seen. Returns the re-deliveries."""
    event_ids: dict[int, str] = {}
    partition_of: dict[str, tuple[str, int]] = {}
    highest: dict[str, int] = defaultdict(int)
    redelivered = 0
    for record in records:  # (topic, partition, offset) order
        env = json.loads(record.value)
        position, aggregate = env["position"], env["aggregate_id"]
        version = env["aggregate_version"]
        assert stored.get(position) == (aggregate, version), f"unknown event {env}"
        assert record.key == aggregate.encode()
        assert event_ids.setdefault(position, env["event_id"]) == env["event_id"], position
        assert partition_of.setdefault(aggregate, (record.topic, record.partition)) == (
            record.topic, record.partition
        )  # fmt: skip
        if version <= highest[aggregate]:
            redelivered += 1  # already seen: a re-delivery after a crash
            continue
        assert version == highest[aggregate] + 1, (
            f"aggregate {aggregate}: version {version} after {highest[aggregate]} "
            f"(offset {record.offset} of {record.topic}[{record.partition}])"
        )
        highest[aggregate] = version
    missing = sorted(set(stored) - set(event_ids))
    assert not missing, f"{len(missing)} stored events never published, e.g. {missing[:10]}"
    return redelivered


class Writer:
    """Keeps storing engagement batches (new ids, a few emails) from a thread."""

    def __init__(self, lf: Leadflow, rng: random.Random, emails: int = 12) -> None:
        self.lf, self.rng, self.emails = lf, rng, emails
        self.stop_event = threading.Event()
        self.batches = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        try:
            while not self.stop_event.is_set():
                batch = []
                for _ in range(self.rng.randint(1, 12)):
                    n += 1
                    email = f"w{self.rng.randrange(self.emails)}@example.com"
                    batch.append(parse_engagement(
                        engagement(f"w-{n}", email, self.rng.choice(TYPES), n)
                    ))  # fmt: skip
                self.lf.engagement.record(batch)
                self.batches += 1
                self.stop_event.wait(self.rng.uniform(0.0, 0.03))
        except BaseException as e:  # reported by stop()
            self.error = e

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread.is_alive():
            self._thread.join(30)
        assert self.error is None, f"writer failed: {self.error!r}"


# --- the relay killed mid-stream ---------------------------------------------------------


@pytest.mark.slow
def test_relay_killed_again_and_again_mid_stream_never_skips_and_keeps_aggregate_order(
    file_db: FileDb, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    lf = file_db.app
    writer = Writer(lf, random.Random(seed + 1))
    relay = Part(["relay"], bootstrap=kafka_bootstrap, topics=topics, db=file_db,
                 log_dir=tmp_path, name="relay")  # fmt: skip

    def position() -> int:
        return lf.store.side.position("relay")

    try:
        writer.start()
        saved = 0
        for i in range(6):
            relay.start()
            if i % 2:
                # Mid-stream: it has published (and saved) something new, more is coming.
                wait_until(lambda: position() > saved or not relay.running, 60,  # noqa: B023
                           f"relay progress past {saved} (seed {seed})")
            else:
                # While it works through the backlog stored since the last kill.
                wait_until(lambda: relay.started() or not relay.running, 60,
                           f"relay start (seed {seed})", 0.01)
            assert relay.running, f"relay exited (seed {seed}):\n{relay.tail()}"
            time.sleep(rng.uniform(0.0, 0.25))
            relay.kill()
            saved = position()
        writer.stop()

        relay.start()
        target = lf.store.max_position()
        wait_until(lambda: relay.started() and position() >= target, 60,
                   f"relay to catch up to {target}")
        assert relay.stop() == 0, relay.tail()
    finally:
        writer.stop()
        relay.stop()

    assert relay.kills >= 5
    stored = stored_ids(lf)
    records = read_records(kafka_bootstrap, topics.domain_events)
    redelivered = assert_relayed_at_least_once_in_order(records, stored)
    assert len(records) == len(stored) + redelivered
    # The session broker never lost anything: no restart may look like a data loss.
    assert not [e for e in relay.log_lines() if "lost its data" in e.get("event", "")]


# --- the broker restarted empty ----------------------------------------------------------


def send_all(bootstrap: str, topic: str, records: Sequence[dict[str, Any] | bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    try:
        for r in records:
            if isinstance(r, bytes):
                producer.send(topic, key=b"raw", value=r)
            else:
                producer.send(topic, key=r["email"].encode(), value=json.dumps(r).encode())
        producer.flush()
    finally:
        producer.close(timeout=5)


class Background:
    """Runs ``target(stop)`` in a thread and keeps what it raised."""

    def __init__(self, target: Callable[[threading.Event], None]) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._target = target
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._target(self.stop_event)
        except BaseException as e:
            self.error = e

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)


def score(lf: Leadflow, email: str) -> int | None:
    person = lf.people.find(email)
    return None if person is None else lf.store.get(person.id, Lead).score


@pytest.mark.slow
def test_after_a_broker_restart_everything_is_republished_and_consumers_resume(
    file_db: FileDb, tmp_path: Path
) -> None:
    lf = file_db.app
    topics = fresh_topics()
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, topics.all, partitions=3)
        relay = Part(["relay"], bootstrap=broker.bootstrap, topics=topics, db=file_db,
                     log_dir=tmp_path, name="relay")  # fmt: skip
        consumer = engagement_consumer(lf, InboundOptions(broker.bootstrap, topics, "rs-"))
        running = Background(consumer.run)
        try:
            relay.start()
            send_all(broker.bootstrap, topics.engagement, [
                engagement(f"a{i}", f"r{i % 2}@example.com", "webinar_attended", i)
                for i in range(10)
            ])  # fmt: skip
            wait_until(lambda: consumer.counters.accepted >= 10, 60, "engagement before restart")
            wait_until(lambda: relayed_positions(broker.bootstrap, topics) >= set(stored_ids(lf)),
                       60, "relay before restart")  # fmt: skip
            assert score(lf, "r0@example.com") == 5 * 15

            broker.restart()  # empty: no topics, records, offsets or groups
            # The consumer's own topic, before anyone publishes to it (`leadflow consume`
            # does this at start; a running one does not notice the loss).
            ensure_topics(broker.bootstrap, [topics.engagement, topics.engagement_dlq], 3)
            send_all(broker.bootstrap, topics.engagement, [
                *[engagement(f"b{i}", "r0@example.com", "form_submitted", 50 + i)
                  for i in range(3)],
                *[engagement(f"c{i}", "r9@example.com", "demo_requested", 60 + i)
                  for i in range(2)],
            ])  # fmt: skip

            def caught_up() -> bool:
                relay.keep_running()  # a relay that died is restarted, as `leadflow up` does
                return consumer.counters.accepted >= 15 and relayed_positions(
                    broker.bootstrap, topics
                ) >= set(stored_ids(lf))

            wait_until(caught_up, 60, "consumer and relay to resume after the restart", 0.3)
            assert running.alive, f"consumer died: {running.error!r}"
            assert score(lf, "r0@example.com") == 5 * 15 + 3 * 10
            assert score(lf, "r9@example.com") == 2 * 30
            records = read_records(broker.bootstrap, topics.domain_events)
            assert_relayed_at_least_once_in_order(records, stored_ids(lf))
        finally:
            running.stop()
            relay.stop()


def test_a_running_relay_detects_a_broker_that_lost_its_data_and_republishes(
    file_db: FileDb,
) -> None:
    lf = file_db.app
    topics = fresh_topics()
    lf.engagement.record([
        parse_engagement(engagement(f"d{i}", f"d{i % 3}@example.com", "page_viewed", i))
        for i in range(12)
    ])  # fmt: skip
    with EmbeddedBroker() as broker:
        relay = Relay(lf.store, RelaySettings(bootstrap=broker.bootstrap, topics=topics,
                                              partitions=3, marker_check_every=0.5))
        running = Background(relay.run)
        try:
            wait_until(lambda: relay.position and relay.lag() == 0, 30, "first publication")
            broker.restart()
            lf.engagement.record([
                parse_engagement(engagement("d-late", "d0@example.com", "demo_requested", 99))
            ])  # fmt: skip
            wait_until(lambda: not running.alive or relayed_positions(
                broker.bootstrap, topics) >= set(stored_ids(lf)), 30, "republication", 0.3)
            assert running.alive, f"relay died: {running.error!r}"
        finally:
            running.stop()


def test_a_running_consumer_still_dead_letters_after_a_broker_restart(
    file_db: FileDb,
) -> None:
    lf = file_db.app
    topics = fresh_topics()
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, topics.all, partitions=3)
        consumer = engagement_consumer(lf, InboundOptions(broker.bootstrap, topics, "dl-"))
        running = Background(consumer.run)
        try:
            send_all(broker.bootstrap, topics.engagement,
                     [engagement("x1", "x@example.com", "page_viewed"), b"{junk before"])
            wait_until(lambda: consumer.counters.records >= 2, 30, "records before restart")
            broker.restart()
            ensure_topics(broker.bootstrap, topics.all, partitions=3)
            send_all(broker.bootstrap, topics.engagement,
                     [engagement("x2", "x@example.com", "page_viewed", 1), b"{junk after"])
            wait_until(lambda: not running.alive or consumer.counters.records >= 4, 30,
                       "records after restart")
            assert running.alive, f"consumer died: {running.error!r}"
            dlq = read_records(broker.bootstrap, [topics.engagement_dlq])
            assert [r.value for r in dlq] == [b"{junk after"]
        finally:
            running.stop()


# --- a consumer killed between its database commit and its offset commit -----------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class GatedProxy:
    """A TCP proxy in front of the broker. ``hold()`` stops forwarding client bytes (a
    request sent then never reaches the broker); ``cut()`` drops every connection and
    whatever it held; ``release()`` forwards again."""

    upstream: int
    port: int = field(default_factory=free_port)
    _open: threading.Event = field(default_factory=threading.Event)
    _socks: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._open.set()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                if self._server.fileno() == -1:
                    return
                continue
            with self._lock:
                self._socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()  # fmt: skip

    def _pump(self, src: socket.socket, dst: socket.socket, gated: bool) -> None:
        try:
            while data := src.recv(65536):
                if gated:
                    self._open.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def hold(self) -> None:
        self._open.clear()

    def cut(self) -> None:
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def release(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._server.close()
        self.cut()
        self.release()


@contextlib.contextmanager
def proxied_broker() -> Iterator[GatedProxy]:
    """An embedded Tansu that advertises the proxy, so every client goes through it."""
    real = free_port()
    proxy = GatedProxy(upstream=real)
    url = f"tcp://127.0.0.1:{proxy.port}"
    argv = [str(find_tansu()), "broker", "--listener-url", f"tcp://127.0.0.1:{real}",
            "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        wait_for_broker(f"127.0.0.1:{proxy.port}", timeout=20)
        yield proxy
    finally:
        proxy.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def inbound_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        row = conn.execute("SELECT count(*) FROM leadflow_inbound").fetchone()
        return int(row[0])


def engagement_events(lf: Leadflow) -> list[str]:
    """The inbound event id of every stored EngagementRecorded / ContactActivityRecorded."""
    ids = []
    for n in lf.store.app.recorder.select_notifications(start=1, limit=1_000_000):
        if n.topic.endswith(("EngagementRecorded", "ContactActivityRecorded")):
            ids.append(lf.store.app.mapper.to_domain_event(n).event_id)
    return ids


@pytest.mark.slow
def test_consumer_killed_between_database_commit_and_offset_commit_has_no_double_effect(
    file_db: FileDb, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    lf = file_db.app
    topics = fresh_topics()
    published: dict[str, dict[str, Any]] = {}  # event_id -> record, first one wins
    sent = 0
    emails = [f"k{i}@example.com" for i in range(6)]

    def batch(n: int, prefix: str) -> list[dict[str, Any]]:
        nonlocal sent
        out = []
        for _ in range(n):
            if published and rng.random() < 0.15:  # a sender's re-delivery: same id, same body
                out.append(rng.choice(list(published.values())))
                continue
            sent += 1
            record = engagement(f"{prefix}-{sent}", rng.choice(emails), rng.choice(TYPES), sent)
            published[record["event_id"]] = record
            out.append(record)
        return out

    with proxied_broker() as proxy:
        bootstrap = f"127.0.0.1:{proxy.port}"
        ensure_topics(bootstrap, topics.all, partitions=3)
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        flowing = threading.Event()

        def send(records: Sequence[dict[str, Any]]) -> None:
            for r in records:
                producer.send(topics.engagement, key=r["email"].encode(),
                              value=json.dumps(r).encode())
            producer.flush()

        def publish_continuously(stop: threading.Event) -> None:
            while not stop.is_set():
                if flowing.is_set():
                    send(batch(rng.randint(1, 8), "flow"))
                stop.wait(0.05)

        def lag() -> int:
            return sum(group_lag(bootstrap, ENGAGEMENT_GROUP, [topics.engagement]).values())

        consumer = Part(["consume", "engagement"], bootstrap=bootstrap, topics=topics,
                        db=file_db, log_dir=tmp_path, name="consumer")  # fmt: skip
        publisher = Background(publish_continuously)
        try:
            # 1. Killed at random moments while records flow.
            flowing.set()
            for _ in range(2):
                consumer.start()
                before = inbound_count(file_db.path)
                wait_until(lambda: inbound_count(file_db.path) > before,  # noqa: B023
                           45, f"consumer progress (seed {seed})")
                time.sleep(rng.uniform(0.0, 0.4))
                consumer.kill()

            # 2. Killed exactly after its database commit, before its offset commit.
            flowing.clear()
            consumer.start()
            send(batch(1, "probe"))  # committed past it: the consumer is in its poll loop
            wait_until(lambda: lag() == 0, 60, f"consumer to catch up (seed {seed})", 0.3)
            window = batch(20, "window")
            with contextlib.closing(sqlite3.connect(file_db.path, timeout=30,
                                                    isolation_level=None)) as lock:
                lock.execute("BEGIN IMMEDIATE")  # the consumer will block on its write
                before = inbound_count(file_db.path)
                send(window)
                time.sleep(2.0)  # it polls the batch, then waits for the database
                proxy.hold()  # nothing it sends reaches the broker any more
                lock.execute("ROLLBACK")
            try:
                wait_until(lambda: inbound_count(file_db.path) > before, 30,
                           "the consumer's database commit while the broker is unreachable")
                time.sleep(0.3)  # it is now waiting for its offset commit
                consumer.kill()
            finally:
                proxy.cut()
                proxy.release()
            uncommitted = lag()
            assert uncommitted > 0, "the offset commit got through: the window was missed"

            # 3. Restarted: the batch is redelivered and has no second effect.
            flowing.set()
            consumer.start()
            time.sleep(1.0)
            flowing.clear()
            publisher.stop()
            assert publisher.error is None, repr(publisher.error)
            wait_until(lambda: lag() == 0, 60, f"consumer to finish (seed {seed})", 0.3)
            assert consumer.stop() == 0, consumer.tail()
        finally:
            publisher.stop()
            consumer.stop()
            producer.close(timeout=5)

    assert consumer.kills == 3
    redelivered = sum(e.get("duplicates", 0) for e in consumer.log_lines()
                      if e.get("event") == "batch committed")  # fmt: skip
    assert redelivered >= uncommitted > 0
    # Exactly one effect per distinct event id, whatever was redelivered.
    recorded = engagement_events(lf)
    assert sorted(recorded) == sorted(published)
    assert inbound_count(file_db.path) == len(published)
    for email in emails:
        expected = sum(POINTS[r["type"]] for r in published.values() if r["email"] == email)
        assert score(lf, email) == (expected or None), email
