"""`leadflow lead ...` and `leadflow opportunity ...`: show and change leads."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from leadflow.application.commands import CommandContext
from leadflow.application.views import iso, load_lead_view
from leadflow.cli.common import (
    EXIT_NOT_FOUND,
    console,
    fail,
    leadflow,
    parse_uuid,
    print_json,
    run_domain,
)
from leadflow.container import Leadflow
from leadflow.domain.identity import normalise_email
from leadflow.domain.lead import Lead

lead_app = typer.Typer(help="Show a lead and act on it.", no_args_is_help=True)
opportunity_app = typer.Typer(help="Record an opportunity's outcome.", no_args_is_help=True)


def _find_lead(lf: Leadflow, ref: str) -> Lead:
    if "@" in ref:
        person = run_domain(lambda: lf.people.find(normalise_email(ref)))
        if person is None or person.kind != "lead":
            raise fail("no lead has that email", EXIT_NOT_FOUND)
        lead_id = person.id
    else:
        lead_id = parse_uuid(ref, "lead id")
    lead = lf.store.find(lead_id, Lead)
    if lead is None:
        raise fail(f"no lead {lead_id}", EXIT_NOT_FOUND)
    return lead


def _ctx(key: str | None, scope: str) -> CommandContext:
    return CommandContext.now(actor="cli", idempotency_key=key, scope=scope, fingerprint="cli")


def _event_details(state: dict[str, Any]) -> str:
    skip = {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "person",
        "properties",
        "extra",
        "audit",
        "email",
        "occurred_at",
        "fit_points",
        "bant",
    }
    return ", ".join(f"{k}={v}" for k, v in state.items() if k not in skip and v is not None)


@lead_app.command("show")
def show(
    ref: str = typer.Argument(help="lead id or email"),
    as_json: bool = typer.Option(False, "--json", help="print the contract's JSON view"),
) -> None:
    """A lead, its timeline, and its score explained event by event."""
    with leadflow() as lf:
        lead = _find_lead(lf, ref)
        view = load_lead_view(lf.store, lead)
        if as_json:
            print_json(view)
            return
        console.print(
            f"[bold]{view['email']}[/]  {view['status']}  stage [bold]{view['stage']}[/]  "
            f"score [bold]{view['score']}[/]  owner {view['owner'] or '-'}\n"
            f"first touch {view['captured_at']} via {view['source']} / "
            f"{view['campaign'] or '(none)'}   mql {view['mql_at'] or '-'}   "
            f"sql {view['sql_at'] or '-'}   converted {view['converted_at'] or '-'}"
        )
        score = Table(title="Score, event by event", show_lines=False)
        for col in ("occurred_at", "event_id", "type", "points", "running"):
            score.add_column(col)
        running = 0
        for item in view["score_breakdown"]:
            running += item["points"]
            score.add_row(
                item["occurred_at"] or "-",
                item["event_id"] or "-",
                item["type"],
                str(item["points"]),
                str(running),
            )
        console.print(score)
        timeline = Table(title="Timeline (recorded order)")
        for col in ("v", "event", "occurred_at", "recorded_at", "details"):
            timeline.add_column(col)
        for event in lf.store.app.events.get(lead.id):
            state = dict(vars(event))
            timeline.add_row(
                str(event.originator_version),
                type(event).__name__,
                (iso(state.get("occurred_at")) or "-")[:16],
                (iso(getattr(event, "timestamp", None)) or "-")[:16],
                _event_details(state)[:90],
            )
        console.print(timeline)


@lead_app.command("status")
def status(
    ref: str,
    new_status: str = typer.Argument(metavar="STATUS"),
    reason: str | None = None,
    key: str | None = typer.Option(None, help="idempotency key"),
) -> None:
    """Set Working, Nurturing or Unqualified."""
    with leadflow() as lf:
        lead = _find_lead(lf, ref)
        print_json(
            run_domain(
                lambda: lf.leads.set_status(
                    lead.id, new_status, reason, _ctx(key, f"status:{lead.id}")
                )
            )
        )


@lead_app.command("assign")
def assign(
    ref: str, owner: str, key: str | None = typer.Option(None, help="idempotency key")
) -> None:
    """Give the lead an owner."""
    with leadflow() as lf:
        lead = _find_lead(lf, ref)
        print_json(
            run_domain(lambda: lf.leads.assign(lead.id, owner, _ctx(key, f"assign:{lead.id}")))
        )


@lead_app.command("qualify")
def qualify(
    ref: str,
    budget: bool = typer.Option(False, "--budget/--no-budget"),
    authority: bool = typer.Option(False, "--authority/--no-authority"),
    need: bool = typer.Option(False, "--need/--no-need"),
    timeline: bool = typer.Option(False, "--timeline/--no-timeline"),
    notes: str | None = None,
    key: str | None = typer.Option(None, help="idempotency key"),
) -> None:
    """SQL by BANT: at least three of budget, authority, need, timeline."""
    bant = {"budget": budget, "authority": authority, "need": need, "timeline": timeline}
    with leadflow() as lf:
        lead = _find_lead(lf, ref)
        print_json(
            run_domain(
                lambda: lf.leads.qualify(lead.id, bant, notes, _ctx(key, f"qualify:{lead.id}"))
            )
        )


@lead_app.command("convert")
def convert(
    ref: str,
    contact_id: str | None = None,
    account_id: str | None = None,
    opportunity: str | None = typer.Option(None, help="opportunity name"),
    amount: str | None = typer.Option(None, help="opportunity amount"),
    key: str | None = typer.Option(None, help="idempotency key"),
) -> None:
    """Convert into a contact under an account, optionally with an opportunity."""
    opp = None
    if opportunity is not None or amount is not None:
        opp = {"name": opportunity, "amount": amount}
    with leadflow() as lf:
        lead = _find_lead(lf, ref)
        cid = parse_uuid(contact_id, "contact id") if contact_id else None
        aid = parse_uuid(account_id, "account id") if account_id else None
        print_json(
            run_domain(
                lambda: lf.conversion.convert(
                    lead.id,
                    _ctx(key, f"convert:{lead.id}"),
                    contact_id=cid,
                    account_id=aid,
                    opportunity=opp,
                )
            )
        )


@opportunity_app.command("won")
def won(opportunity_id: str, amount: str | None = None) -> None:
    """Record the opportunity as won (amount defaults to the opportunity's)."""
    with leadflow() as lf:
        oid = parse_uuid(opportunity_id, "opportunity id")
        print_json(run_domain(lambda: lf.opportunities.win(oid, amount, _ctx(None, "won"))))


@opportunity_app.command("lost")
def lost(opportunity_id: str, reason: str = typer.Option(..., help="why it was lost")) -> None:
    """Record the opportunity as lost."""
    with leadflow() as lf:
        oid = parse_uuid(opportunity_id, "opportunity id")
        print_json(run_domain(lambda: lf.opportunities.lose(oid, reason, _ctx(None, "lost"))))
