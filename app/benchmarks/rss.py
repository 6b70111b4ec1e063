"""`leadflow bench rss`: resident memory of each process while the system holds N leads.

Every part runs as `leadflow up` runs it (relay, engagement and spend consumers, projection
consumer, API) on a broker of its own, so the broker's figure is this data set alone. N
records for N new people go through the real pipeline. Figures per process, from
/proc/PID/status: VmRSS once started and idle (the floor), VmHWM (peak) once every lead is
visible in the read models, VmRSS at rest after that, and for the API VmRSS/VmHWM after it
answered /funnel, /conversion-rates and /roi once.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from leadflow.benchmarks.ingest import TYPES, bus
from leadflow.benchmarks.pipeline import PARTS, BenchError, Pipeline, pipeline
from leadflow.projections import schema

QUERIES = ("/funnel", "/conversion-rates?by=source", "/roi?by=source")


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # kB
    return out


def broker_pid(bootstrap: str) -> int | None:
    """The embedded broker's process, found by the listener URL on its command line."""
    needle = f"tcp://{bootstrap}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if needle in argv and b"broker" in argv:
            return int(entry.name)
    return None


def lead_records(n: int) -> Iterator[tuple[bytes, bytes]]:
    """One engagement each for n new people, made lazily: 1M records stay out of memory."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        email = f"lead{i}@rss{i % 997}.example"
        value = {
            "event_id": f"rss-{i}",
            "type": TYPES[i % len(TYPES)],
            "occurred_at": (start + timedelta(seconds=30 * i)).isoformat(),
            "email": email,
            "source": ("webinar", "paid_social", "organic", "referral")[i % 4],
            "campaign": f"c{i % 40}",
            "person": {"company": f"Co {i % 997}", "country": "GB"},
        }
        yield email.encode(), json.dumps(value).encode()


def _get(url: str, timeout: float) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        if response.status != 200:
            raise BenchError(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def _wait_api(p: Pipeline, timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            _get(f"http://{p.http}/status", 10)
            return
        except OSError:
            p.check_alive()
            if time.perf_counter() > deadline:
                raise BenchError(f"API at {p.http} did not answer in {timeout:.0f} s") from None
            time.sleep(0.5)


def _snapshot(pids: dict[str, int], key: str) -> dict[str, float]:
    return {name: round(memory(pid)[key], 1) for name, pid in pids.items()}


def run(leads: int, report: Callable[[str], None] = print) -> dict[str, Any]:
    with bus(fresh=True) as (bootstrap, broker), pipeline(bootstrap, tuple(PARTS)) as p:
        pids = dict(p.pids())
        bpid = broker_pid(bootstrap)
        if bpid is not None:
            pids = {"broker": bpid, **pids}
        p.warm_up()
        _wait_api(p)
        idle = _snapshot(pids, "VmRSS")
        report(f"all parts up; publishing {leads:,} records for {leads:,} new people")
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=256 * 1024
        )
        started = time.perf_counter()
        expected = p.inbound() + leads
        for key, value in lead_records(leads):
            producer.send(p.topics.engagement, key=key, value=value)
        producer.flush()
        producer.close()
        published = time.perf_counter()
        report(f"published in {published - started:.0f} s; waiting until all is visible")
        stages = p.wait_visible(expected, timeout=max(600.0, leads / 100), poll=0.5, report=report)
        peak = _snapshot(pids, "VmHWM")
        time.sleep(2)  # let the last batches' buffers go
        rest = _snapshot(pids, "VmRSS")
        names = schema.table_names()
        held = int(p.store.side.query("SELECT COUNT(*) FROM {rm_leads}", (), names)[0][0])
        query_ms = {q: round(_get(f"http://{p.http}{q}", 3600), 1) for q in QUERIES}
        api = memory(pids["api"])
        db_mib = sum(f.stat().st_size for f in p.db_path.parent.glob("*.sqlite3*")) / 2**20
        events = p.store.max_position()
    processes = {
        name: {
            "rss_idle_mib": idle[name],
            "peak_hwm_mib": peak[name],
            "rss_at_rest_mib": rest[name],
            "ratio_rest_to_idle": rest[name] / idle[name],
        }
        for name in pids
    }
    processes["api"]["rss_after_queries_mib"] = round(api["VmRSS"], 1)
    processes["api"]["peak_hwm_after_queries_mib"] = round(api["VmHWM"], 1)
    return {
        "broker": broker,
        "leads": leads,
        "leads_in_read_models": held,
        "stored_events": events,
        "database_mib": round(db_mib, 1),
        "seconds_publishing": round(published - started, 1),
        "seconds_to_all_visible": round(stages["visible"] - started, 1),
        "leads_per_s_end_to_end": leads / (stages["visible"] - started),
        "query_ms_first_call": query_ms,
        "processes": processes,
        "note": "floor: each process's RSS once started and idle (empty store), same run;"
        " peak is VmHWM (whole life, startup included); MiB",
    }
