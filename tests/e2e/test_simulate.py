"""`leadflow simulate` then `--check` against `leadflow up` (SQLite, and PostgreSQL): no
differences; a truth with one number changed: exit 1 and that difference printed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_AVAILABLE, PG_SKIP_REASON, PG_URL, drop_schema

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    return {**env, **extra}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def leadflow_up(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """`leadflow up` with its own data dir, broker port and API port; its URL."""
    port = free_port()
    env = clean_env(LEADFLOW_HTTP=f"127.0.0.1:{port}", LEADFLOW_BROKER_PORT=str(free_port()))
    schema = None
    if request.param == "postgres":
        if not PG_AVAILABLE:
            pytest.skip(PG_SKIP_REASON)
        schema = f"sim_{uuid.uuid4().hex[:10]}"
        env["LEADFLOW_DATABASE_URL"] = f"{PG_URL}?schema={schema}"
    log = tmp_path / "up.out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadflow", "up", "--refresh", "1"],
        cwd=tmp_path,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{url}/status", timeout=5).json().get("projections"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if schema is not None:
            drop_schema(schema)


def simulate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadflow", "simulate", *args],
        cwd=cwd,
        env=clean_env(COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_simulate_then_check_finds_no_difference_and_a_changed_truth_is_reported(
    leadflow_up: str, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.json"
    run = simulate(
        "--days",
        "5",
        "--leads-per-day",
        "20",
        "--api",
        leadflow_up,
        "--truth",
        str(truth),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "unexpected answers" in run.stdout

    check = simulate("--check", "--truth", str(truth), "--api", leadflow_up, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no differences" in check.stdout

    data = json.loads(truth.read_text())
    funnel = next(q for q in data["queries"] if q["name"] == "funnel all")
    captured = funnel["expect"]["stages"][0]
    assert captured["stage"] == "captured" and captured["count"] > 0
    captured["count"] += 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    check = simulate("--check", "--truth", str(tampered), "--api", leadflow_up, cwd=tmp_path)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "1 difference(s)" in check.stdout
    line = next(x for x in check.stdout.splitlines() if "stages[captured].count" in x)
    assert str(captured["count"]) in line and str(captured["count"] - 1) in line
