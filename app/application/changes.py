"""A unit of work: the aggregates a command changed and the side rows that go with them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate

from leadflow.infra.sidetables import SideWrite
from leadflow.infra.store import Store

OWNER_LOAD_SQL = (
    "INSERT INTO {owner_load} AS t (owner, open_leads) VALUES (?, ?) "
    "ON CONFLICT (owner) DO UPDATE SET open_leads = t.open_leads + excluded.open_leads"
)


@dataclass
class Changes:
    aggregates: dict[Any, Aggregate] = field(default_factory=dict)
    writes: list[SideWrite] = field(default_factory=list)

    def add(self, *aggregates: Aggregate | None) -> None:
        for a in aggregates:
            if a is not None:
                self.aggregates[a.id] = a

    def write(self, *writes: SideWrite) -> None:
        self.writes.extend(writes)

    def open_leads_delta(self, owner: str | None, delta: int) -> None:
        """Queues count open leads per owner; kept in step with the events that move them."""
        if owner and delta:
            self.writes.append(SideWrite(OWNER_LOAD_SQL, (owner, delta)))

    @property
    def has_events(self) -> bool:
        return any(a.pending_events for a in self.aggregates.values())

    def commit(self, store: Store) -> None:
        if not self.has_events and not self.writes:
            return
        if not self.has_events:
            store.side.execute(*self.writes)
            return
        store.save(*self.aggregates.values(), side_writes=self.writes)


def open_lead_loads(store: Store, owners: Sequence[str]) -> dict[str, int]:
    if not owners:
        return {}
    rows = store.side.query(
        "SELECT owner, open_leads FROM {owner_load} WHERE owner IN "
        + store.side.in_clause(len(owners)),
        list(owners),
    )
    return {owner: int(n) for owner, n in rows}
