"""Use case: record an opportunity's outcome, won or lost, once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from leadflow.application.changes import Changes
from leadflow.application.commands import CommandContext, CommandRunner
from leadflow.application.conversion import parse_amount
from leadflow.domain.errors import NotFound
from leadflow.domain.opportunity import Opportunity
from leadflow.infra.store import Store


class CloseOpportunity:
    def __init__(self, store: Store, runner: CommandRunner) -> None:
        self._store = store
        self._runner = runner

    def _load(self, opportunity_id: UUID) -> Opportunity:
        opp = self._store.find(opportunity_id, Opportunity)
        if opp is None:
            raise NotFound("no such opportunity", {"opportunity_id": str(opportunity_id)})
        return opp

    def win(self, opportunity_id: UUID, amount: Any, ctx: CommandContext) -> dict[str, Any]:
        value = None if amount is None else parse_amount(amount, "amount")

        def decide(changes: Changes) -> dict[str, Any]:
            opp = self._load(opportunity_id)
            opp.win(value, ctx.occurred_at, ctx.audit())
            changes.add(opp)
            return {"id": str(opp.id), "outcome": "won", "amount": f"{opp.won_amount:.2f}"}

        return self._runner.run(ctx, decide)

    def lose(self, opportunity_id: UUID, reason: str, ctx: CommandContext) -> dict[str, Any]:
        def decide(changes: Changes) -> dict[str, Any]:
            opp = self._load(opportunity_id)
            opp.lose(reason, ctx.occurred_at, ctx.audit())
            changes.add(opp)
            return {"id": str(opp.id), "outcome": "lost"}

        return self._runner.run(ctx, decide)
