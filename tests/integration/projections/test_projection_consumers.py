"""Projection consumers on a real broker over a SQLite file: what the relay publishes ends
up in read-model tables equal to a rebuild from the event store, with one consumer, with
three processes in one group, and across a SIGKILL mid-stream (no double count).

`leadflow project` always joins the group "leadflow.projections" (fresh topics per test keep
the tests apart). On the embedded Tansu broker a group whose members leave one after the
other can stall: a later JoinGroup gets no answer for minutes (seen with plain kafka-python
consumers too, with 2 or 3 members, not with 1). So the three-process test comes last and
stops its processes at once; the SIGKILL test, whose victim never leaves, comes before it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.producers.relay import Relay, RelaySettings
from leadflow.projections import schema
from leadflow.projections.consumer import GROUP, ProjectionConsumer, ProjectionSettings
from leadflow.projections.rebuild import rebuild
from leadflow.settings import DatabaseSettings, Settings
from leadflow.topics import Topics
from tests.integration.projections.answers import check, everything, stored_events
from tests.integration.projections.history_driver import play
from tests.integration.projections.history_generator import RandomPick, random_plan
from tests.integration.projections.history_reference import Reference
from tests.integration.projections.tables import diff, dump

pytestmark = pytest.mark.kafka


@pytest.fixture
def store_app(tmp_path: Path) -> Iterator[Leadflow]:
    lf = build(Settings(data_dir=tmp_path, database=DatabaseSettings.from_url(None, tmp_path)),
               load_config())
    yield lf
    lf.close()


def history(app: Leadflow, seed: int, tag: str = "", ref: Reference | None = None,
            ops: int = 150) -> Reference:
    return play(app, random_plan(RandomPick(seed), people=(10, 16), ops=(ops, ops), tag=tag),
                ref)


def relay_for(app: Leadflow, bootstrap: str, topics: Topics, batch: int = 2000) -> Relay:
    relay = Relay(app.store, RelaySettings(bootstrap, topics, partitions=3, batch_size=batch))
    relay.start()
    return relay


def drain(relay: Relay, pause: float = 0.0) -> int:
    total = 0
    while (n := relay.publish_batch()) > 0:
        total += n
        time.sleep(pause)
    return total


def stored_positions(app: Leadflow, group: str = GROUP) -> int:
    """Records applied, by the offsets stored with the rows (0 before the tables exist)."""
    if not schema.exists(app.store.side, "leadflow_rm_positions"):
        return 0
    rows = app.store.side.query(
        "SELECT next_offset FROM {rm_positions} WHERE consumer = ?", (group,),
        {"rm_positions": "leadflow_rm_positions"},
    )
    return sum(int(r[0]) for r in rows)


def wait_until(what: str, ok: Callable[[], bool], timeout: float = 60.0,
               alive: Callable[[], None] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if alive is not None:
            alive()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def equals_rebuild(app: Leadflow, ref: Reference) -> None:
    """The live tables answer as the history says, and equal a rebuild of the same store."""
    check(app.store.side, ref, everything(datetime.now(UTC)))
    live = dump(app.store.side)
    assert live["rm_leads"], "nothing was projected"
    rebuild(app.store)
    rebuilt = dump(app.store.side)
    assert live == rebuilt, diff(live, rebuilt)


def test_a_live_consumer_builds_the_tables_a_rebuild_builds(
    store_app: Leadflow, kafka_bootstrap: str, topics: Topics,
    unique_name: Callable[[str], str],
) -> None:
    app = store_app
    ref = history(app, 101)
    relay = relay_for(app, kafka_bootstrap, topics)
    published = drain(relay)
    assert published == stored_events(app)
    group = unique_name("projections")
    consumer = ProjectionConsumer(app.store, ProjectionSettings(kafka_bootstrap, topics, group))

    def applied(n: int) -> Callable[[], bool]:
        return lambda: consumer.run_once() >= 0 and stored_positions(app, group) >= n

    consumer.start()
    try:
        # Generous: under a loaded machine the embedded broker's group join has been seen to
        # take most of a minute (CI, once).
        wait_until("the first history", applied(published), timeout=180)
        # More history while it runs: applied as it comes.
        history(app, 102, tag="more-", ref=ref, ops=60)
        published += drain(relay)
        wait_until("the second history", applied(published))
        assert consumer.applied == published
        live = dump(app.store.side)
        # Everything delivered again (its positions lost, so it seeks to 0): no change.
        with app.store.side.transaction({"rm_positions": "leadflow_rm_positions"}) as tx:
            tx.execute("DELETE FROM {rm_positions} WHERE consumer = ?", (group,))
        consumer.rewind()
        wait_until("the re-delivery", applied(published))
        assert consumer.applied == 2 * published
    finally:
        consumer.close()
    again = dump(app.store.side)
    assert again == live, diff(again, live)
    assert stored_positions(app, group) == published == stored_events(app)
    equals_rebuild(app, ref)


def test_partitions_wait_for_their_stored_offsets_while_the_database_is_away(
    store_app: Leadflow, kafka_bootstrap: str, topics: Topics,
    unique_name: Callable[[str], str],
) -> None:
    """Assigned while the positions cannot be read: nothing is applied from Kafka's own
    offsets; once the database answers, each partition starts at its stored offset."""
    app = store_app
    ref = history(app, 103)
    published = drain(relay_for(app, kafka_bootstrap, topics))
    consumer = ProjectionConsumer(
        app.store, ProjectionSettings(kafka_bootstrap, topics, unique_name("projections")))
    real = consumer._stored_offsets
    away: list[float] = []  # when the first read failed

    def stored_offsets(partitions: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not away:
            away.append(time.monotonic())
        if time.monotonic() < away[0] + 3.0:
            raise OperationalError("disk I/O error")
        return real(partitions)

    consumer._stored_offsets = stored_offsets  # type: ignore[method-assign]
    stop = threading.Event()
    runner = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    runner.start()
    try:
        wait_until("the assignment", lambda: bool(away), timeout=180)
        while time.monotonic() < away[0] + 3.0:
            assert consumer.applied == 0, "applied before the stored offsets were known"
            time.sleep(0.05)
        wait_until("the projections", lambda: consumer.applied >= published)
        assert consumer.applied == published
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()
    assert stored_positions(app, consumer._s.group_id) == published
    equals_rebuild(app, ref)


# --- projection processes -----------------------------------------------------------------


class Projector:
    """`python -m leadflow project` on the test's broker, topics and SQLite file."""

    def __init__(self, tmp_path: Path, name: str, bootstrap: str, topics: Topics) -> None:
        self.log = tmp_path / f"{name}.log"
        self.terminated = False
        env = {
            **os.environ,
            "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
            "LEADFLOW_TOPIC_PREFIX": topics.prefix,
            "LEADFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'leadflow.sqlite3'}",
            "LEADFLOW_DATA_DIR": str(tmp_path),
            "LEADFLOW_LOG_FORMAT": "json",
        }
        env.pop("LEADFLOW_CONFIG", None)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "leadflow", "project"], env=env, cwd=tmp_path,
                stdout=out, stderr=subprocess.STDOUT,
            )

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == name:
                found.append(entry)
        return found

    def alive(self) -> None:
        assert self.proc.poll() is None, f"projector died:\n{self.log.read_text()[-3000:]}"

    def terminate(self) -> None:
        if not self.terminated and self.proc.poll() is None:
            self.terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        self.terminate()
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            log = self.log.read_text()[-3000:]
            raise AssertionError(f"projector ignored SIGTERM:\n{log}") from None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def projectors(tmp_path: Path, kafka_bootstrap: str,
               topics: Topics) -> Iterator[Callable[[str], Projector]]:
    started: list[Projector] = []

    def start(name: str) -> Projector:
        p = Projector(tmp_path, name, kafka_bootstrap, topics)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()


