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
