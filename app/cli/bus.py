"""`leadflow relay`, `leadflow consume`, `leadflow publish`: the Kafka side, one process each."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from kafka import KafkaProducer

from leadflow.cli.common import EXIT_CONFIG, EXIT_INVALID, console, err_console, fail, leadflow
from leadflow.cli.load import read_lines
from leadflow.infra.broker import ensure_topics
from leadflow.runtime import stop_on_signals
from leadflow.topics import Topics


def bootstrap_or_fail(bootstrap: str | None) -> str:
    value = bootstrap or os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
    if not value:
        raise fail("no broker: set LEADFLOW_KAFKA_BOOTSTRAP or pass --bootstrap", EXIT_CONFIG)
    return value


def topics_from_env() -> Topics:
    return Topics(prefix=os.environ.get("LEADFLOW_TOPIC_PREFIX", ""))


def relay(bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers")) -> None:
    """Publish stored domain events to the leadflow.*.events topics until SIGTERM."""
    from leadflow.producers.relay import Relay, RelaySettings

    stop = stop_on_signals()
    with leadflow() as lf:
        settings = RelaySettings(
            bootstrap=bootstrap_or_fail(bootstrap),
            topics=topics_from_env(),
            partitions=lf.settings.topic_partitions or lf.config.topic_partitions,
        )
        Relay(lf.store, settings).run(stop)


def consume(
    kind: str = typer.Argument(help="engagement or spend"),
    bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers"),
) -> None:
    """Consume an inbound topic into leadflow until SIGTERM (finishes the batch in hand)."""
    from leadflow.consumers.inbound import InboundOptions, engagement_consumer, spend_consumer

    if kind not in ("engagement", "spend"):
        raise fail("KIND must be engagement or spend", EXIT_INVALID)
    stop = stop_on_signals()
    # This process writes every aggregate it reads, so it may trust its cache (see Store).
    with leadflow(sole_writer_cache=True) as lf:
        boot = bootstrap_or_fail(bootstrap)
        topics = topics_from_env()
        ensure_topics(boot, topics.all, lf.settings.topic_partitions or lf.config.topic_partitions)
        opts = InboundOptions(boot, topics)
        make = engagement_consumer if kind == "engagement" else spend_consumer
        make(lf, opts).run(stop)


def publish(
    path: Path = typer.Argument(help="a JSON Lines file, one record per line"),
    topic: str = typer.Option("engagement", help="engagement or spend"),
    bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers"),
) -> None:
    """Publish a JSON Lines file to marketing.engagement or marketing.spend, as a sender
    would: keyed by normalised email (engagement) or source (spend). Lines that are not
    JSON objects are published too and will be dead-lettered with a reason."""
    if topic not in ("engagement", "spend"):
        raise fail("--topic must be engagement or spend", EXIT_INVALID)
    boot = bootstrap_or_fail(bootstrap)
    topics = topics_from_env()
    ensure_topics(boot, topics.all)
    name = topics.engagement if topic == "engagement" else topics.spend
    producer = KafkaProducer(
        bootstrap_servers=boot, acks="all", enable_idempotence=True, linger_ms=10
    )
    sent = unkeyed = 0
    try:
        for _, raw in read_lines(path):
            key = None
            try:
                data = json.loads(raw)
                field = "email" if topic == "engagement" else "source"
                if isinstance(data, dict) and isinstance(data.get(field), str):
                    # Senders key engagement by normalised email, spend by source as given.
                    value = data[field]
                    key = (value.strip().lower() if topic == "engagement" else value).encode()
            except ValueError:
                pass
            unkeyed += key is None
            producer.send(name, key=key, value=raw)
            sent += 1
        producer.flush()
    finally:
        producer.close(timeout=10)
    console.print(f"published {sent} record(s) to {name}")
    if unkeyed:
        err_console.print(f"{unkeyed} record(s) had no usable key; they will likely be rejected")
