"""Person keys (CONTRACT 9): the key store beside the events and its in-process caches.

A random 256-bit AES-GCM key per person (`person_keys`), and which person's key each
aggregate's events use (`person_aggregates`, random ids only, kept after an erasure so that
what is recorded about an erased person later is dropped, not re-keyed). Both are cached in
bounded LRUs. An erasure bumps a counter; every process looks at it at most once per
`recheck_every` seconds and then drops every cached key (and, through `on_erasure`, its
cached aggregates), so a key cached elsewhere stops decrypting within that bound.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from leadflow.infra.sidetables import SideTables, SideWrite

ERASURES = "erasures"  # the counter's name in the positions table
K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, maxsize: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: K) -> tuple[bool, V | None]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class KeyRing:
    """Person keys and which aggregate uses which, cached; the write side's only way to them."""

    def __init__(
        self, side: SideTables, *, cache_size: int = 100_000, recheck_every: float = 1.0
    ) -> None:
        self._side = side
        self._ciphers: _Lru[str, AESGCM | None] = _Lru(cache_size)  # None: erased
        self._owners: _Lru[UUID, str] = _Lru(cache_size)
        self._recheck_every = recheck_every
        self._generation = self._read_generation()
        self._checked = time.monotonic()
        #: Called when another erasure was seen (the store drops its aggregate cache).
        self.on_erasure: list[Callable[[], None]] = []

    # --- staleness ----------------------------------------------------------------

    def _read_generation(self) -> int:
        return self._side.position(ERASURES)

    def refresh(self, force: bool = False) -> None:
        """Drops every cached key if someone erased a person since the last look."""
        now = time.monotonic()
        if not force and now - self._checked < self._recheck_every:
            return
        self._checked = now
        generation = self._read_generation()
        if generation != self._generation:
            self._generation = generation
            self._ciphers.clear()
            for callback in self.on_erasure:
                callback()

    # --- reading ------------------------------------------------------------------

    def cipher(self, person_id: str) -> AESGCM | None:
        """The person's cipher, or None when the key was destroyed (or never existed)."""
        self.refresh()
        found, cipher = self._ciphers.get(person_id)
        if not found:
            self.prefetch([person_id])
            _, cipher = self._ciphers.get(person_id)
        return cipher

    def prefetch(self, person_ids: Iterable[str]) -> None:
        """Loads the keys not cached yet in one query: a reader of many people's events
        (the relay, a rebuild) would otherwise ask once per person."""
        self.refresh()
        missing = sorted({p for p in person_ids if not self._ciphers.get(p)[0]})
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = self._side.query(
                "SELECT person_id, key_material FROM {person_keys} WHERE person_id IN "
                + self._side.in_clause(len(chunk)),
                chunk,
            )
            found = {str(r[0]): bytes(r[1]) for r in rows}
            for p in chunk:
                # Key ids are random and never reused: a missing key stays missing.
                self._ciphers.put(p, AESGCM(found[p]) if p in found else None)

    def learn(self, aggregate_id: UUID, person_id: str) -> None:
        """What a decrypted event showed: bindings never change, so it can be cached."""
        self._owners.put(aggregate_id, person_id)

    def person_of(self, aggregate_id: UUID) -> str | None:
        found, person = self._owners.get(aggregate_id)
        if found:
            return person
        rows = self._side.query(
            "SELECT person_id FROM {person_aggregates} WHERE aggregate_id = ?",
            (str(aggregate_id),),
        )
        if not rows:
            return None  # not cached: another process may bind it later
        self._owners.put(aggregate_id, str(rows[0][0]))
        return str(rows[0][0])

    def people_of(self, aggregate_ids: Iterable[UUID]) -> set[str]:
        return {p for p in (self.person_of(a) for a in aggregate_ids) if p is not None}

    def aggregates_of(self, person_ids: Sequence[str]) -> list[UUID]:
        if not person_ids:
            return []
        rows = self._side.query(
            "SELECT aggregate_id FROM {person_aggregates} WHERE person_id IN "
            + self._side.in_clause(len(person_ids)),
            list(person_ids),
        )
        return sorted(UUID(r[0]) for r in rows)

    # --- writing ------------------------------------------------------------------

    def new_person(self, *aggregate_ids: UUID) -> list[SideWrite]:
        """A new key used by these aggregates: the rows go in the transaction of their
        first events, so a key is never lost while data encrypted with it exists."""
        person_id = str(uuid.uuid4())
        material = AESGCM.generate_key(bit_length=256)
        self._ciphers.put(person_id, AESGCM(material))
        writes = [
            SideWrite(
                "INSERT INTO {person_keys} (person_id, key_material) VALUES (?, ?)",
                (person_id, material),
            )
        ]
        return writes + self._bind(person_id, aggregate_ids)

    def join(self, like: UUID, *aggregate_ids: UUID) -> list[SideWrite]:
        """These aggregates belong to the same person as `like` and share its key."""
        person_id = self.person_of(like)
        if person_id is None:  # `like` was stored before encryption existed
            return self.new_person(like, *aggregate_ids)
        return self._bind(person_id, aggregate_ids)

    def _bind(self, person_id: str, aggregate_ids: Iterable[UUID]) -> list[SideWrite]:
        writes = []
        for aggregate_id in aggregate_ids:
            self._owners.put(aggregate_id, person_id)
            writes.append(
                SideWrite(
                    "INSERT INTO {person_aggregates} (aggregate_id, person_id) VALUES (?, ?)",
                    (str(aggregate_id), person_id),
                )
            )
        return writes

    def adopt(self, aggregate_id: UUID) -> str:
        """A key for an aggregate that has none (stored before encryption existed), durable
        in its own transaction before any event uses it; an orphan key is harmless."""
        writes = self.new_person()
        person_id = str(writes[0].params[0])
        self._side.execute(
            *writes,
            SideWrite(
                "INSERT INTO {person_aggregates} (aggregate_id, person_id) VALUES (?, ?) "
                "ON CONFLICT (aggregate_id) DO NOTHING",
                (str(aggregate_id), person_id),
            ),
        )
        bound = self.person_of(aggregate_id)
        assert bound is not None
        return bound

    def erase(self, person_ids: Sequence[str]) -> list[SideWrite]:
        """Destroys the keys (in the caller's transaction) and tells other processes."""
        writes = [
            SideWrite("DELETE FROM {person_keys} WHERE person_id = ?", (p,)) for p in person_ids
        ]
        writes.append(
            SideWrite(
                "INSERT INTO {positions} AS t (name, position) VALUES (?, 1) ON CONFLICT (name)"
                " DO UPDATE SET position = t.position + 1",
                (ERASURES,),
            )
        )
        return writes

    def forget(self, person_ids: Iterable[str]) -> None:
        """After an erasure committed: this process stops at once."""
        for p in person_ids:
            self._ciphers.put(p, None)

    def for_aggregate(self, aggregate_id: UUID) -> tuple[str, AESGCM | None]:
        person_id = self.person_of(aggregate_id) or self.adopt(aggregate_id)
        return person_id, self.cipher(person_id)
