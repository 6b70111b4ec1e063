"""Stored events as a rebuild reads them: raw rows, decoded only when a read model needs them.

The store is read as plain rows (`Store.stored_rows`): no UUID or Notification object per
event. Events no handler takes are skipped on their topic (engagement records unless they
opt a lead out), before any decoding. The rest are decoded from the stored JSON straight into
the envelope's shape (CONTRACT 5), without building domain-event objects. Personal fields are
decrypted only where a read model keeps them; an event this decoder cannot read exactly (an
older class version to upcast, an unknown stored type) goes through the application's mapper.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from leadflow.infra.crypto import FIELDS, PII, Field, PersonalDataMapper, key_ids
from leadflow.infra.store import Store
from leadflow.infra.storedjson import DECODER, UnknownValue, uuid_text
from leadflow.producers.envelope import envelope, to_json_value
from leadflow.projections.handlers import PROJECTIONS, Envelope, Projection

# (position, originator id as stored, originator version, topic, state)
Row = tuple[Any, ...]
_MARK = PII.encode()
# The personal fields a read model keeps (erasure.PERSONAL_COLUMNS: rm_leads.email from the
# capture, rm_accounts.name from the account's creation); only these are decrypted. Any other
# encrypted field is left out as an erased person's is (null, `{}`, or gone when nested): no
# handler reads one, and decrypting costs a key lookup and AES per field.
KEPT: dict[str, tuple[str, ...]] = {"LeadCaptured": ("email",), "AccountCreated": ("name",)}


def pages(store: Store, start: int, batch: int, *, lean: bool = True) -> Iterator[list[Row]]:
    """The stored events after position `start`, a page at a time. `lean=False` reads them
    through the recorder's public `select_notifications` instead (an object per event):
    enough for the few events a catch-up or a live refresh reads."""
    position = start
    while True:
        if lean:
            rows = store.stored_rows(position, batch)
        else:
            found = store.app.recorder.select_notifications(start=position + 1, limit=batch)
            rows = [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in found]
        if not rows:
            return
        yield rows
        position = rows[-1][0]




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


def route(topic: str) -> tuple[str, str, Projection | None]:
    """(aggregate type, event type, the projection taking it or None)."""
    return _route(topic)[:3]


def needed(topic: str, state: bytes) -> bool:
    """Whether a stored event changes any read model. Engagement records only matter when
    they opt a lead out. Skipping is safe: version guards only need order."""
    _, event_type, projection, _ = _route(topic)
    if projection is None:
        return False
    return event_type != "EngagementRecorded" or b"unsubscribed" in state


def text_id(originator_id: Any) -> str:
    """An aggregate id as the envelope has it, from the store's column (SQLite: 32 hex)."""
    if isinstance(originator_id, str) and len(originator_id) == 32:
        return uuid_text(originator_id)
    return str(originator_id)


def prefetch_keys(store: Store, rows: Sequence[Row], aggregate_types: Sequence[str]) -> None:
    """Loads, in one query per 500, the person keys that the personal fields kept by the
    read models of these aggregate types need in a page."""
    states = [
        r[4]
        for r in rows
        if _route(r[3])[1] in KEPT and _MARK in r[4] and _route(r[3])[0] in aggregate_types
    ]
    if states:
        store.keys.prefetch(key_ids(states))


def _locate(state: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    container = state
    for name in path[:-1]:
        inner = container.get(name)
        if not isinstance(inner, dict):
            return None
        container = inner
    return container


def _personal(store: Store, event_type: str, aggregate_id: str, state: dict[str, Any]) -> None:
    """Decrypts the kept personal fields of a decoded state; withholds the others."""
    kept: list[Field] = []
    for field in FIELDS.get(event_type, ()):
        container = _locate(state, field.path)
        value = None if container is None else container.get(field.path[-1])
        if not (isinstance(value, dict) and PII in value):
            continue  # clear text from before encryption, or nothing
        if field.label in KEPT.get(event_type, ()):
            kept.append(field)
        elif len(field.path) > 1:
            del container[field.path[-1]]  # type: ignore[union-attr]
        else:
            state[field.path[0]] = {} if value.get("d") else None
    if not kept:
        return
    mapper = store.app.mapper
    assert isinstance(mapper, PersonalDataMapper) and store.keys is mapper.keys
    # The mapper's own decryption (one implementation of the format), on these fields only.
    state["originator_id"] = UUID(aggregate_id)
    mapper._open(state, store.keys, tuple(kept))
    del state["originator_id"]
    for field in kept:
        container = _locate(state, field.path)
        if container is not None and field.path[-1] in container:
            name = field.path[-1]
            container[name] = to_json_value(container[name])


def decode(store: Store, row: Row) -> Envelope:
    """The envelope of a stored event (only what handlers read is certain to be there)."""
    position, originator_id, version, topic, state_bytes = row
    aggregate_type, event_type, _, plain = _route(topic)
    if plain:
        try:
            # raw_decode: the store writes compact JSON, so no whitespace to skip around it.
            state: dict[str, Any] = DECODER.raw_decode(state_bytes.decode("utf8"))[0]
        except UnknownValue:
            pass
        else:
            aggregate_id = text_id(originator_id)
            if _MARK in state_bytes:
                _personal(store, event_type, aggregate_id, state)
            recorded_at = state.pop("timestamp", None)
            state.pop("originator_topic", None)
            state.pop("audit", None)
            state[f"{aggregate_type.lower()}_id"] = aggregate_id
            return {
                "type": event_type,
                "aggregate_type": aggregate_type,
                "aggregate_id": aggregate_id,
                "aggregate_version": version,
                "position": position,
                "occurred_at": state.get("occurred_at") or recorded_at,
                "payload": state,
            }
    stored = StoredEvent(
        originator_id=originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
        originator_version=version,
        topic=topic,
        state=bytes(state_bytes),
    )
    return envelope(store.app.mapper.to_domain_event(stored), position)
