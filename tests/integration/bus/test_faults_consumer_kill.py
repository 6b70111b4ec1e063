"""Faults on a real broker and a real SQLite file: a consumer (the real `leadflow consume
engagement` command) killed between its database commit and its offset commit."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from leadflow.consumers.inbound import ENGAGEMENT_GROUP
from leadflow.container import Leadflow
from leadflow.infra.broker import ensure_topics, find_tansu, group_lag, wait_for_broker
from tests.integration.bus._fault_helpers import (
    POINTS,
    TYPES,
    Background,
    FileDb,
    Part,
    engagement,
    file_db,
    fresh_topics,
    score,
    wait_until,
)

__all__ = ["file_db"]  # a fixture, found by pytest here


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
