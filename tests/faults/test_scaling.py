"""Projection consumers scaled 1 -> 3 -> 1 mid-stream: partitions move between processes
twice while events flow, and every event is applied exactly once per read model.

The two extra processes leave together: on the embedded Tansu broker a group whose
members leave one after another can stall the next join for minutes (see
tests/integration/projections/test_projection_consumers.py).
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import Clock, SimulatorFactory
from tests.faults.harness import System, wait_until
from tests.faults.scenario import assert_truth, mid_stream, play_out

pytestmark = [pytest.mark.slow, pytest.mark.kafka]


def batches(system: System, name: str) -> int:
    processes = [*system.parts["projections"], *system.retired]
    return sum(len(p.events("projection batch applied")) for p in processes if p.name == name)


def test_projection_consumers_scaled_one_three_one_mid_stream_count_everything_once(
    system: System, simulator: SimulatorFactory, clock: Clock
) -> None:
    with clock.phase("start"):
        system.start()
    sim = simulator(seed=53, leads=60, rate=8)
    with clock.phase("stream, scale 1 -> 3 -> 1"):
        sim.start()
        mid_stream(system, sim)
        first = system.one("projections")
        extra = [system.add("projections"), system.add("projections")]
        system.wait_ready()

        def shared() -> bool:
            # All three hold partitions (the first one's share shrank) and the new ones
            # applied some of the stream.
            counts = [e["count"] for e in first.events("partitions assigned")]
            return counts[-1] < counts[0] and all(batches(system, p.name) for p in extra)

        wait_until(shared, 90, "the three to share the stream", alive=system.assert_alive)
        assert sim.running, "the stream ended before scaling down: slow it down"
        codes = system.remove("projections", 2)
        assert codes == [0, 0], [p.tail() for p in system.retired]
        play_out(system, sim)
    with clock.phase("check"):
        assert_truth(system, sim)
    # And then the first one took everything back.
    counts = [e["count"] for e in first.events("partitions assigned")]
    assert counts[-1] == counts[0], counts
