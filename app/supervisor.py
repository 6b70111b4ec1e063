"""Runs leadflow's parts as child processes, restarts a part that dies, stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from leadflow.logs import get_logger

log = get_logger("leadflow.up")


@dataclass
class Part:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    log_path: Path | None = None

    @property
    def state(self) -> str:
        if self.process is None:
            return "starting"
        code = self.process.poll()
        return "running" if code is None else f"exited ({code})"


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path
    parts: list[Part] = field(default_factory=list)

    def add(self, name: str, *args: str) -> None:
        self.parts.append(Part(name, [sys.executable, "-m", "leadflow", *args]))

    def _spawn(self, part: Part) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        part.log_path = self.log_dir / f"{part.name}.log"
        out = part.log_path.open("ab")
        part.process = subprocess.Popen(
            part.args,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own process group: a Ctrl-C in the terminal reaches only the supervisor,
            # which then stops every part in order.
            start_new_session=True,
        )
        out.close()
        part.started_at = time.monotonic()
        log.info("part started", part=part.name, pid=part.process.pid)

    def start(self) -> None:
        for part in self.parts:
            self._spawn(part)

    def watch(self) -> None:
        """Restarts parts that died, with a growing pause so a crash loop stays cheap."""
        now = time.monotonic()
        for part in self.parts:
            if part.process is None or part.process.poll() is None:
                continue
            if part.next_start == 0.0:
                delay = min(30.0, 2.0 ** min(part.restarts, 5))
                part.next_start = now + delay
                log.warning(
                    "part exited; restarting",
                    part=part.name,
                    code=part.process.returncode,
                    in_s=delay,
                    log=str(part.log_path),
                )
            elif now >= part.next_start:
                part.restarts += 1
                part.next_start = 0.0
                self._spawn(part)

    def stop(self, timeout: float = 20.0) -> None:
        for part in reversed(self.parts):
            if part.process is not None and part.process.poll() is None:
                part.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for part in reversed(self.parts):
            if part.process is None:
                continue
            try:
                part.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("part did not stop in time; killing", part=part.name)
                os.killpg(part.process.pid, signal.SIGKILL)
                part.process.wait()
