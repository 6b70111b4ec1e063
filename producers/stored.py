"""Outbound records straight from stored events, for the relay.

Most stored events carry no personal field (engagements without names, scores, assignments):
their JSON is decoded directly into the envelope's JSON values (CONTRACT 5), with no domain-event
object and no datetime, UUID or Decimal made only to be turned back into text. The record is
the one `envelope.outbound` makes from the decoded event, byte for byte. An event this decoder
cannot read exactly (an encrypted field to open, an older class version to upcast, a stored
type it does not know) goes through the application's mapper and `outbound`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from leadflow.infra.crypto import PII
from leadflow.producers.envelope import INTERNAL, OutboundRecord, assemble, outbound, record_of

_MARK = PII.encode()
_CENT = Decimal("0.01")


class _Unknown(Exception):
    """Something only the mapper reads exactly."""


def _utc_text(iso: str) -> str:
    """`to_json_value` of a stored datetime. The store writes `isoformat()`, so a UTC time
    needs only its offset written as Z (the common case, no parsing)."""
    if iso.endswith("+00:00") and iso[10:11] == "T" and len(iso) in (25, 32):
        return iso[:-6] + "Z"
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _uuid_text(hex32: str) -> str:
    return str(UUID(hex32))


# Stored transcodings (eventsourcing's and the store's DateAsISO) -> their envelope text.
_TYPES: dict[str, Callable[[str], str]] = {
    "uuid_hex": _uuid_text,
    "datetime_iso": _utc_text,
    "decimal_str": lambda d: f"{Decimal(d).quantize(_CENT)}",
    "date_iso": lambda d: d,
}


def _hook(obj: dict[str, Any]) -> Any:
    # As JSONTranscoder._decode_obj: only a two-key object with both names is a transcoding.
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        convert = _TYPES.get(obj["_type_"])
        if convert is None or not isinstance(obj["_data_"], str):
            raise _Unknown(obj["_type_"])
        return convert(obj["_data_"])
    return obj


_decoder = json.JSONDecoder(object_hook=_hook)


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
        state: dict[str, Any] = _decoder.decode(stored.state.decode("utf8"))
    except _Unknown:
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
