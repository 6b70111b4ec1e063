"""Reading stored events for a rebuild, fast: decode only what the read models need.

A rebuild reads every stored event, but most are engagement records and scores. Events no
handler takes are skipped without decoding; the rest are decoded from the stored JSON straight
into the envelope's shape (CONTRACT 5), without building domain-event objects. An event whose
state holds an encrypted personal field (`__pii__`) goes through the application's mapper,
which decrypts it, except engagement records: the read models take none of their personal
fields. Column-only changes (`set_` handlers) and first events run as batches of like
statements; the order of statements is kept, so version guards hold as they do live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.utils import resolve_topic

from leadflow.infra.sidetables import Tx
from leadflow.infra.store import Store
from leadflow.producers.envelope import envelope
from leadflow.projections.handlers import PROJECTIONS, Envelope, Projection

_PII = b"__pii__"
_CENT = Decimal("0.01")


class _Unknown(Exception):
    """A stored value this decoder does not know: let the mapper decode the event."""


def _z(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat().replace("+00:00", "Z")


_TYPES: dict[str, Callable[[str], str]] = {
    "uuid_hex": lambda d: str(UUID(d)),
    "datetime_iso": _z,
    "decimal_str": lambda d: f"{Decimal(d).quantize(_CENT)}",
    "date_iso": lambda d: d,
}


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        convert = _TYPES.get(obj["_type_"])
        if convert is None:
            raise _Unknown(obj["_type_"])
        return convert(obj["_data_"])
    return obj


_decoder = json.JSONDecoder(object_hook=_hook)


@cache
def _route(topic: str) -> tuple[str, str, Projection | None, bool]:
    """(aggregate type, event type, projection taking it or None, plain JSON decodable)."""
    qualname = topic.rpartition(":")[2]
    aggregate_type, _, event_type = qualname.partition(".")
    projection = PROJECTIONS.get(aggregate_type)
    if projection is not None and not (
        hasattr(projection, f"on_{event_type}") or hasattr(projection, f"set_{event_type}")
    ):
        projection = None
    plain = getattr(resolve_topic(topic), "class_version", 1) == 1 if projection else False
    return aggregate_type, event_type, projection, plain


def needed(topic: str, state: bytes) -> bool:
    """Whether a stored event changes any read model. Engagement records only matter when
    they opt a lead out. Skipping is safe: version guards only need order."""
    _, event_type, projection, _ = _route(topic)
    if projection is None:
        return False
    return event_type != "EngagementRecorded" or b"unsubscribed" in state


def decode(store: Store, n: Any) -> Envelope:
    """The envelope of a stored event (only what handlers read is certain to be there)."""
    aggregate_type, event_type, _, plain = _route(n.topic)
    if plain and (event_type == "EngagementRecorded" or _PII not in n.state):
        try:
            state: dict[str, Any] = _decoder.decode(n.state.decode("utf8"))
        except _Unknown:
            pass
        else:
            aggregate_id = str(n.originator_id)
            recorded_at = state.pop("timestamp", None)
            state.pop("originator_topic", None)
            state.pop("audit", None)
            state[f"{aggregate_type.lower()}_id"] = aggregate_id
            return {
                "type": event_type,
                "aggregate_type": aggregate_type,
                "aggregate_id": aggregate_id,
                "aggregate_version": n.originator_version,
                "position": n.id,
                "occurred_at": state.get("occurred_at") or recorded_at,
                "payload": state,
            }
    return envelope(store.app.mapper.to_domain_event(n), n.id)


class BatchingTx(Tx):
    """Runs like statements in a row as one executemany. Its `execute` defers and returns
    0, so it only serves handlers that ignore the row count (first events, `set_`)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._sql = ""
        self._rows: list[Sequence[Any]] = []

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        if statement != self._sql:
            self.flush()
            self._sql = statement
        self._rows.append(tuple(params))
        return 0

    def flush(self) -> None:
        if self._rows:
            self._tx.executemany(self._sql, self._rows)
        self._sql, self._rows = "", []


class _Columns:
    """`set_` changes not yet written, merged per row: in a build from the store every event
    comes once and in version order, so a row's run of column changes is one UPDATE with
    the last version (what the run of guarded UPDATEs leaves)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}

    def add(self, projection: Projection, env: Envelope, columns: dict[str, Any]) -> None:
        row = (projection.table, projection.key, env["aggregate_id"])
        merged = self.rows.get(row, (0, {}))[1]
        merged.update(columns)
        self.rows[row] = (env["aggregate_version"], merged)

    def flush(self, tx: Tx) -> None:
        statements: dict[str, list[tuple[Any, ...]]] = {}
        for (table, key, row_id), (version, columns) in self.rows.items():
            assignments = "".join(f", {c} = ?" for c in columns)
            sql = f"UPDATE {{{table}}} SET version = ?{assignments} WHERE {key} = ? AND version < ?"
            statements.setdefault(sql, []).append((version, *columns.values(), row_id, version))
        for sql, params in statements.items():
            tx.executemany(sql, params)
        self.rows.clear()


def apply_page(tx: Tx, store: Store, notifications: Sequence[Any], types: Sequence[str]) -> None:
    """Applies a page of stored events to tables built from empty (not live ones)."""
    inserts, columns = BatchingTx(tx), _Columns()
    for n in notifications:
        if not needed(n.topic, n.state) or _route(n.topic)[0] not in types:
            continue
        env = decode(store, n)
        projection = _route(n.topic)[2]
        assert projection is not None
        setter = getattr(projection, f"set_{env['type']}", None)
        if setter is not None:
            columns.add(projection, env, setter(env))
        elif env["aggregate_version"] == 1:
            projection.apply(inserts, env)
        else:  # the claim needs its row count, and every earlier change done
            inserts.flush()
            columns.flush(tx)
            projection.apply(tx, env)
    inserts.flush()
    columns.flush(tx)
