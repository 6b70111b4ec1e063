"""Use case: record spend. Same event_id twice has effect once; `replaces` restates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from leadflow.application.changes import Changes
from leadflow.application.engagement import INBOUND_INSERT, seen_inbound
from leadflow.domain.spend import Spend
from leadflow.infra.sidetables import SideWrite
from leadflow.infra.store import Store, retrying
from leadflow.schemas import SpendIn


@dataclass
class SpendOutcome:
    accepted: int = 0
    duplicates: int = 0


_CENT = Decimal("0.01")


class RecordSpend:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, batch: Sequence[SpendIn]) -> SpendOutcome:
        return retrying(lambda: self._attempt(batch))

    def _attempt(self, batch: Sequence[SpendIn]) -> SpendOutcome:
        unique: dict[str, SpendIn] = {}
        for s in batch:
            unique.setdefault(s.event_id, s)
        seen = seen_inbound(self._store, "spend", list(unique))
        fresh = [s for s in unique.values() if s.event_id not in seen]
        changes = Changes()
        for s in fresh:
            changes.add(
                Spend(
                    event_id=s.event_id,
                    source=s.source,
                    campaign=s.campaign,
                    amount=s.amount.quantize(_CENT, rounding=ROUND_HALF_UP),
                    currency=s.currency,
                    period_start=s.period_start,
                    period_end=s.period_end,
                    replaces=s.replaces,
                )
            )
            changes.write(SideWrite(INBOUND_INSERT, ("spend", s.event_id)))
        changes.commit(self._store)
        return SpendOutcome(accepted=len(fresh), duplicates=len(batch) - len(fresh))
