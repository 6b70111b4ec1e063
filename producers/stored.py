"""Outbound records straight from stored events, for the relay.

Most stored events carry no personal field (engagements without names, scores, assignments):
their JSON is decoded directly into the envelope's JSON values (CONTRACT 5), with no domain-event
object and no datetime, UUID or Decimal made only to be turned back into text. The record is
the one `envelope.outbound` makes from the decoded event, byte for byte. An event this decoder
cannot read exactly (an encrypted field to open, an older class version to upcast, a stored
type it does not know) goes through the application's mapper and `outbound`.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from leadflow.infra.crypto import PII
from leadflow.infra.storedjson import DECODER, UnknownValue
from leadflow.producers.envelope import INTERNAL, OutboundRecord, assemble, outbound, record_of

_MARK = PII.encode()




@cache
def _kind(topic: str) -> tuple[str, str, int]:
    """(event type, aggregate type, class version) of a stored topic."""
    cls = resolve_topic(topic)
    return cls.__name__, cls.__qualname__.split(".")[0], getattr(cls, "class_version", 1)


def _aggregate_text(originator_id: Any) -> str:
    return str(originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id)))


def direct(stored: StoredEvent, position: int) -> OutboundRecord | None:
    """The record decoded straight from the stored JSON, or None if the mapper must decode."""
    if _MARK in stored.state:
        return None
    event_type, aggregate_type, class_version = _kind(stored.topic)
    try:
        state: dict[str, Any] = DECODER.decode(stored.state.decode("utf8"))
    except UnknownValue:
        return None
    if state.pop("class_version", 1) != class_version:
        return None
    recorded_at = state["timestamp"]
    return record_of(
        assemble(
            event_type,
            aggregate_type,
            _aggregate_text(stored.originator_id),
            stored.originator_version,
            position,
            {k: v for k, v in state.items() if k not in INTERNAL},
            state.get("occurred_at") or recorded_at,
            recorded_at,
            state.get("audit") or {},
        )
    )


def outbound_stored(stored: StoredEvent, position: int, mapper: Mapper[UUID]) -> OutboundRecord:
    return direct(stored, position) or outbound(mapper.to_domain_event(stored), position)
