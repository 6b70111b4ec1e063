"""`leadflow bench ...`: benchmarks, JSON + PNG under bench-results/, never timed tests."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from leadflow.benchmarks.all import Step, figures, markdown_rows, timed, write, write_summary
from leadflow.cli.common import console

bench_app = typer.Typer(help="Benchmarks (JSON + PNG under bench-results/).", no_args_is_help=True)
PG = "postgresql://postgres@127.0.0.1:5432/test"
StepOut = tuple[dict[str, Any], dict[str, float], str, str]
NAMES = ("store", "ingest", "e2e", "rebuild", "queries", "rss")


def _store(people: int, batch: int, floor_events: int, postgres: str | None) -> StepOut:
    from leadflow.benchmarks import store

    dbs = {"sqlite": store.sqlite_db}
    if postgres:
        dbs["postgres"] = store.postgres_db(postgres)
    results = store.run(dbs, people, batch, floor_events)
    bars: dict[str, float] = {}
    lines = []
    for name, r in results.items():
        bars[f"{name} raw floor (1 event/save)"] = r["raw_floor_events_per_s"]
        bars[f"{name} engagement events/s"] = r["engagements_per_s"]
        bars[f"{name} stored events/s"] = r["stored_events_per_s"]
        lines.append(
            f"{name}: {r['engagements_per_s']:,.0f} engagement events/s "
            f"({r['stored_events_per_s']:,.0f} stored events/s); raw floor "
            f"{r['raw_floor_events_per_s']:,.0f} events/s; ratio "
            f"{r['ratio_engagements_to_floor']:.2f}"
        )
    return {"results": results}, bars, "per second", "\n".join(lines)


def _ingest(events: int, people: int, rate: int, seconds: int) -> StepOut:
    from leadflow.benchmarks import ingest

    r = ingest.run(events, people, rate, seconds)
    e2e, lat = r["end_to_end"], r["latency"]
    line = (
        f"raw produce {r['raw_produce_per_s']:,.0f}/s, raw consume {r['raw_consume_per_s']:,.0f}/s;"
        f" leadflow {e2e['engagements_per_s']:,.0f} engagement events/s end to end "
        f"({r['ratio_to_raw_produce']:.2f} of raw produce); at {lat['rate_per_s']}/s "
        f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms topic->stored"
    )
    bars = {
        "raw floor: kafka-python produce": r["raw_produce_per_s"],
        "raw floor: kafka-python consume": r["raw_consume_per_s"],
        "leadflow engagement events/s (end to end)": e2e["engagements_per_s"],
    }
    return r, bars, "records per second", line


def _e2e(events: int, people: int, rate: int, seconds: float) -> StepOut:
    from leadflow.benchmarks import e2e
    from leadflow.benchmarks.ingest import bus

    with bus() as (bootstrap, broker):
        r = {"broker": broker, **e2e.run(bootstrap, events, people, rate, seconds)}
    t, lat, raw = r["throughput"], r["latency"], r["raw_latency"]
    line = (
        f"published -> visible in read models: {t['engagements_per_s']:,.0f} engagement "
        f"events/s ({r['ratio_to_raw_produce']:.2f} of raw produce "
        f"{r['raw_produce_per_s']:,.0f}/s, {r['ratio_to_raw_store_inserts']:.2f} of raw store "
        f"inserts {r['raw_store_inserts_per_s']:,.0f}/s); at {lat['rate_per_s']}/s p50 "
        f"{lat.get('p50_ms', 0):.0f} ms, p99 {lat.get('p99_ms', 0):.0f} ms "
        f"(raw kafka p99 {raw.get('p99_ms', 0):.0f} ms); {lat['measured']}/{lat['records']} seen"
    )
    bars = {
        "raw floor: kafka-python produce": r["raw_produce_per_s"],
        "raw floor: kafka-python consume": r["raw_consume_per_s"],
        "raw floor: eventsourcing inserts (SQLite)": r["raw_store_inserts_per_s"],
        "leadflow published -> visible (events/s)": t["engagements_per_s"],
        f"raw floor: kafka produce -> consume p99 at {rate}/s (ms)": raw.get("p99_ms", 0.0),
        f"leadflow published -> visible p99 at {rate}/s (ms)": lat.get("p99_ms", 0.0),
    }
    return r, bars, "per second; latencies in ms", line


def _rebuild(engagements: int, people: int) -> StepOut:
    from leadflow.benchmarks import readmodels

    r = readmodels.bench_rebuild(engagements, people)
    line = (
        f"rebuild {r['rebuild_events_per_s']:,.0f} events/s; raw read floor "
        f"{r['raw_floor_read_events_per_s']:,.0f} events/s; ratio {r['ratio_to_floor']:.2f}; "
        f"select_notifications + to_domain_event {r['notifications_floor_events_per_s']:,.0f}"
        f" events/s"
    )
    bars = {
        "raw floor: read + decode store events": r["raw_floor_read_events_per_s"],
        "select_notifications + to_domain_event": r["notifications_floor_events_per_s"],
        "leadflow rebuild": r["rebuild_events_per_s"],
    }
    return r, bars, "events per second", line


def _queries(leads: int, repeat: int) -> StepOut:
    from leadflow.benchmarks import readmodels

    r = readmodels.bench_queries(leads, repeat)
    bars = {"raw floor: one full scan of leads (ms)": r["raw_floor_full_scan_ms"]}
    lines = []
    for key, value in r.items():
        if isinstance(value, dict):
            lines.append(f"{key}: p50 {value['p50_ms']:.1f} ms, p99 {value['p99_ms']:.1f} ms")
            bars[f"{key} p99 (ms)"] = value["p99_ms"]
    return r, bars, "milliseconds (lower is better)", "\n".join(lines)


def _rss(leads: int) -> StepOut:
    from leadflow.benchmarks import rss

    r = rss.run(leads, report=lambda s: console.print(f"[dim]rss: {s}[/]"))
    bars: dict[str, float] = {}
    lines = []
    for name, x in r["processes"].items():
        bars[f"{name} floor: started, idle"] = x["rss_idle_mib"]
        bars[f"{name} peak (VmHWM)"] = x["peak_hwm_mib"]
        bars[f"{name} at rest"] = x["rss_at_rest_mib"]
        if "rss_after_queries_mib" in x:
            bars[f"{name} after /funnel, /conversion-rates, /roi"] = x["rss_after_queries_mib"]
        lines.append(
            f"{name}: idle {x['rss_idle_mib']:,.0f} MiB, peak {x['peak_hwm_mib']:,.0f} MiB, "
            f"at rest {x['rss_at_rest_mib']:,.0f} MiB"
        )
    lines.append(f"{r['leads_in_read_models']:,} leads visible in {r['seconds_to_all_visible']} s")
    return r, bars, "MiB resident (lower is better)", "\n".join(lines)


def _emit(step: Step, out: Path) -> None:
    console.print(step.line)
    json_path, png_path = write(step, out)
    console.print(f"wrote {json_path} and {png_path}")


OUT = typer.Option(Path("bench-results"), help="directory for the JSON and PNG")


@bench_app.command("store")
def bench_store(
    people: int = typer.Option(3000, help="people in the sample history"),
    batch: int = typer.Option(500, help="engagement events per application call"),
    floor_events: int = typer.Option(3000, help="saves for the raw floor"),
    postgres: str = typer.Option(PG, help="PostgreSQL URL to measure too ('' to skip)"),
    out: Path = OUT,
) -> None:
    """Engagement events/s through the application on SQLite and PostgreSQL."""
    _emit(timed("store", partial(_store, people, batch, floor_events, postgres)), out)


@bench_app.command("ingest")
def bench_ingest(
    events: int = typer.Option(30000, help="engagement records for the throughput run"),
    people: int = typer.Option(5000, help="distinct people among them"),
    rate: int = typer.Option(1000, help="records/s for the latency run"),
    seconds: int = typer.Option(10, help="length of the latency run"),
    out: Path = OUT,
) -> None:
    """Engagement events/s end to end and topic->stored latency, beside raw Kafka floors."""
    _emit(timed("ingest", partial(_ingest, events, people, rate, seconds)), out)


@bench_app.command("e2e")
def bench_e2e(
    events: int = typer.Option(30000, help="engagement records for the throughput run"),
    people: int = typer.Option(5000, help="distinct people among them"),
    rate: int = typer.Option(1000, help="records/s for the latency run"),
    seconds: float = typer.Option(10, help="length of the latency run"),
    out: Path = OUT,
) -> None:
    """Published -> visible in the read models, real processes: events/s and p50/p95/p99."""
    _emit(timed("e2e", partial(_e2e, events, people, rate, seconds)), out)


@bench_app.command("rebuild")
def bench_rebuild(
    engagements: int = typer.Option(60000, help="engagement events to store first"),
    people: int = typer.Option(10000),
    out: Path = OUT,
) -> None:
    """Events/s of a full read-model rebuild, beside reading the store without projecting."""
    _emit(timed("rebuild", partial(_rebuild, engagements, people)), out)


@bench_app.command("queries")
def bench_queries(
    leads: int = typer.Option(1_000_000, help="leads in the read models"),
    repeat: int = typer.Option(100, help="runs of each query (p99 is the second slowest of 100)"),
    out: Path = OUT,
) -> None:
    """p50/p99 of funnel, rates and ROI, with and without filters and as_of."""
    _emit(timed("queries", partial(_queries, leads, repeat)), out)


@bench_app.command("rss")
def bench_rss(
    leads: int = typer.Option(1_000_000, help="new leads sent through the pipeline"),
    out: Path = OUT,
) -> None:
    """Resident memory of every process (broker, relay, consumers, projections, API)."""
    _emit(timed("rss", partial(_rss, leads)), out)


@bench_app.command("all")
def bench_all(
    quick: bool = typer.Option(False, help="tiny sizes: checks the machinery, not the speed"),
    leads: int | None = typer.Option(None, help="leads for rss and queries (default 1,000,000)"),
    skip: list[str] = typer.Option([], help=f"benchmark to skip, repeatable: {', '.join(NAMES)}"),
    postgres: str = typer.Option(PG, help="PostgreSQL URL for the store bench ('' to skip)"),
    out: Path = OUT,
) -> None:
    """Every benchmark in sequence, then summary.json + summary.png and the README rows.
    A skipped benchmark's figures are read back from its JSON in --out, with its date."""
    unknown = set(skip) - set(NAMES)
    if unknown:
        raise typer.BadParameter(
            f"unknown {sorted(unknown)}; choose from {NAMES}", param_hint="--skip"
        )
    q = quick
    n_leads = leads or (1000 if q else 1_000_000)
    # records, people, records/s and seconds of the latency run
    pipeline_sizes = (1000, 300, 500, 2) if q else (30000, 5000, 1000, 10)
    plan = {
        "store": partial(_store, 200 if q else 3000, 500, 200 if q else 3000, postgres),
        "ingest": partial(_ingest, *pipeline_sizes),
        "e2e": partial(_e2e, *pipeline_sizes),
        "rebuild": partial(_rebuild, 1000 if q else 60000, 300 if q else 10000),
        "queries": partial(_queries, n_leads, 2 if q else 100),
        "rss": partial(_rss, n_leads),
    }  # fmt: skip
    import json
    import os

    figs, runs = [], {}
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    for name, fn in plan.items():
        if name in skip:
            path = out / f"{name}.json"
            if not path.exists():
                console.print(f"[yellow]{name}: skipped, and no {path} to summarise[/]")
                continue
            results = json.loads(path.read_text())
            runs[name] = f"{results['machine']['when']} (earlier run, read from {path})"
        else:
            console.rule(f"bench {name}")
            step = timed(name, fn)
            _emit(step, out)
            results = step.results
            runs[name] = "this run"
        figs.extend(figures(name, results))
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    json_path, png_path = write_summary(figs, out, runs, load)
    table = Table(title="leadflow bench all — each figure beside its raw floor, same run")
    for col in ("figure", "leadflow", "raw floor", "ratio", "target"):
        table.add_column(col)
    for row in markdown_rows(figs)[2:]:
        table.add_row(*[c.strip() for c in row.strip("|").split("|")][:5])
    console.print(table)
    console.print(f"load average (1, 5, 15 min) start {load['start']}, end {load['end']}")
    console.print(f"wrote {json_path} and {png_path}\n\nREADME rows:")
    for row in markdown_rows(figs):
        console.print(row, markup=False, highlight=False, soft_wrap=True)
