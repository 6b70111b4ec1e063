"""`leadflow bench all --quick` runs every benchmark end to end (real broker, real child
processes, real SQLite) and writes each figure beside its floor. Nothing here is timed:
speed is what the benchmark reports, not what the test checks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHES = ("store", "ingest", "e2e", "rebuild", "queries", "rss")
PROCESSES = {"broker", "relay", "engagement-consumer", "spend-consumer", "projections", "api"}


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LEADFLOW_API_KEYS"}
    return subprocess.run(
        [sys.executable, "-m", "leadflow", "bench", "all", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_bench_all_quick_writes_every_figure_beside_its_floor(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = _bench(tmp_path, "--quick", "--postgres", "", "--out", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    for name in (*BENCHES, "summary"):
        assert _read(out / f"{name}.json")["machine"]["cpus"]
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    summary = _read(out / "summary.json")
    assert summary["measured"] == dict.fromkeys(BENCHES, "this run")
    assert {f["bench"] for f in summary["figures"]} == set(BENCHES)
    for f in summary["figures"]:
        assert math.isfinite(f["value"]) and f["value"] > 0, f
        if f["floor_name"]:
            assert f["floor"] > 0, f
            assert math.isclose(f["ratio"], f["value"] / f["floor"]), f
        if f["target"] is not None:
            assert f["met"] in (True, False), f
    assert summary["readme_rows"][0].startswith("| benchmark | leadflow | raw floor")
    for row in summary["readme_rows"]:
        assert row in done.stdout

    e2e = _read(out / "e2e.json")
    assert e2e["throughput"]["engagements"] == 1000
    assert e2e["throughput"]["domain_events"] > 1000
    # Every record sent in the latency run was seen in the read models.
    assert e2e["latency"]["measured"] == e2e["latency"]["records"] > 0
    assert e2e["raw_latency"]["measured"] == e2e["raw_latency"]["records"]
    for floor in ("raw_produce_per_s", "raw_consume_per_s", "raw_store_inserts_per_s"):
        assert e2e[floor] > 0
    assert e2e["load_average_1_5_15"]["start"] and e2e["load_average_1_5_15"]["end"]

    rss = _read(out / "rss.json")
    assert set(rss["processes"]) == PROCESSES
    assert rss["leads_in_read_models"] >= rss["leads"] == 1000
    for name, p in rss["processes"].items():
        assert 0 < p["rss_idle_mib"] <= p["peak_hwm_mib"], name
        assert p["rss_at_rest_mib"] > 0, name
    assert rss["processes"]["api"]["rss_after_queries_mib"] > 0
    assert set(rss["query_ms_first_call"]) == {
        "/funnel",
        "/conversion-rates?by=source",
        "/roi?by=source",
    }

    # Everything skipped: the summary is made again from the JSON files, dated as such.
    again = _bench(tmp_path, *(a for n in BENCHES for a in ("--skip", n)), "--out", str(out))
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    redone = _read(out / "summary.json")
    assert all("earlier run" in v for v in redone["measured"].values())
    assert [f["value"] for f in redone["figures"]] == [f["value"] for f in summary["figures"]]


def test_bench_all_refuses_an_unknown_benchmark(tmp_path: Path) -> None:
    done = _bench(tmp_path, "--skip", "nonsense", "--out", str(tmp_path))
    assert done.returncode != 0
    assert "nonsense" in done.stdout + done.stderr
    assert not (tmp_path / "summary.json").exists()
