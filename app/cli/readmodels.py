"""`leadflow project | rebuild | funnel | rates | roi | status`: read models on the CLI."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.table import Table

from leadflow.cli.bus import bootstrap_or_fail, topics_from_env
from leadflow.cli.common import EXIT_INVALID, console, fail, leadflow, print_json, run_domain

_NAMES = {
    "leads": "Lead",
    "opportunities": "Opportunity",
    "contacts": "Contact",
    "accounts": "Account",
    "spend": "Spend",
}


def project(bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers")) -> None:
    """Apply leadflow.*.events to the read models until SIGTERM."""
    from leadflow.projections.consumer import ProjectionConsumer, ProjectionSettings
    from leadflow.runtime import stop_on_signals

    stop = stop_on_signals()
    with leadflow() as lf:
        settings = ProjectionSettings(
            bootstrap=bootstrap_or_fail(bootstrap), topics=topics_from_env()
        )
        ProjectionConsumer(lf.store, settings).run(stop)


def rebuild(
    name: str | None = typer.Argument(
        None, help=f"one read model ({', '.join(_NAMES)}); all when omitted"
    ),
) -> None:
    """Rebuild read models from the event store and swap them in atomically."""
    from leadflow.projections.rebuild import rebuild as do_rebuild

    if name is not None and name not in _NAMES:
        raise fail(f"unknown read model {name!r}; one of {', '.join(_NAMES)}", EXIT_INVALID)
    with leadflow() as lf:
        types = (_NAMES[name],) if name else tuple(_NAMES.values())
        result = do_rebuild(lf.store, types)
        console.print(
            f"rebuilt {', '.join(types)}: {result['events']} events in "
            f"{result['seconds']:.2f}s ({result['events_per_s']:,.0f} events/s)"
        )


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    if not rows:
        return table
    for col in rows[0]:
        table.add_column(col, justify="right" if col != "key" and col != "stage" else "left")
    for row in rows:
        table.add_row(
            *(
                "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
                for v in row.values()
            )
        )
    return table


def _cohort(
    lf: Any,
    from_: str | None,
    to: str | None,
    source: str | None,
    campaign: str | None,
    owner: str | None,
    as_of: str | None,
) -> Any:
    from leadflow.api.analytics import cohort

    return run_domain(lambda: cohort(lf, from_, to, source, campaign, owner, as_of))


FROM = typer.Option(None, "--from", help="cohort start (date or time)")
TO = typer.Option(None, "--to", help="cohort end, exclusive")
AS_OF = typer.Option(None, "--as-of", help="business time to look from (default now)")


def funnel(
    from_: str | None = FROM,
    to: str | None = TO,
    source: str | None = None,
    campaign: str | None = None,
    owner: str | None = None,
    as_of: str | None = AS_OF,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The funnel: counts, rates, median days, stuck and dropped per stage."""
    from leadflow.projections import analytics

    with leadflow() as lf:
        result = analytics.funnel(
            lf.store.side, _cohort(lf, from_, to, source, campaign, owner, as_of)
        )
        print_json(result) if as_json else console.print(_table("Funnel", result["stages"]))


def rates(
    by: str = "source",
    from_: str | None = FROM,
    to: str | None = TO,
    source: str | None = None,
    campaign: str | None = None,
    owner: str | None = None,
    as_of: str | None = AS_OF,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Conversion rates by source, campaign, owner or month."""
    from leadflow.api.analytics import RATE_KEYS, _choice
    from leadflow.projections import analytics

    with leadflow() as lf:
        key = run_domain(lambda: _choice(by, RATE_KEYS, "by"))
        result = analytics.conversion_rates(
            lf.store.side, _cohort(lf, from_, to, source, campaign, owner, as_of), key
        )
        print_json(result) if as_json else console.print(
            _table(f"Conversion rates by {by}", result["rows"])
        )


def roi(
    by: str = "source",
    from_: str | None = FROM,
    to: str | None = TO,
    source: str | None = None,
    campaign: str | None = None,
    as_of: str | None = AS_OF,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Lead-source ROI (first-touch) by source or campaign."""
    from leadflow.api.analytics import ROI_KEYS, _choice
    from leadflow.projections import analytics

    with leadflow() as lf:
        key = run_domain(lambda: _choice(by, ROI_KEYS, "by"))
        result = analytics.roi(
            lf.store.side, _cohort(lf, from_, to, source, campaign, None, as_of), key
        )
        print_json(result) if as_json else console.print(_table(f"ROI by {by}", result["rows"]))


def status(bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers")) -> None:
    """Lags of the relay, the inbound consumers and the projections."""
    from leadflow.status import status as get_status

    with leadflow() as lf:
        boot = bootstrap or os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
        result = get_status(lf.store, boot, topics_from_env())
        table = Table(title=f"leadflow status (broker {boot or 'none'})")
        for col in ("part", "position", "lag"):
            table.add_column(col)
        table.add_row("relay", str(result["relay"]["position"]), str(result["relay"]["lag"]))
        for p in result["projections"]:
            table.add_row(f"projection {p['name']}", str(p["position"]), str(p["lag"]))
        for c in result["consumers"]:
            table.add_row(f"consumer {c['group']}", "-", str(c["lag"]))
        console.print(table)
