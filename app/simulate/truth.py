"""`compute(world)`: the ground truth leadflow's read models must show after the world.

It plays the world through the simulation's own `Ledger` (CONTRACT 3, 4) and answers the
check's queries with its own read models (CONTRACT 7); nothing of leadflow's code is used.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadflow.simulate import answers
from leadflow.simulate.answers import LeadFacts, Query
from leadflow.simulate.facts import LeadState, Ledger
from leadflow.simulate.model import World, iso
from leadflow.simulate.rules import Rules, SimulationError

VERSION = 1


def lead_facts(lead: LeadState, rules: Rules) -> LeadFacts:
    opp = lead.opportunity
    first = lead.first
    return LeadFacts(
        email=lead.email,
        captured_at=first.at,
        source=first.source,
        campaign=first.campaign,
        mql_at=lead.mql_at(rules),
        sql_at=lead.sql_at,
        converted_at=lead.converted_at,
        opened_at=opp.opened_at if opp else None,
        won_at=opp.closed_at if opp and opp.outcome == "won" else None,
        won_amount=opp.won_amount if opp and opp.outcome == "won" else None,
        lost_at=opp.closed_at if opp and opp.outcome == "lost" else None,
        statuses=tuple(lead.statuses),
        owners=tuple(lead.owners),
    )


def _t(value: Any) -> str | None:
    return None if value is None else iso(value)


def lead_view(lead: LeadState, facts: LeadFacts, ledger: Ledger) -> dict[str, Any]:
    """What GET /leads?email= must show for the lead (CONTRACT 6)."""
    stage = [s for s, t in zip(answers.STAGES, facts.times(answers.NOW), strict=True) if t][-1]
    opp = lead.opportunity
    rules = ledger.rules
    return {
        "status": lead.status,
        "stage": stage,
        "outcome": opp.outcome if opp else None,
        "score": lead.score(rules),
        "source": facts.source,
        "campaign": facts.campaign,
        "owner": lead.owner,
        "captured_at": _t(facts.captured_at),
        "mql_at": _t(facts.mql_at),
        "sql_at": _t(facts.sql_at),
        "converted_at": _t(facts.converted_at),
        "won_at": _t(facts.won_at),
        "email_opt_out": any(t.type == "unsubscribed" for t in lead.touches),
        "profile": lead.profile(),
        "score_breakdown": [t.event_id for t in lead.ordered()],
        "contact": lead.contact,
        "opportunity": opp is not None,
    }


def queries(w: World, top_source: str) -> list[tuple[str, str, Query]]:
    """(name, path with `by`, query): every read model without filters, with a cohort
    window, a source, an owner and two past as_of values."""

    def day(n: int) -> datetime:
        return w.start + timedelta(days=n)

    start, end = day(w.days // 4), day((3 * w.days) // 4 + 1)
    mid = day(w.days // 2) + timedelta(hours=12)
    last = day(w.days - 1) + timedelta(hours=20, minutes=30)
    variants: list[tuple[str, Query]] = [
        ("all", Query()),
        ("window", Query(from_=start, to=end)),
        ("source", Query(source=top_source)),
        ("owner", Query(owner="alice")),
        ("no-owner", Query(owner=answers.NONE)),
        ("as_of-mid", Query(as_of=mid)),
        ("as_of-last", Query(as_of=last)),
        ("window-as_of", Query(from_=start, to=end, as_of=last)),
        ("no-campaign", Query(campaign=answers.NONE)),
    ]
    out = [(f"funnel {n}", "/funnel", q) for n, q in variants]
    for by in ("source", "campaign", "owner", "month"):
        out += [(f"rates by {by} {n}", f"/conversion-rates?by={by}", q) for n, q in variants]
    for by in ("source", "campaign"):
        out += [(f"roi by {by} {n}", f"/roi?by={by}", q) for n, q in variants if q.owner is None]
    return out


def compute(w: World) -> dict[str, Any]:
    ledger = Ledger(w.rules)
    wrong = ledger.play(w.records, w.commands, w.days)
    if wrong:
        raise SimulationError(f"the world's expected answers disagree with its truth: {wrong[:5]}")
    facts = {email: lead_facts(lead, w.rules) for email, lead in ledger.leads.items()}
    leads = list(facts.values())
    top_source = Counter(f.source for f in leads).most_common(1)[0][0] if leads else "organic"
    checks = []
    for name, path, q in queries(w, top_source):
        if path == "/funnel":
            expect = answers.funnel(leads, q, w.rules.stuck_days)
        elif path.startswith("/roi"):
            expect = answers.roi(leads, ledger.spend, q, path.split("=")[1])
        else:
            expect = answers.rates(leads, q, path.split("=")[1])
        checks.append(
            {
                "name": name,
                "path": path,
                "params": q.params(not path.startswith("/roi")),
                "expect": expect,
            }
        )
    kinds = Counter(r.kind for r in w.records)
    return {
        "version": VERSION,
        "seed": w.seed,
        "days": w.days,
        "leads_per_day": w.leads_per_day,
        "start": iso(w.start),
        "run_id": w.run_id,
        "rules": w.rules.as_json(),
        "counts": {
            "records": len(w.records),
            **dict(sorted(kinds.items())),
            "commands": len(w.commands),
            "refused_commands": sum(1 for c in w.commands if c.expect == 409),
            "leads": len(leads),
            "contacts": len(ledger.contacts),
            "spend_lines": len(ledger.spend),
        },
        "dlq": {topic: sorted(markers) for topic, markers in ledger.dlq.items()},
        "leads": {e: lead_view(ledger.leads[e], facts[e], ledger) for e in sorted(facts)},
        "contacts": {k: sorted(t.event_id for t in v) for k, v in sorted(ledger.contacts.items())},
        "not_leads": sorted(e for e, k in ledger.contact_of.items() if e not in ledger.leads),
        "queries": checks,
    }


def write(truth: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


def read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SimulationError(f"{path}: cannot read the truth: {e}") from e
    if data.get("version") != VERSION:
        raise SimulationError(f"{path}: not a truth file of version {VERSION}")
    return data
