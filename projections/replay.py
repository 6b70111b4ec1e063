"""Applying stored events to read-model tables built from empty (a rebuild), in batches.

Events come from the store in order (rawread.py decodes them). First events run as batches
of like INSERTs; column-only changes (`set_` handlers) are merged per row and written as one
UPDATE with the row's last version, late: the new tables are read by nobody until they are
swapped in, so only their final content matters. Anything else (a claim: its handler needs
the row count and every earlier change done) writes what is pending first and runs alone, so
the order of statements is kept and version guards hold as they do live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadflow.infra.sidetables import Tx
from leadflow.infra.store import Store
from leadflow.projections import rawread
from leadflow.projections.handlers import Envelope, Projection

# Pending column changes kept at most (rows): bounds memory on a large store.
_MAX_PENDING = 200_000


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
        pending = self.rows.get(row)
        merged = {} if pending is None else pending[1]
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


class Build:
    """Applies pages of stored events, in store order, to tables built from empty. Column
    changes may stay pending across pages (and their transactions): `finish` writes them."""

    def __init__(self, store: Store, types: Sequence[str]) -> None:
        self._store = store
        self._types = frozenset(types)
        self._columns = _Columns()

    def apply_page(self, tx: Tx, rows: Sequence[rawread.Row]) -> None:
        store, route, needed = self._store, rawread.route, rawread.needed
        wanted = [r for r in rows if needed(r[3], r[4]) and route(r[3])[0] in self._types]
        inserts, columns = BatchingTx(tx), self._columns
        for row in wanted:
            env = rawread.decode(store, row)
            projection = route(row[3])[2]
            assert projection is not None
            setter = getattr(projection, f"set_{env['type']}", None)
            if setter is not None:
                # A `set_` that changes nothing still claims its version, as live.
                columns.add(projection, env, setter(env))
            elif env["aggregate_version"] == 1:
                projection.apply(inserts, env)
            else:
                inserts.flush()
                columns.flush(tx)
                projection.apply(tx, env)
        inserts.flush()
        if len(columns.rows) > _MAX_PENDING:
            columns.flush(tx)

    def finish(self, tx: Tx) -> None:
        self._columns.flush(tx)
