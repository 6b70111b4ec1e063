"""The `leadflow` command line (typer + rich). Entry points stay thin: they call use cases."""

from __future__ import annotations

import typer

from leadflow.cli.api import api
from leadflow.cli.bench import bench_app
from leadflow.cli.bus import consume, publish, relay
from leadflow.cli.demo import demo
from leadflow.cli.erase import erase
from leadflow.cli.keys import keys_app
from leadflow.cli.leads import lead_app, opportunity_app
from leadflow.cli.load import load
from leadflow.cli.readmodels import funnel, project, rates, rebuild, roi, status
from leadflow.cli.simulate import simulate
from leadflow.cli.tail import tail
from leadflow.cli.up import up
from leadflow.logs import configure

app = typer.Typer(
    name="leadflow",
    help="Event-sourced lead management: capture, scoring, conversion and analytics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("up")(up)
app.command("api")(api)
app.command("load")(load)
app.command("tail")(tail)
for _name, _fn in (
    ("project", project),
    ("rebuild", rebuild),
    ("funnel", funnel),
    ("rates", rates),
    ("roi", roi),
    ("status", status),
):
    app.command(_name)(_fn)
app.command("demo")(demo)
app.command("simulate")(simulate)
app.command("erase")(erase)
app.command("relay")(relay)
app.command("consume")(consume)
app.command("publish")(publish)
app.add_typer(lead_app, name="lead")
app.add_typer(opportunity_app, name="opportunity")
app.add_typer(bench_app, name="bench")
app.add_typer(keys_app, name="keys")


@app.callback()
def _setup() -> None:
    import os

    configure(os.environ.get("LEADFLOW_LOG_FORMAT", "console"))


def main() -> None:
    app()
