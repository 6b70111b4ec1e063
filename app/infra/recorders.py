"""Application recorders that also run a command's side-table writes in its transaction.

`Application.save(*aggregates, side_writes=[...])` hands the keyword through the event
store to `insert_events`; these subclasses execute the writes in the same database
transaction as the events. A unique-key violation in either rolls back both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

from leadflow.infra.sidetables import SideWrite, ddl, render


class LeadflowSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *ddl("sqlite")]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        writes: Sequence[SideWrite] = kwargs.get("side_writes") or ()
        for w in writes:
            c.execute(render(w.sql, "sqlite"), w.params)
        return ids


class LeadflowPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        for statement in ddl("postgres", self.datastore.schema):
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        writes: Sequence[SideWrite] = kwargs.get("side_writes") or ()
        for w in writes:
            curs.execute(render(w.sql, "postgres", self.datastore.schema), w.params)  # type: ignore[arg-type]
