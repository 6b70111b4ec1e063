"""`leadflow tail`: print domain events as they are published (CONTRACT 5)."""

from __future__ import annotations

import threading
import uuid

import typer
from kafka.errors import KafkaError
from rich.json import JSON
from rich.markup import escape

from leadflow.cli.common import EXIT_CONFIG, EXIT_INVALID, console, fail
from leadflow.producers.envelope import to_json_value
from leadflow.subscribe import ANY_TYPE, Envelope, Subscriber, stop_on_signals
from leadflow.topics import Topics

BOOTSTRAP_ENV = "LEADFLOW_KAFKA_BOOTSTRAP"


def tail(
    type: list[str] | None = typer.Option(
        None, "--type", "-t", help="only these event types (repeatable); default every type"
    ),
    bootstrap: str | None = typer.Option(
        None, envvar=BOOTSTRAP_ENV, help="Kafka bootstrap host:port"
    ),
    prefix: str = typer.Option("", help="topic prefix, as the producing leadflow uses"),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="start at the oldest event instead of new ones only"
    ),
    max: int | None = typer.Option(None, "--max", min=1, help="stop after this many events"),
) -> None:
    """Print envelopes from every leadflow.*.events topic as they arrive, until Ctrl-C."""
    if not bootstrap:
        raise fail(f"no Kafka bootstrap: pass --bootstrap HOST:PORT or set {BOOTSTRAP_ENV}",
                   EXIT_CONFIG)  # fmt: skip
    if type is not None and ANY_TYPE in type:
        raise fail(f"--type {ANY_TYPE!r} is not a type; leave --type out for every type",
                   EXIT_INVALID)  # fmt: skip
    # A group of its own: tailing must never move the offsets of a real subscriber.
    sub = Subscriber(
        bootstrap, f"leadflow-tail-{uuid.uuid4().hex[:12]}", topics=Topics(prefix).domain_events,
        start="earliest" if from_beginning else "latest",
    )  # fmt: skip
    stop = threading.Event()
    printed = 0

    def show(_payload: object, envelope: Envelope) -> None:
        nonlocal printed
        what = escape(f"{envelope.aggregate_type} {envelope.aggregate_id}")
        console.print(
            f"[dim]{to_json_value(envelope.occurred_at)}[/] [bold cyan]{escape(envelope.type)}[/] "
            f"{what} [dim]v{envelope.aggregate_version} #{envelope.position}[/]",
            highlight=False,
        )
        # The payload as sent, not as a model parsed it: tail is for looking at the wire.
        console.print(JSON.from_data(envelope.payload))
        printed += 1
        if max is not None and printed >= max:
            stop.set()

    for name in type or [ANY_TYPE]:
        sub.on(name, show)
    with stop_on_signals(stop):
        try:
            sub.run(stop)
        except KafkaError as e:
            raise fail(f"Kafka at {bootstrap}: {e}", EXIT_CONFIG) from None
