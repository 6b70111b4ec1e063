"""`leadflow simulate [--check]`: a seeded organisation through the public contract, and
its ground truth compared with every read model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from leadflow.simulate.rules import SimulationError

DEFAULT_TRUTH = Path("leadflow-data/simulation/truth.json")
EXIT_DIFFERENT, EXIT_NOT_CURRENT = 1, 2
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def simulate(
    check: bool = typer.Option(
        False, "--check", help="compare leadflow's read models with the truth"
    ),
    seed: int = typer.Option(1, help="the same seed gives the same world and truth"),
    days: int = typer.Option(30, min=1, help="simulated days"),
    leads_per_day: int = typer.Option(40, min=1, help="new people per day (on average)"),
    api: str = typer.Option("http://127.0.0.1:8000", help="leadflow's HTTP API"),
    bootstrap: str | None = typer.Option(
        None, help="Kafka bootstrap (default LEADFLOW_KAFKA_BOOTSTRAP, else the API's /status)"
    ),
    api_key: str | None = typer.Option(None, help="API key (default LEADFLOW_API_KEY)"),
    truth: Path = typer.Option(DEFAULT_TRUTH, help="where the ground truth is written or read"),
    topic_prefix: str | None = typer.Option(
        None, help="topic prefix (default LEADFLOW_TOPIC_PREFIX)"
    ),
    rate: float | None = typer.Option(None, min=0.1, help="max engagement records/s published"),
    wait: float = typer.Option(120.0, min=0, help="--check: seconds to wait for all lags 0"),
) -> None:
    """Play a seeded marketing organisation into leadflow and write its ground truth; with
    --check, compare every read model with it (exit 1 on differences, 2 if never current)."""
    try:
        if check:
            _check(truth, api, api_key, bootstrap, wait)
        else:
            _simulate(
                seed,
                days,
                leads_per_day,
                api,
                bootstrap,
                api_key,
                truth,
                topic_prefix
                if topic_prefix is not None
                else os.environ.get("LEADFLOW_TOPIC_PREFIX", ""),
                rate,
            )
    except SimulationError as e:
        raise _fail(str(e)) from None


def _simulate(
    seed: int,
    days: int,
    leads_per_day: int,
    api_url: str,
    bootstrap: str | None,
    api_key: str | None,
    truth_path: Path,
    prefix: str,
    rate: float | None,
) -> None:
    from leadflow.simulate import truth as truth_mod
    from leadflow.simulate.client import Api
    from leadflow.simulate.run import stream
    from leadflow.simulate.world import generate

    world = generate(seed, days, leads_per_day)
    expected = truth_mod.compute(world)
    expected["topic_prefix"] = prefix
    # Written first: a run killed half-way is resumed by running it again, and the truth
    # it will reach is already known.
    truth_mod.write(expected, truth_path)
    boot = bootstrap or os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
    if not boot:
        with Api(api_url, api_key) as a:
            boot = a.status().get("kafka_bootstrap")
        if not boot:
            raise SimulationError("no broker: pass --bootstrap or set LEADFLOW_KAFKA_BOOTSTRAP")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"simulating {days} days", total=days)
        report = stream(
            world,
            boot,
            api_url,
            api_key=api_key,
            topic_prefix=prefix,
            rate=rate,
            progress=lambda _: progress.advance(task),
        )
    table = Table(title=f"simulation {world.run_id} → {truth_path}", show_header=False)
    for k, v in expected["counts"].items():
        table.add_row(k, str(v))
    table.add_row("records published (with retries)", str(report.published))
    table.add_row("records sent again after a stall", str(report.republished))
    table.add_row("commands sent / refused as expected", f"{report.commands} / {report.refused}")
    table.add_row("unexpected answers", str(len(report.unexpected)))
    console.print(table)
    if report.unexpected:
        for line in report.unexpected[:20]:
            err_console.print(f"[red]unexpected:[/] {line}")
        raise typer.Exit(EXIT_DIFFERENT)
    console.print(f"next: [bold]leadflow simulate --check --truth {truth_path}[/]")


def _check(
    truth_path: Path, api_url: str, api_key: str | None, bootstrap: str | None, wait: float
) -> None:
    from leadflow.simulate import truth as truth_mod
    from leadflow.simulate.check import compare, wait_until_current
    from leadflow.simulate.client import Api

    expected: dict[str, Any] = truth_mod.read(truth_path)
    with Api(api_url, api_key, patience=max(wait, 5.0)) as a:
        if not wait_until_current(a, wait):
            raise _fail(
                f"leadflow did not become up to date (all lags 0) within {wait:.0f}s",
                EXIT_NOT_CURRENT,
            )
    differences = compare(expected, api_url, api_key, bootstrap=bootstrap)
    if not differences:
        console.print(
            f"[green]no differences[/]: {len(expected['queries'])} read-model queries,"
            f" {len(expected['leads'])} leads, DLQs"
        )
        return
    table = Table(title=f"{len(differences)} difference(s) from the truth")
    for col in ("where", "field", "expected", "actual"):
        table.add_column(col, overflow="fold")
    for d in differences[:200]:
        # Text, not markup: "stages[mql]" would otherwise read as a style tag.
        table.add_row(*(Text(x) for x in (d.where, d.field, repr(d.expected), repr(d.actual))))
    console.print(table)
    raise typer.Exit(EXIT_DIFFERENT)
