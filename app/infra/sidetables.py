"""leadflow's own tables beside the event store, in the same database.

They are lookups the write side needs synchronously (email -> person, dedupe of inbound
ids, idempotency answers, account matching, open-lead counts, per-person keys). Rows that
belong to a command are written in the same transaction as its events (see recorders.py),
so a crash can never leave one without the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

Dialect = Literal["sqlite", "postgres"]

TABLES = {
    "people": "leadflow_people",
    "inbound": "leadflow_inbound",
    "idempotency": "leadflow_idempotency",
    "accounts": "leadflow_accounts",
    "owner_load": "leadflow_owner_load",
    "person_keys": "leadflow_person_keys",
    "person_aggregates": "leadflow_person_aggregates",
    "settings": "leadflow_settings",
    "positions": "leadflow_positions",
    "api_keys": "leadflow_api_keys",
}

_DDL = (
    "CREATE TABLE IF NOT EXISTS {people} (digest TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "person_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {inbound} (kind TEXT NOT NULL, event_id TEXT NOT NULL, "
    "PRIMARY KEY (kind, event_id))",
    "CREATE TABLE IF NOT EXISTS {idempotency} (scope TEXT NOT NULL, idem_key TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, "
    "PRIMARY KEY (scope, idem_key))",
    "CREATE TABLE IF NOT EXISTS {accounts} (account_id TEXT PRIMARY KEY, "
    "normalised_name TEXT NOT NULL, domain TEXT, created_at TEXT NOT NULL, "
    "parent_id TEXT)",
    "CREATE INDEX IF NOT EXISTS {accounts}_name ON {accounts} (normalised_name, created_at)",
    "CREATE INDEX IF NOT EXISTS {accounts}_domain ON {accounts} (domain, created_at)",
    "CREATE TABLE IF NOT EXISTS {owner_load} (owner TEXT PRIMARY KEY, open_leads INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {person_keys} (person_id TEXT PRIMARY KEY, "
    "key_material {blob} NOT NULL)",
    # Which person's key an aggregate's events use (random ids only; kept after erasure).
    "CREATE TABLE IF NOT EXISTS {person_aggregates} (aggregate_id TEXT PRIMARY KEY, "
    "person_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {person_aggregates}_person ON {person_aggregates} (person_id)",
    "CREATE TABLE IF NOT EXISTS {settings} (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {positions} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    # Only the SHA-256 of a key, never the key (CONTRACT 9); roles space-separated.
    "CREATE TABLE IF NOT EXISTS {api_keys} (name TEXT PRIMARY KEY, roles TEXT NOT NULL, "
    "key_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)",
)


@dataclass(frozen=True)
class SideWrite:
    """One statement to run inside the event store's insert transaction.

    `sql` names tables as `{people}` etc. and uses `?` placeholders, whatever the dialect.
    """

    sql: str
    params: tuple[Any, ...] = ()


def render(
    sql: str, dialect: Dialect, schema: str | None = None, tables: dict[str, str] | None = None
) -> str:
    """Qualifies table names and converts placeholders for the dialect."""
    prefix = f'"{schema}".' if dialect == "postgres" and schema else ""
    names: dict[str, str] = {k: prefix + v for k, v in {**TABLES, **(tables or {})}.items()}
    names["blob"] = "BYTEA" if dialect == "postgres" else "BLOB"
    text = sql.format(**names)
    if dialect == "postgres":
        text = text.replace("?", "%s")
        # An index name cannot carry a schema prefix.
        if text.startswith("CREATE INDEX"):
            head, _, tail = text.partition(" ON ")
            head = head.replace(prefix, "").replace('"', "")
            text = f"{head} ON {tail}"
    return text


def ddl(dialect: Dialect, schema: str | None = None) -> list[str]:
    return [render(s, dialect, schema) for s in _DDL]


class Tx:
    """One open transaction: statements in the side-table SQL dialect."""

    def __init__(self, cursor: Any, owner: SideTables, tables: dict[str, str] | None) -> None:
        self._cursor = cursor
        self._owner = owner
        self._tables = tables

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Runs a statement; returns the number of rows it changed."""
        self._cursor.execute(self._owner.sql(statement, self._tables), tuple(params))
        raw = getattr(self._cursor, "sqlite_cursor", self._cursor)
        return int(raw.rowcount)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(self._owner.sql(statement, self._tables), rows)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._owner.sql(statement, self._tables), tuple(params))
        return [_as_tuple(row) for row in self._cursor.fetchall()]


class SideTables:
    """Reads and writes the side tables through the event store's own connection pool."""

    def __init__(self, datastore: Any, dialect: Dialect, schema: str | None) -> None:
        self._datastore = datastore
        self.dialect: Dialect = dialect
        self.schema = schema

    def sql(self, statement: str, tables: dict[str, str] | None = None) -> str:
        return render(statement, self.dialect, self.schema, tables)

    @contextmanager
    def transaction(self, tables: dict[str, str] | None = None) -> Iterator[Tx]:
        """A read-write transaction; `tables` names extra tables (read models)."""
        with self._cursor(commit=True) as cursor:
            yield Tx(cursor, self, tables)

    @contextmanager
    def _cursor(self, commit: bool) -> Iterator[Any]:
        with self._datastore.transaction(commit=commit) as cursor:
            yield cursor

    def query(
        self, statement: str, params: Sequence[Any] = (), tables: dict[str, str] | None = None
    ) -> list[tuple[Any, ...]]:
        with self._cursor(commit=False) as cursor:
            cursor.execute(self.sql(statement, tables), tuple(params))
            return [_as_tuple(row) for row in cursor.fetchall()]

    def execute(self, *writes: SideWrite) -> None:
        """Runs the writes in one transaction of their own."""
        with self._cursor(commit=True) as cursor:
            for w in writes:
                cursor.execute(self.sql(w.sql), w.params)

    def position(self, name: str) -> int:
        rows = self.query("SELECT position FROM {positions} WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    def set_position(self, name: str, position: int) -> None:
        self.execute(
            SideWrite(
                "INSERT INTO {positions} (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (name, position),
            )
        )

    def in_clause(self, n: int) -> str:
        return "(" + ",".join("?" * n) + ")"


def _as_tuple(row: Any) -> tuple[Any, ...]:
    if isinstance(row, dict):
        return tuple(row.values())
    return tuple(row)