def test_a_projection_process_killed_mid_stream_and_restarted_counts_nothing_twice(
    store_app: Leadflow, kafka_bootstrap: str, topics: Topics,
    projectors: Callable[[str], Projector],
) -> None:
    app = store_app
    ref = history(app, 301, ops=500)
    total = stored_events(app)
    relay = relay_for(app, kafka_bootstrap, topics, batch=100)
    first = relay.publish_batch()
    victim = projectors("victim")
    wait_until("the first batch applied", lambda: stored_positions(app) >= first,
               alive=victim.alive)

    def stream_half() -> None:  # the first half of the stream arrives while it applies it
        while relay.position < total // 2 and relay.publish_batch():
            time.sleep(0.05)

    streaming = threading.Thread(target=stream_half, name="relay")
    streaming.start()
    try:
        wait_until("progress", lambda: stored_positions(app) > first + 50, alive=victim.alive)
        victim.kill()
        at_kill = stored_positions(app)
    finally:
        streaming.join(60)
    assert first < at_kill < total, (first, at_kill, total)  # it died mid-stream
    drain(relay)  # the rest of the stream, for its successor
    successor = projectors("successor")
    wait_until("the successor to catch up", lambda: stored_positions(app) >= total,
               timeout=90, alive=successor.alive)
    assert successor.stop() == 0
    assert stored_positions(app) == total
    equals_rebuild(app, ref)


def test_three_projection_processes_in_one_group_build_the_rebuilt_tables(
    store_app: Leadflow, kafka_bootstrap: str, topics: Topics,
    projectors: Callable[[str], Projector],
) -> None:
    app = store_app
    ref = history(app, 201)
    relay = relay_for(app, kafka_bootstrap, topics)  # writes the epoch marker first
    procs = [projectors(f"projector-{i}") for i in range(3)]

    def settled() -> bool:
        # Topics of 3 partitions: one partition of each topic per member once all joined.
        last = [p.events("partitions assigned")[-1:] for p in procs]
        return all(entry and entry[0].get("count") == len(topics.domain_events) for entry in last)

    def alive() -> None:
        for p in procs:
            p.alive()

    wait_until("three members in the group", settled, timeout=90, alive=alive)
    published = drain(relay)
    wait_until("the projections", lambda: stored_positions(app) >= published, alive=alive)
    for p in procs:  # all at once (see the module doc)
        p.terminate()
    for p in procs:
        assert p.stop() == 0, p.log.read_text()[-3000:]
    applied = [p.events("projection consumer stopped")[-1]["applied"] for p in procs]
    assert all(n > 0 for n in applied) and sum(applied) >= published, applied
    assert stored_positions(app) == published
    equals_rebuild(app, ref)
