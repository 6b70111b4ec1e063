"""Each kind of leadflow process SIGKILLed mid-stream and started again: the read models
still equal the simulator's ground truth (nothing lost, nothing counted twice)."""

from __future__ import annotations

import pytest

from tests.faults.conftest import Clock, SimulatorFactory
from tests.faults.harness import System
from tests.faults.scenario import assert_truth, mid_stream, play_out

pytestmark = [pytest.mark.slow, pytest.mark.kafka]


@pytest.mark.parametrize("kind", ["relay", "engagement", "spend", "projections", "api"])
def test_a_part_killed_mid_stream_and_restarted_loses_nothing_and_counts_nothing_twice(
    system: System, simulator: SimulatorFactory, clock: Clock, kind: str
) -> None:
    with clock.phase("start"):
        system.start()
    sim = simulator(seed=11, leads=45, rate=12)
    with clock.phase("stream, kill -9, restart"):
        sim.start()
        mid_stream(system, sim)
        system.restart(kind)
        play_out(system, sim)
    with clock.phase("check"):
        assert_truth(system, sim)
