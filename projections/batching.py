"""A batch of envelopes applied in one transaction, with column-only changes merged.

Most lead events change only columns of the lead's row (scored, engagement recorded, first
touch moved, qualified: `set_<Event>` in handlers.py), each a statement with its own version
claim. Here the consecutive ones of one aggregate become one statement: the columns each set
last, claimed at the last version. That is what applying them one by one leaves: a run holds
consecutive versions of its aggregate (the topic keeps an aggregate's order, and an event that
needs a handler ends the aggregate's run first), so a row that had already reached a version
inside the run has applied the run's earlier events and gets the same values again. An event
at or below the run's version is a re-delivery that the claim would refuse one by one, so it
is left out. The merged statements go to the database grouped by their text, one batch each.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from leadflow.infra.sidetables import Tx
from leadflow.projections.erasure import on_person_erased
from leadflow.projections.facts import lead_of
from leadflow.projections.handlers import PROJECTIONS, Envelope, Projection


class _Run:
    __slots__ = ("columns", "projection", "version")

    def __init__(self, projection: Projection, version: int, columns: dict[str, Any]) -> None:
        self.projection = projection
        self.version = version
        self.columns = columns


class Batch:
    """`apply` each envelope in order, then `flush` before reading the rows back (facts)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._runs: dict[tuple[str, str], _Run] = {}

    def apply(self, env: Envelope) -> str | None:
        """As handlers.apply: returns the lead whose facts may have changed."""
        if env.get("type") == "PersonErased":
            self.flush()  # it names rows of many aggregates
            on_person_erased(self._tx, env)
            return None
        projection = PROJECTIONS.get(env.get("aggregate_type", ""))
        if projection is None:
            return None
        key = (projection.table, str(env["aggregate_id"]))
        columns = projection.set_columns(env)
        if columns is None:
            run = self._runs.pop(key, None)
            if run is not None:
                self._execute(key[1], run)
            projection.apply(self._tx, env)
        else:
            version = int(env["aggregate_version"])
            run = self._runs.get(key)
            if run is None:
                self._runs[key] = _Run(projection, version, columns)
            elif version > run.version:
                run.version = version
                run.columns.update(columns)
        return lead_of(self._tx, env)

    def flush(self) -> None:
        groups: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for (_, aggregate_id), run in self._runs.items():
            sql, params = run.projection.update_statement(aggregate_id, run.version, run.columns)
            groups[sql].append(params)
        self._runs.clear()
        for sql, rows in groups.items():
            self._tx.executemany(sql, rows)

    def _execute(self, aggregate_id: str, run: _Run) -> None:
        self._tx.execute(*run.projection.update_statement(aggregate_id, run.version, run.columns))
