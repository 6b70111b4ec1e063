"""Playing a random history (history_generator) through leadflow's application use cases
and, beside them, through the reference (history_reference.Reference)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from tests.integration.projections.history_generator import (
    Command,
    Engage,
    Op,
    SpendBatch,
    email_of,
    money_text,
)
from tests.integration.projections.history_reference import Reference, RefLead, RefSpend, normalise

# --- playing a plan through leadflow and the reference ----------------------------------


def play(app: Any, plan: Sequence[Op], ref: Reference | None = None) -> Reference:
    """Issues `plan` through the application use cases; returns the reference beside it.

    Commands the contract would refuse are issued when the refusal is contracted (qualify
    with fewer than three true answers, converting an Unqualified or converted lead, a
    second outcome) and must be refused; commands on people who are not (or no longer)
    leads are left out, as are the cases the contract leaves open (see the doc of
    history_reference).
    """
    from uuid import UUID

    from leadflow.application.commands import CommandContext
    from leadflow.domain.errors import (
        ConversionRefused,
        OutcomeAlreadyRecorded,
        QualificationRefused,
    )
    from leadflow.schemas import parse_engagement, parse_spend

    ref = ref or Reference()
    for op in plan:
        if isinstance(op, Engage):
            outcome = app.engagement.record([parse_engagement(t.record()) for t in op.touches])
            accepted = new = activities = 0
            first_of: dict[str, str] = {}
            for t in op.touches:
                if t.event_id in ref.seen:
                    continue
                ref.seen.add(t.event_id)
                accepted += 1
                email = normalise(t.email)
                if email in ref.contacts:
                    activities += 1
                    continue
                if email not in ref.leads:
                    ref.leads[email] = RefLead(email)
                    first_of[email] = t.event_id
                    new += 1
                ref.leads[email].touches.append((t.at, t.event_id, t.type, t.source, t.campaign))
            assert (outcome.accepted, outcome.leads_captured, outcome.contact_activities) == (
                accepted, new, activities), op
            for email, event_id in first_of.items():
                ref.leads[email].lead_id = outcome.lead_ids[event_id]
        elif isinstance(op, SpendBatch):
            records: list[dict[str, Any]] = []
            for s in op.records:
                replaces = s.replaces
                taken = {r.replaces for r in ref.spend.values()}
                taken |= {r["replaces"] for r in records}
                if replaces == s.event_id or replaces in taken:
                    replaces = None
                records.append(s.record(replaces))
                earlier = {r["event_id"] for r in records[:-1]}
                if s.event_id not in ref.spend and s.event_id not in earlier:
                    amount = Fraction(s.cents // 100) if s.as_number else Fraction(s.cents, 100)
                    ref.spend[s.event_id] = RefSpend(
                        s.event_id, s.source, s.campaign, amount, s.period_start, replaces
                    )
            app.spend.record([parse_spend(r, "USD") for r in records])
        else:
            lead = ref.leads.get(email_of(op.person))
            if lead is None or not lead.lead_id:
                continue
            _command(app, ref, lead, op, UUID, CommandContext,
                     (ConversionRefused, OutcomeAlreadyRecorded, QualificationRefused))
    return ref


def _command(app: Any, ref: Reference, lead: RefLead, op: Command, uuid: Any, context: Any,
             refusals: tuple[type[Exception], ...]) -> None:
    conversion_refused, outcome_refused, qualification_refused = refusals
    lead_id = uuid(lead.lead_id)
    if op.kind == "assign":
        if lead.converted_at is not None:
            return
        app.leads.assign(lead_id, op.arg, context(occurred_at=op.at))
        if op.arg != lead.owner:
            lead.owners.append((op.at, ref.tick(), op.arg))
            lead.owner = op.arg
        return
    # Lifecycle commands: in business-time order per lead, never before its capture.
    at = max(op.at, lead.clock or op.at, lead.captured_at)
    ctx = context(occurred_at=at)
    if op.kind == "status":
        if lead.converted_at is not None:
            return
        answer = app.leads.set_status(lead_id, op.arg, None, ctx)
        assert answer["status"] == op.arg
        if op.arg != lead.status:
            lead.statuses.append((at, ref.tick(), op.arg))
            lead.status = op.arg
    elif op.kind == "qualify":
        if lead.converted_at is not None or lead.status == "Unqualified":
            return  # the contract does not say; leadflow refuses
        bant = {k: bool(op.arg >> i & 1) for i, k in
                enumerate(("budget", "authority", "need", "timeline"))}
        if sum(bant.values()) < 3:
            try:
                app.leads.qualify(lead_id, bant, None, ctx)
            except qualification_refused:
                return
            raise AssertionError(f"qualify with {bant} was not refused")
        app.leads.qualify(lead_id, bant, None, ctx)
        lead.sql_at = lead.sql_at or at
    elif op.kind == "convert":
        opportunity = None
        if op.arg is not None:
            opportunity = {"name": f"deal {lead.email}", "amount": money_text(op.arg)}
        if lead.converted_at is not None or lead.status == "Unqualified":
            try:
                app.conversion.convert(lead_id, ctx, opportunity=opportunity)
            except conversion_refused:
                return
            raise AssertionError(f"converting a {lead.status} lead was not refused")
        answer = app.conversion.convert(lead_id, ctx, opportunity=opportunity)
        lead.converted_at = at
        lead.statuses.append((at, ref.tick(), "Converted"))
        lead.status = "Converted"
        ref.contacts.add(lead.email)
        if op.arg is not None:
            lead.opportunity_id = answer["opportunity_id"]
            lead.opportunity_amount = Fraction(op.arg, 100)
            lead.opened_at = at
    elif op.kind == "close":
        if lead.opportunity_id is None:
            return
        outcome, amount = op.arg
        opp_id = uuid(lead.opportunity_id)
        try:
            if outcome == "won":
                app.opportunities.win(opp_id, None if amount is None else money_text(amount), ctx)
            else:
                app.opportunities.lose(opp_id, "went with a competitor", ctx)
        except outcome_refused:
            assert lead.outcome is not None, "a first outcome was refused"
            return
        assert lead.outcome is None, "a second outcome was accepted"
        lead.outcome, lead.closed_at = outcome, at
        if outcome == "won":
            lead.won_amount = lead.opportunity_amount if amount is None else Fraction(amount, 100)
    else:
        raise AssertionError(op.kind)
    lead.clock = at
