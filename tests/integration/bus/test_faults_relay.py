"""Faults on a real broker and a real SQLite file: the relay (the real `leadflow relay`
command) killed with SIGKILL again and again mid-stream."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from leadflow.container import Leadflow
from leadflow.schemas import parse_engagement
from leadflow.topics import Topics
from tests.integration.bus._fault_helpers import (
    TYPES,
    FileDb,
    Part,
    assert_relayed_at_least_once_in_order,
    engagement,
    file_db,
    stored_ids,
    wait_until,
)
from tests.integration.bus.test_relay import read_records

__all__ = ["file_db"]  # a fixture, found by pytest here


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
