"""`GET /status` and `leadflow status`: how far behind each part is (CONTRACT 6).

All lags 0 means the read models include everything accepted: inbound records consumed,
stored events published, published events projected.
"""

from __future__ import annotations

from typing import Any

from kafka import TopicPartition

from leadflow.consumers.inbound import ENGAGEMENT_GROUP, SPEND_GROUP
from leadflow.infra.broker import group_lag, high_watermarks
from leadflow.infra.store import Store
from leadflow.projections import schema
from leadflow.projections.consumer import GROUP as PROJECTIONS_GROUP
from leadflow.topics import Topics


def projection_lag(store: Store, bootstrap: str, topics: Topics) -> tuple[int, int]:
    """(events applied, events published but not yet applied) for the projection group."""
    highs = high_watermarks(bootstrap, topics.domain_events, timeout=5)
    if not schema.exists(store.side, schema.table_names()[schema.POSITIONS]):
        return 0, sum(highs.values())
    rows = store.side.query(
        "SELECT topic, partition_no, next_offset FROM {rm_positions} WHERE consumer = ?",
        (PROJECTIONS_GROUP,), schema.table_names(),
    )
    applied = {TopicPartition(t, int(p)): int(o) for t, p, o in rows}
    lag = sum(max(0, high - applied.get(tp, 0)) for tp, high in highs.items())
    return sum(applied.values()), lag


def status(store: Store, bootstrap: str | None, topics: Topics) -> dict[str, Any]:
    stored = store.max_position()
    relay_position = store.side.position("relay")
    result: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "stored_events": stored,
        "relay": {"position": relay_position, "lag": max(0, stored - relay_position)},
        "projections": [],
        "consumers": [],
    }
    if not bootstrap:
        return result
    applied, lag = projection_lag(store, bootstrap, topics)
    result["projections"].append({"name": "read_models", "position": applied,
                                  "lag": lag + result["relay"]["lag"]})
    for group, topic in ((ENGAGEMENT_GROUP, topics.engagement), (SPEND_GROUP, topics.spend)):
        lags = group_lag(bootstrap, group, [topic], timeout=5)
        result["consumers"].append({"group": group, "topic": topic, "lag": sum(lags.values())})
    return result
