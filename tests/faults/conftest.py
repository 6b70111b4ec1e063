"""Fixtures of the fault suite: a whole leadflow system per test (SQLite file or a fresh
PostgreSQL schema), the simulator that streams into it, and a timing table printed at the
end of the run so the suite's cost stays visible in CI's output."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PG_AVAILABLE, PG_SKIP_REASON, PG_URL, drop_schema
from tests.faults.harness import System
from tests.faults.workload import Simulator

TIMINGS: list[tuple[str, str, float]] = []  # (test, phase, seconds)
DAYS = 3


class Clock:
    """Times the phases of one test, for the summary at the end of the run."""

    def __init__(self, test: str) -> None:
        self.test = test

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            TIMINGS.append((self.test, name, time.monotonic() - started))


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[Clock]:
    c = Clock(request.node.name)
    started = time.monotonic()
    yield c
    TIMINGS.append((c.test, "total", time.monotonic() - started))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    tr = terminalreporter
    tr.section("fault suite timings (s)")
    for test, phase, seconds in TIMINGS:
        tr.write_line(f"{seconds:7.1f}  {test}  {phase}")
    total = sum(s for _, phase, s in TIMINGS if phase == "total")
    tr.write_line(f"{total:7.1f}  all fault tests")


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLite file the parts share, or (param "postgres") a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leadflow.sqlite3'}"
        return
    if not PG_AVAILABLE:
        pytest.skip(PG_SKIP_REASON)
    schema = f"fault_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}?schema={schema}"
    drop_schema(schema)


@pytest.fixture
def system(tmp_path: Path, database_url: str) -> Iterator[System]:
    s = System(tmp_path, database_url, app_name=f"leadflow-fault-{uuid.uuid4().hex[:12]}")
    try:
        yield s
    finally:
        s.stop()


SimulatorFactory = Callable[..., Simulator]


@pytest.fixture
def simulator(system: System) -> Iterator[SimulatorFactory]:
    """``simulator(seed=…, leads=…, rate=…)``: a small world (3 days) whose engagement is
    published at most ``rate`` records/s, so that a fault lands mid-stream."""
    made: list[Simulator] = []

    def make(*, seed: int, leads: int, rate: float) -> Simulator:
        sim = Simulator(system, seed=seed, days=DAYS, leads_per_day=max(1, leads // DAYS),
                        rate=rate)  # fmt: skip
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.kill()
