"""`leadflow up` as a user runs it: real processes, real broker, real HTTP, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Up:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
        env.update(LEADFLOW_HTTP=f"127.0.0.1:{self.port}", LEADFLOW_BROKER_PORT=str(free_port()))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "up", "--refresh", "0.5"], cwd=self.workdir,
            env=env, stdout=(self.workdir / "up.out").open("ab"), stderr=subprocess.STDOUT)
        self.wait_for(lambda: httpx.get(f"{self.url}/status", timeout=5).status_code == 200, 60)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(60)
        self.proc = None
        return code

    def wait_for(self, check: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            assert self.proc is None or self.proc.poll() is None, self.output()
            time.sleep(0.3)
        raise AssertionError(f"timed out; leadflow up said:\n{self.output()}")

    def settled(self) -> bool:
        s = httpx.get(f"{self.url}/status", timeout=10).json()
        lags = [s["relay"]["lag"], *(p["lag"] for p in s["projections"]),
                *(c["lag"] for c in s["consumers"])]
        return bool(s["projections"]) and all(lag == 0 for lag in lags)

    def output(self) -> str:
        return (self.workdir / "up.out").read_text(errors="replace")[-4000:]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    instance = Up(tmp_path)
    yield instance
    if instance.proc is not None:
        instance.proc.kill()
        instance.proc.wait()


def engagement(i: int, kind: str, email: str = "ada@example.com") -> dict[str, Any]:
    return {"event_id": f"up-{i}", "type": kind, "occurred_at": f"2026-09-{1 + i:02d}T10:00:00Z",
            "email": email, "source": "webinar", "campaign": "q3"}


def test_up_serves_ingests_projects_and_stops_cleanly_then_resumes(up: Up) -> None:
    up.start()
    batch = [engagement(0, "webinar_attended"), engagement(1, "demo_requested"),
             engagement(2, "form_submitted"), engagement(3, "email_opened", "bob@example.com")]
    r = httpx.post(f"{up.url}/engagement", json=batch, timeout=10)
    assert r.status_code == 202 and r.json()["accepted"] == 4
    up.wait_for(lambda: up.settled() and httpx.get(f"{up.url}/funnel").json()["stages"][0][
        "count"] == 2, 60)
    stages = {s["stage"]: s["count"] for s in httpx.get(f"{up.url}/funnel").json()["stages"]}
    assert stages == {"captured": 2, "mql": 1, "sql": 0, "converted": 0, "won": 0}

    assert up.stop() == 0
    assert "stopped cleanly" in up.output()

    # Started again it resumes from its data: the same batch again has no effect.
    up.start()
    r = httpx.post(f"{up.url}/engagement", json=batch, timeout=10)
    assert r.status_code == 202
    up.wait_for(up.settled, 60)
    lead = httpx.get(f"{up.url}/leads", params={"email": "ada@example.com"}).json()["items"][0]
    assert lead["score"] == 55
    counts = {s["stage"]: s["count"] for s in httpx.get(f"{up.url}/funnel").json()["stages"]}
    assert counts == stages
    assert json.loads(httpx.get(f"{up.url}/status").text)["relay"]["lag"] == 0
    assert up.stop() == 0
