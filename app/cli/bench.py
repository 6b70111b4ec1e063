"""`leadflow bench ...`: benchmarks, JSON + PNG under bench-results/, never timed tests."""

from __future__ import annotations

from pathlib import Path

import typer

from leadflow.cli.common import console

bench_app = typer.Typer(help="Benchmarks (JSON + PNG under bench-results/).", no_args_is_help=True)


@bench_app.command("store")
def bench_store(
    people: int = typer.Option(3000, help="people in the sample history"),
    batch: int = typer.Option(500, help="engagement events per application call"),
    floor_events: int = typer.Option(3000, help="saves for the raw floor"),
    postgres: str | None = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL to measure too ('' to skip)",
    ),
    out: Path = typer.Option(Path("bench-results")),
) -> None:
    """Engagement events/s through the application on SQLite and PostgreSQL."""
    from leadflow.benchmarks import report, store

    dbs = {"sqlite": store.sqlite_db}
    if postgres:
        dbs["postgres"] = store.postgres_db(postgres)
    results = store.run(dbs, people, batch, floor_events)
    bars: dict[str, float] = {}
    for name, r in results.items():
        bars[f"{name} raw floor (1 event/save)"] = r["raw_floor_events_per_s"]
        bars[f"{name} engagement events/s"] = r["engagements_per_s"]
        bars[f"{name} stored events/s"] = r["stored_events_per_s"]
        console.print(
            f"{name}: {r['engagements_per_s']:,.0f} engagement events/s "
            f"({r['stored_events_per_s']:,.0f} stored events/s); raw floor "
            f"{r['raw_floor_events_per_s']:,.0f} events/s; ratio "
            f"{r['ratio_engagements_to_floor']:.2f}"
        )
    json_path, png_path = report.write("store", {"results": results}, bars, "per second", out)
    console.print(f"wrote {json_path} and {png_path}")


@bench_app.command("ingest")
def bench_ingest(
    events: int = typer.Option(30000, help="engagement records for the throughput run"),
    people: int = typer.Option(5000, help="distinct people among them"),
    rate: int = typer.Option(1000, help="records/s for the latency run"),
    seconds: int = typer.Option(10, help="length of the latency run"),
    out: Path = typer.Option(Path("bench-results")),
) -> None:
    """Engagement events/s end to end and topic->stored latency, beside raw Kafka floors."""
    from leadflow.benchmarks import ingest, report

    r = ingest.run(events, people, rate, seconds)
    e2e, lat = r["end_to_end"], r["latency"]
    console.print(
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
    json_path, png_path = report.write("ingest", r, bars, "records per second", out)
    console.print(f"wrote {json_path} and {png_path}")


@bench_app.command("rebuild")
def bench_rebuild(
    engagements: int = typer.Option(60000, help="engagement events to store first"),
    people: int = typer.Option(10000),
    out: Path = typer.Option(Path("bench-results")),
) -> None:
    """Events/s of a full read-model rebuild, beside reading the store without projecting."""
    from leadflow.benchmarks import readmodels, report

    r = readmodels.bench_rebuild(engagements, people)
    console.print(
        f"rebuild {r['rebuild_events_per_s']:,.0f} events/s; raw read floor "
        f"{r['raw_floor_read_events_per_s']:,.0f} events/s; ratio {r['ratio_to_floor']:.2f}"
    )
    bars = {
        "raw floor: read + decode store events": r["raw_floor_read_events_per_s"],
        "leadflow rebuild": r["rebuild_events_per_s"],
    }
    json_path, png_path = report.write("rebuild", r, bars, "events per second", out)
    console.print(f"wrote {json_path} and {png_path}")


@bench_app.command("queries")
def bench_queries(
    leads: int = typer.Option(1_000_000, help="leads in the read models"),
    repeat: int = typer.Option(20, help="runs of each query"),
    out: Path = typer.Option(Path("bench-results")),
) -> None:
    """p50/p99 of funnel, rates and ROI, with and without filters and as_of."""
    from leadflow.benchmarks import readmodels, report

    r = readmodels.bench_queries(leads, repeat)
    bars = {"raw floor: one full scan of leads (ms)": r["raw_floor_full_scan_ms"]}
    for key, value in r.items():
        if isinstance(value, dict):
            console.print(f"{key}: p50 {value['p50_ms']:.1f} ms, p99 {value['p99_ms']:.1f} ms")
            bars[f"{key} p99 (ms)"] = value["p99_ms"]
    json_path, png_path = report.write("queries", r, bars, "milliseconds (lower is better)", out)
    console.print(f"wrote {json_path} and {png_path}")
