"""Application recorders that also run a command's side-table writes in its transaction.

`Application.save(*aggregates, side_writes=[...])` hands the keyword through the event
store to `insert_events`; these subclasses execute the writes in the same database
transaction as the events. A unique-key violation in either rolls back both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

from leadflow.infra.sidetables import SideWrite, ddl, render


def batched(writes: Sequence[SideWrite]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Runs of the same statement, in order, so each run goes to the database as one batch
    (a unit of work writes one inbound row per record, and so on)."""
    runs: list[tuple[str, list[tuple[Any, ...]]]] = []
    for w in writes:
        if runs and runs[-1][0] == w.sql:
            runs[-1][1].append(w.params)
        else:
            runs.append((w.sql, [w.params]))
    return runs


class LeadflowSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *ddl("sqlite")]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """`ids=False`: the caller does not want the events' notification ids, so the events
        go in as one batch rather than a statement each to read back its rowid."""
        if kwargs.get("ids", True):
            ids = super()._insert_events(c, stored_events, **kwargs)
        else:
            ids = None
            c.executemany(
                self.insert_events_statement,
                [
                    (
                        s.originator_id.hex
                        if isinstance(s.originator_id, UUID)
                        else s.originator_id,
                        s.originator_version,
                        s.topic,
                        s.state,
                    )
                    for s in stored_events
                ],
            )
        for sql, params in batched(kwargs.get("side_writes") or ()):
            if len(params) == 1:
                c.execute(render(sql, "sqlite"), params[0])
            else:
                c.executemany(render(sql, "sqlite"), params)
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
        for sql, params in batched(kwargs.get("side_writes") or ()):
            text = render(sql, "postgres", self.datastore.schema)
            if len(params) == 1:
                curs.execute(text, params[0])  # type: ignore[arg-type]
            else:
                curs.executemany(text, params)  # type: ignore[arg-type]
