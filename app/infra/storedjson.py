"""The JSON of stored events decoded straight into the envelope's JSON values (CONTRACT 5),
for readers of many events (the relay, a rebuild) that skip the mapper's domain-event
objects: the store's transcodings (eventsourcing's and DateAsISO) become the text the
envelope carries, with no datetime, UUID or Decimal made only to be written back as text.
A value this decoder does not know raises `UnknownValue`: the caller lets the mapper decode.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

_CENT = Decimal("0.01")


class UnknownValue(Exception):
    """A stored value only the mapper reads exactly."""


def utc_text(iso: str) -> str:
    """The contract's UTC text of a stored datetime. The store writes `isoformat()`, so a
    UTC time is already canonical and only its offset changes (the common case, no parse)."""
    if iso.endswith("+00:00") and iso[10:11] == "T" and len(iso) in (25, 32):
        return iso[:-6] + "Z"
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat().replace("+00:00", "Z")


def uuid_text(hex32: str) -> str:
    h = hex32.lower()
    if len(h) != 32:
        return str(UUID(hex32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_TYPES: dict[str, Callable[[str], str]] = {
    "uuid_hex": uuid_text,
    "datetime_iso": utc_text,
    "decimal_str": lambda d: f"{Decimal(d).quantize(_CENT)}",
    "date_iso": lambda d: d,
}


def _hook(obj: dict[str, Any]) -> Any:
    # As JSONTranscoder._decode_obj: only a two-key object with both names is a transcoding.
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        convert = _TYPES.get(obj["_type_"])
        if convert is None or not isinstance(obj["_data_"], str):
            raise UnknownValue(obj["_type_"])
        return convert(obj["_data_"])
    return obj


DECODER = json.JSONDecoder(object_hook=_hook)
