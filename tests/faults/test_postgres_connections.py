"""PostgreSQL drops leadflow's connections mid-stream (pg_terminate_backend, as a
failover, a restart or an administrator would). Two things must hold: the read models
still equal the truth, and every part carried on by itself. The parts are supervised as
`leadflow up` supervises them, so a part that dies on a dropped connection is restarted
and the data check still says whether anything was lost or counted twice; the exits are
asserted on last, with their logs.

Connections are picked by application_name: every part of the test's system gets a
PGAPPNAME of its own, which libpq uses for every connection it opens, so the test
terminates exactly its own system's backends and never those of tests running beside it
on the same server, user and database (a search_path or query filter could miss idle
connections or hit other schemas)."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import Clock, SimulatorFactory
from tests.faults.harness import System, wait_until
from tests.faults.scenario import assert_truth, mid_stream, play_out, stored_events

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_connections_terminated_mid_stream_lose_nothing_and_count_nothing_twice(
    system: System, simulator: SimulatorFactory, clock: Clock
) -> None:
    with clock.phase("start"):
        system.start()
    sim = simulator(seed=37, leads=45, rate=12)
    with clock.phase("stream, pg_terminate_backend x3"), system.supervised() as exits:
        sim.start()
        stored = mid_stream(system, sim)
        for round in range(3):
            terminated = system.terminate_db_connections()
            assert terminated > 0, "no backend of this system to terminate"
            # The next round only once the system wrote again, so each one hits live work.
            stored = wait_until(
                lambda s=stored: (n := stored_events(system)) > s and n,  # type: ignore[misc]
                60,
                f"writes after termination round {round}",
            )
            time.sleep(0.5)
        play_out(system, sim)
        with clock.phase("check"):
            assert_truth(system, sim)
    assert not exits, "parts died on a dropped connection:\n" + "\n".join(exits)
