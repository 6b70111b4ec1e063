"""The embedded broker restarted empty mid-stream.

What "nothing lost" can honestly mean here. The embedded broker keeps nothing, so what
only it held dies with it (README: use real Kafka in production): inbound records it
acknowledged to a sender but leadflow had not consumed yet, and the dead letters leadflow
wrote to the DLQ topics. Everything leadflow *stored* must survive: the relay republishes
it to the new broker and the projections start over at its new offsets without counting
anything twice. So the simulator is paused (SIGSTOP), the test waits until the inbound
consumers have committed everything the broker holds, notes the dead letters on it, restarts
the broker empty and lets the simulator go on against the new one (topics re-created,
groups re-joined, inbound offsets gone). Every read model must then equal the truth, and
the DLQs must hold every expected dead letter except exactly those that were on the old
broker. Relay and projection lags are left as they are at the restart.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import Clock, SimulatorFactory
from tests.faults.harness import System, wait_until
from tests.faults.scenario import mid_stream, play_out, situation
from tests.faults.workload import DLQ_KINDS

pytestmark = [pytest.mark.slow, pytest.mark.kafka]


def inbound_consumed(system: System) -> bool:
    lags = system.lags()
    return all(lag == 0 for name, lag in lags.items() if name.startswith("consumer "))


def test_broker_restarted_empty_mid_stream_loses_nothing_stored_and_counts_nothing_twice(
    system: System, simulator: SimulatorFactory, clock: Clock
) -> None:
    with clock.phase("start"):
        system.start()
    sim = simulator(seed=23, leads=45, rate=12)
    with clock.phase("stream, broker restart"):
        sim.start()
        mid_stream(system, sim)
        sim.pause()
        time.sleep(1.0)  # what the simulator had in flight reaches the broker (or not)
        # Twice in a row: lags read one by one can race a consumer's commit.
        wait_until(lambda: inbound_consumed(system) and inbound_consumed(system), 60,
                   "the inbound consumers to commit what the broker holds",
                   alive=system.assert_alive)  # fmt: skip
        lost = sim.dead_letters()
        system.restart_broker()
        sim.resume()
        play_out(system, sim)
    with clock.phase("check"):
        differences = sim.differences_besides_dead_letters(120)
        assert not differences, "\n".join(differences) + "\n" + situation(system)
        expected, now = sim.truth_data()["dlq"], sim.dead_letters()
        for kind in DLQ_KINDS:
            assert now[kind] <= set(expected[kind]), f"unexpected {kind} dead letters"
            assert now[kind] | lost[kind] == set(expected[kind]), (
                f"{kind} dead letters: expected {sorted(expected[kind])}, on the old broker"
                f" {sorted(lost[kind])}, on the new one {sorted(now[kind])}"
            )
        system.assert_alive()
    # The restart exercised what it is meant to: a republish from the start of the store,
    # and projections that began again in a new broker epoch.
    relay = system.one("relay")
    assert relay.events("broker lost its data; republishing from the start"), relay.tail()
    projections = system.one("projections")
    epochs = {e.get("epoch") for e in projections.events("partitions assigned")}
    assert len(epochs) >= 2, f"the projections never saw the new broker: {epochs}"
