"""What streams into the system while a fault lands, and its ground truth: `leadflow
simulate` (a seeded marketing organisation that publishes engagement and spend and acts as
sales reps through the API) in a subprocess, and `leadflow simulate --check`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

from tests.faults.harness import System

DLQ_KINDS = ("engagement", "spend")


class Simulator:
    """`leadflow simulate` in a subprocess; SIGSTOP / SIGCONT pause it."""

    def __init__(self, system: System, *, seed: int, days: int, leads_per_day: int,
                 rate: float) -> None:  # fmt: skip
        self.system = system
        self.truth = system.workdir / "truth.json"
        self.log = system.workdir / "simulate.log"
        self.args = ["--seed", str(seed), "--days", str(days),
                     "--leads-per-day", str(leads_per_day), "--rate", str(rate)]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def _common(self) -> list[str]:
        return ["--api", self.system.api_url, "--truth", str(self.truth)]

    def start(self) -> None:
        argv = [sys.executable, "-m", "leadflow", "simulate", *self.args, *self._common(),
                "--bootstrap", self.system.bootstrap,
                "--topic-prefix", self.system.topics.prefix]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, env=self.system.env(), cwd=self.system.workdir,
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)  # fmt: skip

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def finish(self, timeout: float) -> None:
        """Waits until the simulator played its whole world; AssertionError if it failed."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the simulator did not finish in {timeout}s") from None
        assert code == 0, f"the simulator exited {code}:\n{self.output()}"

    def check(self, wait: float) -> tuple[int, str]:
        """`leadflow simulate --check`: 0 no differences, 1 differences (in the text), 2
        leadflow never became up to date within ``wait`` seconds."""
        argv = [sys.executable, "-m", "leadflow", "simulate", "--check", *self._common(),
                "--wait", str(int(wait))]  # fmt: skip
        out = subprocess.run(argv, env={**self.system.env(), "COLUMNS": "200"},
                             cwd=self.system.workdir, capture_output=True, check=False,
                             timeout=wait + 180)  # fmt: skip
        return out.returncode, (out.stdout + out.stderr).decode(errors="replace")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.running and self.proc is not None:
            self.resume()
            self.proc.kill()
            self.proc.wait()

    # --- for a broker that loses its data -------------------------------------------

    def truth_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.truth.read_text())
        return data

    def dead_letters(self) -> dict[str, set[str]]:
        """The simulation's malformed-record markers now in each DLQ topic."""
        from leadflow.simulate.check import dlq_markers

        run_id = self.truth_data()["run_id"]
        topics = {"engagement": self.system.topics.engagement_dlq,
                  "spend": self.system.topics.spend_dlq}  # fmt: skip
        return {k: dlq_markers(self.system.bootstrap, topics[k], run_id) for k in DLQ_KINDS}

    def differences_besides_dead_letters(self, wait: float) -> list[str]:
        """What `--check` compares, except the DLQ topics (the caller accounts for those);
        one line per difference, or why leadflow never became up to date."""
        from leadflow.simulate.check import compare, wait_until_current
        from leadflow.simulate.client import Api

        with Api(self.system.api_url, None, patience=max(wait, 5.0)) as api:
            if not wait_until_current(api, wait):
                return [f"never up to date within {wait}s"]
        found = compare(self.truth_data(), self.system.api_url, bootstrap=self.system.bootstrap)
        dlq_topics = {self.system.topics.engagement_dlq, self.system.topics.spend_dlq}
        return [f"{d.where} {d.field}: expected {d.expected!r}, got {d.actual!r}"
                for d in found if d.where not in dlq_topics]  # fmt: skip
