"""The outbound envelope of a stored domain event (CONTRACT 5)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

SCHEMA_VERSION = 1
_EVENT_NS = uuid5(NAMESPACE_URL, "urn:leadflow:event")
_INTERNAL = {"originator_id", "originator_version", "timestamp", "originator_topic", "audit"}


def event_id(aggregate_id: UUID, version: int) -> str:
    """Stable across every re-publication of the same stored event."""
    return str(uuid5(_EVENT_NS, f"{aggregate_id}:{version}"))


def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_json_value(v) for v in value)
    return value


@dataclass(frozen=True)
class OutboundRecord:
    topic_aggregate: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def aggregate_type_of(event: Any) -> str:
    return type(event).__qualname__.split(".")[0]


def envelope(event: Any, position: int) -> dict[str, Any]:
    state = dict(vars(event))
    aggregate_type = aggregate_type_of(event)
    aggregate_id: UUID = state["originator_id"]
    version: int = state["originator_version"]
    recorded_at: datetime = state["timestamp"]
    payload = {k: to_json_value(v) for k, v in state.items() if k not in _INTERNAL}
    payload[f"{aggregate_type.lower()}_id"] = str(aggregate_id)
    audit = state.get("audit") or {}
    causation = payload.get("event_id")
    return {
        "event_id": event_id(aggregate_id, version),
        "type": type(event).__name__,
        "schema_version": SCHEMA_VERSION,
        "aggregate_type": aggregate_type,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": version,
        "position": position,
        "occurred_at": to_json_value(state.get("occurred_at") or recorded_at),
        "recorded_at": to_json_value(recorded_at),
        "causation_id": causation or audit.get("idempotency_key"),
        "actor": audit.get("actor"),
        "payload": payload,
    }


def outbound(event: Any, position: int) -> OutboundRecord:
    env = envelope(event, position)
    return OutboundRecord(
        topic_aggregate=env["aggregate_type"],
        key=env["aggregate_id"].encode(),
        value=json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode(),
        headers=[
            ("event_type", env["type"].encode()),
            ("schema_version", str(SCHEMA_VERSION).encode()),
        ],
    )
