"""The event store: one eventsourcing Application over SQLite or PostgreSQL.

All aggregates live in one store so that a conversion (lead, contact, account,
opportunity) is recorded in one transaction.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, LRUCache
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    PersistenceError,
    Transcoding,
)

from leadflow.infra.crypto import PersonalDataMapper
from leadflow.infra.keyring import KeyRing
from leadflow.infra.sidetables import SideTables, SideWrite
from leadflow.settings import DatabaseSettings

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EventStoreApp(Application[UUID]):
    name = "leadflow"
    # Recently used aggregates stay in memory; a get() still fast-forwards them with any
    # newer events from the store, so other writers are never missed.
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_mapper(self) -> Mapper[UUID]:
        # Personal fields are encrypted per person (infra/crypto.py); the Store gives the
        # mapper its keys once the database is open.
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=PersonalDataMapper
        )


def eventsourcing_env(db: DatabaseSettings) -> dict[str, str]:
    if db.kind == "sqlite":
        assert db.sqlite_path is not None
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(db.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "leadflow.infra.recorders:LeadflowSQLiteRecorder",
        }
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": db.dbname,
        "POSTGRES_HOST": db.host,
        "POSTGRES_PORT": str(db.port),
        "POSTGRES_USER": db.user,
        "POSTGRES_PASSWORD": db.password,
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # A pool whose connections were all dropped waits this long for a new one; a
        # shorter wait lets the loops retry sooner.
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "APPLICATION_RECORDER_TOPIC": "leadflow.infra.recorders:LeadflowPostgresRecorder",
    }
    if db.schema:
        env["POSTGRES_SCHEMA"] = db.schema
    return env


# What a loop that outlives database restarts waits out (the relay, the projection consumer):
# eventsourcing's errors and psycopg's own, which can escape from a dropped connection.
DATABASE_ERRORS: tuple[type[Exception], ...] = (PersistenceError, psycopg.Error)


class ConcurrencyExhausted(RuntimeError):
    """A command kept colliding with concurrent writers."""


class Store:
    """What the application services need of persistence, and nothing more."""

    def __init__(self, db: DatabaseSettings, *, sole_writer_cache: bool = False) -> None:
        """`sole_writer_cache`: trust cached aggregates without reading newer events first.
        Only for a process that writes what it reads (the engagement consumer): a stale
        aggregate then fails its save on the store's version constraint, is evicted, and
        the unit of work is retried. Readers must not use it."""
        self.db = db
        env = eventsourcing_env(db)
        self.sole_writer = sole_writer_cache
        if sole_writer_cache:
            env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
        with schema_lock(db):
            if db.kind == "postgres" and db.schema:
                ensure_schema(db)
            self.app = EventStoreApp(env=env)
        # Snapshots would hold personal data outside the encrypted fields.
        assert self.app.snapshots is None, "snapshots are not supported"
        datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
        if db.kind == "sqlite":
            _secure_delete(datastore.pool)
        self.side = SideTables(
            datastore, "postgres" if db.kind == "postgres" else "sqlite", db.schema
        )
        self.keys = KeyRing(self.side)
        assert isinstance(self.app.mapper, PersonalDataMapper)
        self.app.mapper.keys = self.keys
        self.keys.on_erasure.append(self.forget_cached)

    def forget_cached(self) -> None:
        """Drops every cached aggregate: after an erasure they may hold personal data."""
        cache = self.app.repository.cache
        if isinstance(cache, LRUCache):
            # A new cache, as LRUCache.clear() (eventsourcing 9.5) keeps the entries.
            self.app.repository.cache = LRUCache(maxsize=cache.maxsize)

    def get(self, aggregate_id: UUID, cls: type[A], *, borrow: bool = False) -> A:
        """Raises KeyError if there is no such aggregate of that type.

        `borrow` (a sole writer's unit of work): the cached aggregate itself rather than a
        copy, which costs a tenth of the engagement write path. The caller must `evict` what
        it borrowed if the unit of work fails before its save (a failed save evicts)."""
        self.keys.refresh()
        copy = not (borrow and self.sole_writer)
        try:
            aggregate: Aggregate = self.app.repository.get(
                aggregate_id, deepcopy_from_cache=copy
            )
        except AggregateNotFoundError:
            raise KeyError(aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise KeyError(aggregate_id)
        return aggregate

    def evict(self, aggregate_ids: Iterable[UUID]) -> None:
        """Drops these aggregates from the cache (borrowed ones a failed unit of work changed)."""
        cache = self.app.repository.cache
        if cache is None:
            return
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def find(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        try:
            return self.get(aggregate_id, cls)
        except KeyError:
            return None

    def save(self, *aggregates: Aggregate | None, side_writes: Sequence[SideWrite] = ()) -> None:
        """Stores the aggregates' new events and the side writes in one transaction.

        Leaner than Application.save, whose per-object protocol checks cost a sixth of
        ingest time on Python 3.11; there are no snapshots or local subscribers to serve.
        """
        present = [a for a in aggregates if a is not None]
        events = [e for a in present for e in a.collect_events()]
        cache = self.app.repository.cache
        try:
            # The recorder directly, not EventStore.put: nothing here reads the notification
            # objects put makes for every event, nor the ids the recorder would fetch for them.
            stored = list(map(self.app.mapper.to_stored_event, events))
            self.app.recorder.insert_events(stored, side_writes=list(side_writes), ids=False)
        except Exception:
            self.evict(a.id for a in present)
            raise
        if cache is not None and not self.app.repository.fastforward:
            for a in present:
                cache.put(a.id, a)

    def release_erased(self, tables: Sequence[str]) -> bool:
        """After an erasure, so the database files keep no old bytes of what was deleted:
        SQLite (deleted space already zeroed by secure_delete) copies the WAL into the file
        and truncates it; PostgreSQL vacuums the tables (dead tuples hold old values until
        then). False if SQLite could not finish because a reader held an old snapshot."""
        if self.db.kind == "sqlite":
            datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
            with datastore.get_connection(commit=True) as connection:
                raw = connection._sqlite_conn
                busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            return not busy
        prefix = f'"{self.db.schema}".' if self.db.schema else ""
        with admin_connection(self.db) as conn:
            for table in tables:
                conn.execute(f'VACUUM {prefix}"{table}"')
        return True

    def max_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def stored_rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` stored events after position `after`, in order, as raw rows
        (position, originator id as stored, originator version, topic, state bytes). Read
        only; for readers of the whole store (a rebuild) that decode only the events they
        need: select_notifications builds a UUID and a Notification for every row."""
        recorder: Any = self.app.recorder
        table = recorder.events_table_name
        columns = "originator_id, originator_version, topic, state"
        if self.db.kind == "sqlite":
            with recorder.datastore.transaction(commit=False) as cursor:
                raw = cursor.sqlite_cursor
                raw.row_factory = None  # plain tuples, not sqlite3.Row
                raw.execute(
                    f"SELECT rowid, {columns} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (after, limit),
                )
                return list(raw.fetchall())
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f'SELECT notification_id, {columns} FROM "{recorder.datastore.schema}"."{table}"'
                " WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                (after, limit),
            )
            return [tuple(row.values()) for row in cursor.fetchall()]

    def close(self) -> None:
        self.app.close()


