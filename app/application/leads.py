"""Use cases on a lead: change status, assign, qualify (BANT)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from leadflow.application.changes import Changes
from leadflow.application.commands import CommandContext, CommandRunner
from leadflow.application.views import iso
from leadflow.domain.errors import InvalidInput, NotFound
from leadflow.domain.lead import OPEN_STATUSES, Lead
from leadflow.infra.store import Store


def load_lead(store: Store, lead_id: UUID) -> Lead:
    lead = store.find(lead_id, Lead)
    if lead is None:
        raise NotFound("no such lead", {"lead_id": str(lead_id)})
    return lead


class ManageLeads:
    def __init__(self, store: Store, runner: CommandRunner) -> None:
        self._store = store
        self._runner = runner

    def set_status(
        self, lead_id: UUID, status: str, reason: str | None, ctx: CommandContext
    ) -> dict[str, Any]:
        if reason is not None and len(reason) > 2000:
            raise InvalidInput("reason must be at most 2000 characters")

        def decide(changes: Changes) -> dict[str, Any]:
            lead = load_lead(self._store, lead_id)
            was_open = lead.is_open
            if lead.change_status(status, reason, ctx.occurred_at, ctx.audit()):
                changes.add(lead)
                if was_open != lead.is_open:
                    changes.open_leads_delta(lead.owner, 1 if lead.is_open else -1)
            return {"id": str(lead.id), "status": lead.status}

        return self._runner.run(ctx, decide)

    def assign(self, lead_id: UUID, owner: str | None, ctx: CommandContext) -> dict[str, Any]:
        if owner is not None and (not owner.strip() or len(owner) > 200):
            raise InvalidInput("owner must be 1-200 characters, or null to unassign")

        def decide(changes: Changes) -> dict[str, Any]:
            lead = load_lead(self._store, lead_id)
            previous = lead.owner
            if lead.assign(owner, ctx.occurred_at, audit=ctx.audit()):
                changes.add(lead)
                if lead.status in OPEN_STATUSES:
                    changes.open_leads_delta(previous, -1)
                    changes.open_leads_delta(owner, 1)
            return {"id": str(lead.id), "owner": lead.owner}

        return self._runner.run(ctx, decide)

    def qualify(
        self, lead_id: UUID, bant: dict[str, bool], notes: str | None, ctx: CommandContext
    ) -> dict[str, Any]:
        if notes is not None and len(notes) > 5000:
            raise InvalidInput("notes must be at most 5000 characters")

        def decide(changes: Changes) -> dict[str, Any]:
            lead = load_lead(self._store, lead_id)
            if lead.qualify(bant, notes, ctx.occurred_at, ctx.audit()):
                changes.add(lead)
            return {
                "id": str(lead.id),
                "stage": "sql",
                "sql_at": iso(lead.sql_at),
            }

        return self._runner.run(ctx, decide)
