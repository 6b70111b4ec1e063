"""Shared by the fault tests (test_faults_*.py): `leadflow` processes started and killed
(`Part`), a SQLite file they share with this process (`file_db`), engagement records, what
the store holds and what the relay published, and a thread that keeps what it raised.

Test modules import the `file_db` fixture so that pytest finds them there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.domain.lead import Lead
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
