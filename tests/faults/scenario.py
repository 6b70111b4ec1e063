"""Steps every fault scenario shares: a moment mid-stream, the end of the stream, and the
comparison with the simulator's truth, each failing with what the system was doing."""

from __future__ import annotations

from tests.faults.harness import System, wait_until
from tests.faults.workload import Simulator

#: Stored events that show the stream is flowing through every part before a fault.
FLOWING = 60


def stored_events(system: System) -> int:
    try:
        return int(system.status()["stored_events"])
    except Exception:  # the API may be the part that is down
        return 0


def mid_stream(system: System, sim: Simulator, events: int = FLOWING) -> int:
    """Waits until the stream has reached the event store and is still going; the number
    of stored events. Fails if the stream ended first: the fault would not be mid-stream."""

    def flowing() -> int:
        assert sim.running, f"the stream ended before the fault: slow it down\n{sim.output()}"
        n = stored_events(system)
        return n if n >= events else 0

    return wait_until(flowing, 120, f"{events} stored events", 0.5, alive=system.assert_alive)


def play_out(system: System, sim: Simulator, timeout: float = 240) -> None:
    """The simulator plays the rest of its world and exits 0."""
    assert sim.running, "the stream ended before the fault was over: slow it down"
    try:
        sim.finish(timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{situation(system)}\n--- simulator ---\n{sim.output()}"
                             ) from None  # fmt: skip


def assert_truth(system: System, sim: Simulator, wait: float = 120) -> None:
    """`leadflow simulate --check` exits 0 and every part is still running."""
    code, text = sim.check(wait)
    assert code == 0, f"simulate --check exited {code}:\n{text[-6000:]}\n{situation(system)}"
    system.assert_alive()


def situation(system: System) -> str:
    try:
        lags: object = system.lags()
    except Exception as e:
        lags = repr(e)
    return f"lags: {lags}\n{system.diagnostics()}"
