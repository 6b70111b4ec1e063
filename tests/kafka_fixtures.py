"""Pytest plugin: one Kafka broker per test session, and fresh topic / group names per test.

Registered from tests/conftest.py with ``pytest_plugins = ["tests.kafka_fixtures"]``.

The broker is, in order of preference: the one at ``$LEADFLOW_KAFKA_BOOTSTRAP``; a
testcontainers Kafka when a Docker engine answers; else the embedded Tansu broker
(memory only, see ``leadflow.infra.broker`` for how it differs from Kafka).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from leadflow.infra.broker import EmbeddedBroker, ensure_topics, wait_for_broker

BOOTSTRAP_ENV = "LEADFLOW_KAFKA_BOOTSTRAP"

#: Consumer settings that keep tests fast. A group join waits about half the session
#: timeout; 6000 ms is the smallest real Kafka accepts (group.min.session.timeout.ms).
FAST_CONSUMER: dict[str, Any] = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "fetch_max_wait_ms": 10,
    "consumer_timeout_ms": 5000,
    "auto_offset_reset": "earliest",
    "enable_auto_commit": False,
}


class TopicFactory(Protocol):
    def __call__(self, prefix: str = "topic", partitions: int = 3) -> str: ...


def _docker_answers(timeout: float = 2.0) -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, engine down: all mean "no Docker"
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a Kafka-compatible broker that lives for the whole session."""
    if bootstrap := os.environ.get(BOOTSTRAP_ENV):
        wait_for_broker(bootstrap, timeout=30)
        yield bootstrap
    elif _docker_answers():
        try:
            from testcontainers.community.kafka import KafkaContainer
        except ImportError:  # older testcontainers 4.x only has the top-level module
            from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            bootstrap = kafka.get_bootstrap_server()
            wait_for_broker(bootstrap, timeout=60)
            yield bootstrap
    else:
        with EmbeddedBroker() as broker:
            yield broker.bootstrap


@pytest.fixture
def kafka_consumer_settings() -> dict[str, Any]:
    """A fresh copy of :data:`FAST_CONSUMER`, to pass as ``KafkaConsumer(**settings)``."""
    return dict(FAST_CONSUMER)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("orders")`` -> ``"orders-<test name>-<uuid>"``, legal as topic or group id."""
    test = re.sub(r"[^a-zA-Z0-9._-]+", "_", request.node.name)[:60]

    def make(prefix: str) -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture
def fresh_topic_factory(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> TopicFactory:
    """Creates a new, empty topic on the session broker and returns its name."""

    def make(prefix: str = "topic", partitions: int = 3) -> str:
        topic = unique_name(prefix)
        ensure_topics(kafka_bootstrap, [topic], partitions=partitions)
        return topic

    return make
