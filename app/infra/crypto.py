"""Personal data encrypted per person in stored events, so that erasure is destroying a key.

Only the fields named in `domain.personal_data` are encrypted (AES-GCM, a random 256-bit
key per person, the aggregate id and field path as associated data); everything else stays
clear, so analytics and the relay's routing need no keys. In the stored state a personal
value is replaced by an envelope `{"__pii__": "<person key id>", "ct": base64}` (`"d": 1`
when the value was an object), which names the key to decrypt with.

When the key is gone (the person was erased) a top-level field decodes to null (an object
to `{}`) and a nested field is removed, so aggregates still replay and the relay publishes
no personal data. Values stored before encryption existed carry no envelope and are used as
they are: such history stays readable until re-encrypted; it is never rewritten.

The keys and which aggregate uses which are the KeyRing's (infra/keyring.py).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from leadflow.domain.personal_data import PERSONAL_FIELDS
from leadflow.infra.keyring import KeyRing
from leadflow.logs import get_logger

log = get_logger("leadflow.crypto")

PII = "__pii__"
_MARK = PII.encode()


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]
    flag: str | None  # encrypted only when the event's state has this flag set

    @property
    def label(self) -> str:
        return ".".join(self.path)


def _parse(spec: str) -> Field:
    path, _, flag = spec.partition("?")
    return Field(tuple(path.split(".")), flag or None)


FIELDS: dict[str, tuple[Field, ...]] = {
    event_type: tuple(_parse(s) for s in specs) for event_type, specs in PERSONAL_FIELDS.items()
}


def _aad(aggregate_id: Any, field: Field) -> bytes:
    return f"{aggregate_id}/{field.label}".encode()


def _locate(
    state: dict[str, Any], path: tuple[str, ...], copied: set[tuple[str, ...]] | None
) -> dict[str, Any] | None:
    """The dict holding the path's last name. With `copied` (encrypting), nested dicts on
    the way are copied once per event, so the domain event's own dicts never change."""
    container = state
    for depth, name in enumerate(path[:-1], start=1):
        inner = container.get(name)
        if not isinstance(inner, dict):
            return None
        if copied is not None and path[:depth] not in copied:
            inner = dict(inner)
            container[name] = inner
            copied.add(path[:depth])
        container = inner
    return container


def _sealable(value: Any) -> bool:
    return not (value is None or value == {} or (isinstance(value, dict) and PII in value))


def _any_personal(state: dict[str, Any], fields: tuple[Field, ...]) -> bool:
    """Whether `_seal` would find a value to encrypt (most events have none: an engagement
    without names, properties or extra fields), so the rest need no copy of their state."""
    for field in fields:
        if field.flag and not state.get(field.flag):
            continue
        container: Any = state
        for name in field.path[:-1]:
            container = container.get(name)
            if not isinstance(container, dict):
                break
        else:
            if _sealable(container.get(field.path[-1])):
                return True
    return False


class PersonalDataMapper(Mapper[UUID]):
    """A Mapper that encrypts the personal fields of each event with its person's key."""

    keys: KeyRing | None = None  # set by the Store once the database is open

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        fields = FIELDS.get(type(domain_event).__name__)
        if not fields or self.keys is None or not _any_personal(vars(domain_event), fields):
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        self._seal(state, self.keys, fields)
        sealed = object.__new__(type(domain_event))
        object.__setattr__(sealed, "__dict__", state)
        return super().to_stored_event(sealed)

    def _seal(self, state: dict[str, Any], keys: KeyRing, fields: tuple[Field, ...]) -> None:
        aggregate_id = state["originator_id"]
        copied: set[tuple[str, ...]] = set()
        found: list[tuple[dict[str, Any], Field, Any]] = []
        for field in fields:
            if field.flag and not state.get(field.flag):
                continue
            container = _locate(state, field.path, copied)
            name = field.path[-1]
            if container is None or name not in container:
                continue
            value = container[name]
            if not _sealable(value):
                continue
            found.append((container, field, value))
        if not found:
            return
        person_id, cipher = keys.for_aggregate(aggregate_id)
        if cipher is None:  # the person was erased: what is new about them is dropped
            for container, field, value in found:
                _drop(container, field, value)
            return
        nonces = os.urandom(12 * len(found))  # one system call per event, not per field
        for i, (container, field, value) in enumerate(found):
            nonce = nonces[12 * i : 12 * i + 12]
            sealed = cipher.encrypt(nonce, self.transcoder.encode(value), _aad(aggregate_id, field))
            envelope: dict[str, Any] = {
                PII: person_id,
                "ct": base64.b64encode(nonce + sealed).decode(),
            }
            if isinstance(value, dict):
                envelope["d"] = 1
            container[field.path[-1]] = envelope

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        if self.keys is None or _MARK not in stored_event.state:
            return event
        fields = FIELDS.get(stored_event.topic.rpartition(".")[2])
        if fields:
            # A freshly decoded event: its state and nested dicts are its own.
            self._open(vars(event), self.keys, fields)
        return event

    def _open(self, state: dict[str, Any], keys: KeyRing, fields: tuple[Field, ...]) -> None:
        aggregate_id = state["originator_id"]
        learned: str | None = None
        for field in fields:
            container = _locate(state, field.path, None)
            name = field.path[-1]
            if container is None:
                continue
            envelope = container.get(name)
            if not (isinstance(envelope, dict) and PII in envelope):
                continue  # clear text from before encryption, or nothing
            person_id = str(envelope[PII])
            if learned != person_id:
                # Its later events need this key: no lookup of the binding to encrypt them.
                keys.learn(aggregate_id, person_id)
                learned = person_id
            cipher = keys.cipher(person_id)
            if cipher is None:
                _drop(container, field, {} if envelope.get("d") else None)
                continue
            raw = base64.b64decode(envelope["ct"])
            try:
                plain = cipher.decrypt(raw[:12], raw[12:], _aad(aggregate_id, field))
            except InvalidTag:
                log.error("personal field failed authentication", aggregate_id=str(aggregate_id),
                          field=field.label)  # fmt: skip
                _drop(container, field, {} if envelope.get("d") else None)
                continue
            container[name] = self.transcoder.decode(plain)


_KEY_ID = re.compile(rb'"__pii__": ?"([0-9a-f-]{36})"')


def key_ids(states: Iterable[bytes]) -> set[str]:
    """The person keys that stored events' states name (to prefetch them in one query)."""
    return {m.decode() for state in states for m in _KEY_ID.findall(state)}


def _drop(container: dict[str, Any], field: Field, value: Any) -> None:
    if len(field.path) > 1:
        container.pop(field.path[-1], None)
    else:
        container[field.path[-1]] = {} if isinstance(value, dict) else None
