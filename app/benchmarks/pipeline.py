"""The real processes for the end-to-end benchmarks: leadflow's parts as child processes
(app/supervisor.py, as `leadflow up` runs them) on one broker and a fresh SQLite file, and
the read-only checks that tell when everything published has become visible."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaProducer

from leadflow.config import load_config
from leadflow.infra.broker import ensure_topics
from leadflow.infra.store import Store
from leadflow.projections import schema
from leadflow.settings import DatabaseSettings
from leadflow.status import projection_lag
from leadflow.supervisor import Supervisor
from leadflow.topics import Topics

# Part name (as in `leadflow up`) -> `leadflow` arguments.
PARTS: dict[str, tuple[str, ...]] = {
    "relay": ("relay",),
    "engagement-consumer": ("consume", "engagement"),
    "spend-consumer": ("consume", "spend"),
    "projections": ("project",),
    "api": ("api",),
}
INGEST_PARTS = ("engagement-consumer", "relay", "projections")


class BenchError(RuntimeError):
    """The pipeline under measurement failed or did not finish in time."""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pipeline:
    bootstrap: str
    topics: Topics
    store: Store
    supervisor: Supervisor
    http: str
    db_path: Path

    def pids(self) -> dict[str, int]:
        return {p.name: p.process.pid for p in self.supervisor.parts if p.process is not None}

    def check_alive(self) -> None:
        for p in self.supervisor.parts:
            if p.process is not None and p.process.poll() is not None:
                raise BenchError(f"{p.name} exited ({p.process.returncode}); log: {p.log_path}")

    def inbound(self) -> int:
        return int(self.store.side.query("SELECT COUNT(*) FROM {inbound}")[0][0])

    def applied(self) -> int:
        """Domain events the projection consumer has applied (sum of its stored offsets)."""
        names = schema.table_names()
        if not schema.exists(self.store.side, names[schema.POSITIONS]):
            return 0
        rows = self.store.side.query(
            "SELECT COALESCE(SUM(next_offset), 0) FROM {rm_positions}", (), names
        )
        return int(rows[0][0])

    def progress(self) -> str:
        return (
            f"stored {self.inbound():,} inbound records, {self.store.max_position():,} events;"
            f" relay at {self.store.side.position('relay'):,}; projected {self.applied():,}"
        )

    def wait_visible(
        self,
        expected_inbound: int,
        timeout: float,
        poll: float = 0.05,
        report: Callable[[str], None] | None = None,
        every: float = 15.0,
    ) -> dict[str, float]:
        """Polls until `expected_inbound` records are stored, every stored event is
        published, and the projection consumer has applied everything published. Returns
        the perf_counter time each stage was first seen complete."""
        stages: dict[str, float] = {}
        deadline = time.perf_counter() + timeout
        next_report = time.perf_counter() + every
        while True:
            now = time.perf_counter()
            if "stored" not in stages and self.inbound() >= expected_inbound:
                stages["stored"] = now
            if (
                "stored" in stages
                and "published" not in stages
                and self.store.side.position("relay") >= self.store.max_position()
            ):
                stages["published"] = now
            # Asked of the broker only once all is published: the high watermarks are final.
            if (
                "published" in stages
                and projection_lag(self.store, self.bootstrap, self.topics)[1] == 0
            ):
                stages["visible"] = time.perf_counter()
                return stages
            self.check_alive()
            if now > deadline:
                raise BenchError(f"not visible after {timeout:.0f} s: {self.progress()}")
            if report is not None and now >= next_report:
                report(self.progress())
                next_report = now + every
            time.sleep(poll)

    def warm_up(self, timeout: float = 120.0) -> None:
        """One record through every stage, so group joins and imports are behind us."""
        value = {
            "event_id": f"warmup-{uuid.uuid4().hex[:8]}",
            "type": "page_viewed",
            "occurred_at": "2026-08-31T00:00:00+00:00",
            "email": "warmup@bench.example",
            "source": "organic",
        }
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        producer.send(self.topics.engagement, value=json.dumps(value).encode()).get(30)
        producer.close()
        self.wait_visible(self.inbound() + 1, timeout)


@contextmanager
def pipeline(bootstrap: str, parts: Sequence[str] = INGEST_PARTS) -> Iterator[Pipeline]:
    db_path = Path(tempfile.mkdtemp(prefix="leadflow-bench-")) / "e2e.sqlite3"
    topics = Topics(prefix=f"e2e{uuid.uuid4().hex[:6]}.")
    ensure_topics(bootstrap, topics.all, load_config().topic_partitions)
    http = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
        "LEADFLOW_DATABASE_URL": f"sqlite:///{db_path}",
        "LEADFLOW_TOPIC_PREFIX": topics.prefix,
        "LEADFLOW_LOG_FORMAT": "json",
        "LEADFLOW_HTTP": http,
    }
    env.pop("LEADFLOW_API_KEYS", None)  # loopback only: the API stays open without keys
    # The store first, so the parts find the schema made rather than race to make it.
    store = Store(DatabaseSettings(kind="sqlite", sqlite_path=db_path))
    sup = Supervisor(env=env, log_dir=db_path.parent / "logs")
    for name in parts:
        sup.add(name, *PARTS[name])
    sup.start()
    finished = False
    try:
        yield Pipeline(bootstrap, topics, store, sup, http, db_path)
        finished = True
    finally:
        sup.stop()
        store.close()
        if finished:  # a failed run keeps its database and the parts' logs to look at
            shutil.rmtree(db_path.parent, ignore_errors=True)