def _secure_delete(pool: Any) -> None:
    """SQLite keeps deleted and overwritten bytes in free space unless told to zero them;
    erasure relies on it (a destroyed key must not linger in a free page). The pragma is per
    connection: set it on the pool's connections and on every one it opens later."""
    for connection in list(pool._pool):
        connection._sqlite_conn.execute("PRAGMA secure_delete=ON")
    create = pool._create_connection

    def create_secure() -> Any:
        connection = create()
        connection._sqlite_conn.execute("PRAGMA secure_delete=ON")
        return connection

    pool._create_connection = create_secure


def retrying(fn: Callable[[], T], attempts: int = 8) -> T:
    """Runs `fn` again when a concurrent writer got there first (optimistic concurrency)
    or the database was briefly unavailable; `fn` must reload what it decides on."""
    delay = 0.005
    for attempt in range(attempts):
        try:
            return fn()
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    raise ConcurrencyExhausted("unreachable")


def admin_connection(db: DatabaseSettings, connect_timeout: int = 10) -> Any:
    """An autocommit psycopg connection, for schema work outside the event store's pool."""
    import psycopg

    return psycopg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password,
        dbname=db.dbname,
        autocommit=True,
        connect_timeout=connect_timeout,
    )


@contextlib.contextmanager
def schema_lock(db: DatabaseSettings) -> Iterator[None]:
    """Serialises creating tables across processes: eventsourcing (re)creates its types,
    tables and functions whenever a store opens, and two processes doing so at once on
    PostgreSQL fail on pg_type's unique index or "tuple concurrently updated"."""
    if db.kind != "postgres":
        yield
        return
    with admin_connection(db) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"leadflow:{db.schema or ''}",))
        yield  # the lock goes with the session when the connection closes


def ensure_schema(db: DatabaseSettings) -> None:
    with admin_connection(db) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"')
