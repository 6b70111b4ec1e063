"""The event store: one eventsourcing Application over SQLite or PostgreSQL.

All aggregates live in one store so that a conversion (lead, contact, account,
opportunity) is recorded in one transaction.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    OperationalError,
    Transcoding,
)

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
        "APPLICATION_RECORDER_TOPIC": "leadflow.infra.recorders:LeadflowPostgresRecorder",
    }
    if db.schema:
        env["POSTGRES_SCHEMA"] = db.schema
    return env


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
        if db.kind == "postgres" and db.schema:
            ensure_schema(db)
        env = eventsourcing_env(db)
        if sole_writer_cache:
            env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
        self.app = EventStoreApp(env=env)
        datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
        self.side = SideTables(
            datastore, "postgres" if db.kind == "postgres" else "sqlite", db.schema
        )

    def get(self, aggregate_id: UUID, cls: type[A]) -> A:
        """Raises KeyError if there is no such aggregate of that type."""
        try:
            aggregate: Aggregate = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise KeyError(aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise KeyError(aggregate_id)
        return aggregate

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
            self.app.events.put(events, side_writes=list(side_writes))
        except Exception:
            if cache is not None:
                for a in present:
                    with contextlib.suppress(KeyError):
                        cache.get(a.id, evict=True)
            raise
        if cache is not None and not self.app.repository.fastforward:
            for a in present:
                cache.put(a.id, a)

    def max_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        self.app.close()


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


def ensure_schema(db: DatabaseSettings) -> None:
    with admin_connection(db) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"')
