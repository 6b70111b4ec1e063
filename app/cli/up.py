"""`leadflow up`: everything on one machine, with live progress and a clean Ctrl-C."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table

from leadflow.cli.api import check_listen
from leadflow.cli.common import console, leadflow
from leadflow.infra.broker import EmbeddedBroker, ensure_topics, high_watermarks
from leadflow.runtime import stop_on_signals
from leadflow.status import status
from leadflow.supervisor import Supervisor
from leadflow.topics import Topics

EMBEDDED_WARNING = (
    "[yellow]The embedded broker keeps nothing across restarts: inbound records it held but "
    "had not delivered are lost with it. Stored leads are safe (the relay republishes them). "
    "For production point LEADFLOW_KAFKA_BOOTSTRAP at real Kafka (see docker-compose.yml).[/]"
)


def _counters(lf: Any, bootstrap: str, topics: Topics) -> dict[str, Any]:
    side = lf.store.side
    leads = side.query("SELECT COUNT(*) FROM {people} WHERE kind = ?", ("lead",))[0][0]
    out: dict[str, Any] = {"stored events": lf.store.max_position(), "leads": leads}
    try:
        dlq = high_watermarks(bootstrap, [topics.engagement_dlq, topics.spend_dlq], timeout=2)
        out["dead-lettered"] = sum(dlq.values())
        ins = high_watermarks(bootstrap, [topics.engagement, topics.spend], timeout=2)
        out["inbound records"] = sum(ins.values())
        lags = status(lf.store, bootstrap, topics)
        out["relay lag"] = lags["relay"]["lag"]
        out["consumer lag"] = sum(c["lag"] for c in lags["consumers"])
        out["projection lag"] = sum(p["lag"] for p in lags["projections"])
    except Exception as e:  # the broker may be restarting; show it rather than die
        out["broker"] = f"unavailable ({type(e).__name__})"
    return out


def _view(sup: Supervisor, counters: dict[str, Any], bootstrap: str) -> Group:
    parts = Table(title=f"leadflow up — broker {bootstrap}", expand=False)
    for col in ("part", "state", "pid", "restarts", "log"):
        parts.add_column(col)
    for p in sup.parts:
        pid = str(p.process.pid) if p.process else "-"
        parts.add_row(p.name, p.state, pid, str(p.restarts), str(p.log_path or "-"))
    numbers = Table(title="live counters", show_header=False)
    for k, v in counters.items():
        numbers.add_row(k, str(v))
    return Group(parts, numbers, "[dim]Ctrl-C stops every part cleanly[/]")


def up(refresh: float = typer.Option(2.0, help="seconds between progress updates")) -> None:
    """Broker (embedded unless LEADFLOW_KAFKA_BOOTSTRAP), relay, consumers, projections, API."""
    stop = stop_on_signals()
    bootstrap = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
    broker: EmbeddedBroker | None = None
    with leadflow() as lf:
        console.print(f"[bold]leadflow[/] data: {lf.settings.database.describe()}")
        keyed = check_listen(lf)  # before anything starts: off loopback, no keys, no start
        if not bootstrap:
            console.print("starting the embedded broker ...")
            broker = EmbeddedBroker(port=int(os.environ.get("LEADFLOW_BROKER_PORT", "0")))
            broker.start()
            bootstrap = broker.bootstrap
            console.print(EMBEDDED_WARNING)
        topics = Topics(prefix=os.environ.get("LEADFLOW_TOPIC_PREFIX", ""))
        partitions = lf.settings.topic_partitions or lf.config.topic_partitions
        ensure_topics(bootstrap, topics.all, partitions)
        console.print(f"topics ready on {bootstrap} ({partitions} partitions)")
        settings = lf.settings
        console.print(
            f"API on http://{settings.http_host}:{settings.http_port}/ (docs at /docs): "
            + ("API keys required" if keyed else "[yellow]open, no API keys (loopback only)[/]")
        )
        env = {**os.environ, "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap, "LEADFLOW_LOG_FORMAT": "json"}
        sup = Supervisor(env=env, log_dir=lf.settings.data_dir / "logs")
        sup.add("relay", "relay")
        sup.add("engagement-consumer", "consume", "engagement")
        sup.add("spend-consumer", "consume", "spend")
        sup.add("projections", "project")
        sup.add("api", "api")
        sup.start()
        try:
            with Live(console=console, refresh_per_second=4, transient=False) as live:
                while not stop.is_set():
                    sup.watch()
                    live.update(_view(sup, _counters(lf, bootstrap, topics), bootstrap))
                    stop.wait(refresh)
        finally:
            console.print("stopping ...")
            sup.stop()
            if broker is not None:
                broker.stop()
            console.print("stopped cleanly")
