"""Random lead histories, played through the use cases, and an independent reference of the
read models (CONTRACT 3 and 7).

`random_plan` makes a history: engagement batches (out of business order, duplicated ids with
other payloads, email spelled in several ways), status changes, owner assignments, BANT
qualification, conversions with and without an opportunity, wins and losses, spend records
with restatements. `play` drives it through leadflow's application use cases and, beside
them, through `Reference`: a plain model of the contract's sentences that imports nothing of
leadflow. `Reference.funnel`, `.rates` and `.roi` answer CONTRACT 7 from what was issued.

Readings of the contract that the reference makes (where it is not explicit):
- A lead captured after `as_of` is not in the cohort (it was not a lead at `as_of`).
- Status and owner at `as_of` are the last change with `occurred_at <= as_of` in business
  time, ties in command order; `New` and no owner before any change. Conversion is a
  change to `Converted` at its `occurred_at`. Setting the status or owner a lead already
  has changes nothing.
- Lifecycle commands of one lead (status, qualify, convert, win/lose) are issued in business
  time order here, so "as it was at as_of" never has to weigh contradicting commands.
  Owner assignments are issued at random business times.
- A second qualify of an SQL lead keeps the first `sql_at` (issued later, see above).
- Engagement for a converted lead's email is the contact's activity: it neither scores nor
  moves the lead's first touch, whatever its `occurred_at`.
- Spend: the amounts of records named by an accepted record's `replaces` do not count; the
  restating record counts with its own source, campaign and period. The generator never
  lets two accepted records restate the same one (the contract does not say which wins).
- `won` needs the opportunity's won time at or before `as_of`; `lost` likewise its lost
  time; `opportunities` counts opportunities opened at or before `as_of`.
- `median_days_from_previous` is in days of 86,400 s, from the previous stage's time to
  this stage's, over leads having both at `as_of`.
- A `(none)` filter selects null keys; for ROI spend the filters apply to the record's
  own source and campaign.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from fractions import Fraction
from typing import Any, Protocol

# --- the contract's defaults (CONTRACT 3.2) -------------------------------------------

POINTS = {
    "form_submitted": 10, "email_opened": 1, "email_clicked": 3, "page_viewed": 1,
    "pricing_page_viewed": 5, "content_downloaded": 5, "webinar_attended": 15,
    "demo_requested": 30, "call_logged": 5, "unsubscribed": 0,
}  # fmt: skip
THRESHOLD = 50
STAGES = ("captured", "mql", "sql", "converted", "won")
NONE = "(none)"
STATUSES = ("Working", "Nurturing", "Unqualified")

SOURCES = ("webinar", "paid_social", "seo")
SPEND_SOURCES = (*SOURCES, "events")  # "events" has spend and never a lead
CAMPAIGNS = ("c-alpha", "c-beta", None)
SPEND_CAMPAIGNS = ("c-alpha", "c-beta", "c-gamma", None)
OWNERS = ("alice", "bob", "carol")
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)),
         timezone(timedelta(hours=5, minutes=30)))
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 300


# --- choices: from Hypothesis (shrinks) or from random.Random (fixed seeds) -------------


class Pick(Protocol):
    def int(self, lo: int, hi: int) -> int: ...


class RandomPick:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)


class DrawPick:
    """Draws through Hypothesis' `data` so that failures shrink (towards `lo`)."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data, self._st = data, st

    def int(self, lo: int, hi: int) -> int:
        return int(self._data.draw(self._st.integers(lo, hi)))


def choice(pick: Pick, options: Sequence[Any]) -> Any:
    return options[pick.int(0, len(options) - 1)]


def chance(pick: Pick, percent: int) -> bool:
    """True with `percent` % probability; shrinks to False."""
    return pick.int(0, 99) >= 100 - percent


def when(pick: Pick, days: int = DAYS) -> datetime:
    """A business time in the window; often on a day's midnight or noon, so that times tie."""
    day = T0 + timedelta(days=pick.int(0, days))
    kind = pick.int(0, 3)
    seconds = 0 if kind == 0 else 43_200 if kind == 1 else pick.int(0, 86_399)
    return day + timedelta(seconds=seconds)


def z(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def email_of(person: int) -> str:
    return f"person{person}@example{person % 2}.com"


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- the plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    """One engagement record as a marketing system sends it."""

    event_id: str
    type: str
    at: datetime  # UTC
    zone: int
    person: int
    spelling: int
    source: str
    campaign: str | None

    @property
    def email(self) -> str:
        base = email_of(self.person)
        return (base, base.upper(), f"  {base.capitalize()} ")[self.spelling]

    def record(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "type": self.type,
            "occurred_at": self.at.astimezone(ZONES[self.zone]).isoformat(),
            "email": self.email, "source": self.source, "campaign": self.campaign,
        }  # fmt: skip


@dataclass(frozen=True)
class SpendSpec:
    event_id: str
    source: str
    campaign: str | None
    cents: int
    as_number: bool
    period_start: date
    days: int
    replaces: str | None

    def record(self, replaces: str | None) -> dict[str, Any]:
        amount: Any = self.cents // 100 if self.as_number else money_text(self.cents)
        return {
            "event_id": self.event_id, "source": self.source, "campaign": self.campaign,
            "amount": amount, "currency": "USD",
            "period_start": self.period_start.isoformat(),
            "period_end": (self.period_start + timedelta(days=self.days)).isoformat(),
            "replaces": replaces,
        }  # fmt: skip


@dataclass(frozen=True)
class Command:
    kind: str  # status, assign, qualify, convert, close
    person: int
    at: datetime
    arg: Any = None


@dataclass(frozen=True)
class Engage:
    touches: tuple[Touch, ...]


@dataclass(frozen=True)
class SpendBatch:
    records: tuple[SpendSpec, ...]


Op = Engage | SpendBatch | Command


def random_plan(pick: Pick, people: tuple[int, int] = (2, 5), ops: tuple[int, int] = (10, 50),
                tag: str = "") -> list[Op]:
    """A history; `tag` prefixes event ids, so that several plans can share a store."""
    n_people = pick.int(*people)
    plan: list[Op] = []
    events = spends = 0
    sent: list[Touch] = []
    for _ in range(pick.int(*ops)):
        kind = pick.int(0, 15)
        if kind <= 4:
            touches: list[Touch] = []
            for _ in range(pick.int(1, 6)):
                if sent and chance(pick, 8):  # delivered again, as it was
                    touches.append(choice(pick, sent))
                    continue
                if events and chance(pick, 12):  # a reused id with another payload
                    event_id = f"{tag}e{pick.int(0, events - 1)}"
                else:
                    event_id, events = f"{tag}e{events}", events + 1
                touches.append(Touch(
                    event_id=event_id, type=choice(pick, tuple(POINTS)), at=when(pick),
                    zone=pick.int(0, len(ZONES) - 1), person=pick.int(0, n_people - 1),
                    spelling=pick.int(0, 2), source=choice(pick, SOURCES),
                    campaign=choice(pick, CAMPAIGNS),
                ))  # fmt: skip
                sent.append(touches[-1])
            plan.append(Engage(tuple(touches)))
        elif kind == 5:
            records = []
            for _ in range(pick.int(1, 3)):
                if spends and chance(pick, 12):
                    event_id = f"{tag}s{pick.int(0, spends - 1)}"
                else:
                    event_id, spends = f"{tag}s{spends}", spends + 1
                replaces = None
                if spends > 1 and chance(pick, 35):
                    replaces = f"{tag}s{pick.int(0, spends - 2)}"
                records.append(SpendSpec(
                    event_id=event_id, source=choice(pick, SPEND_SOURCES),
                    campaign=choice(pick, SPEND_CAMPAIGNS), cents=pick.int(0, 900_000),
                    as_number=chance(pick, 10),
                    period_start=(T0 + timedelta(days=pick.int(-40, DAYS + 20))).date(),
                    days=pick.int(0, 40), replaces=replaces,
                ))  # fmt: skip
            plan.append(SpendBatch(tuple(records)))
        else:
            person, at = pick.int(0, n_people - 1), when(pick)
            if kind in (6, 7):
                plan.append(Command("status", person, at, choice(pick, STATUSES)))
            elif kind in (8, 15):
                plan.append(Command("assign", person, at, choice(pick, (*OWNERS, None))))
            elif kind in (9, 12):
                # BANT answers as four bits; at least three true most of the time.
                bits = pick.int(0, 15) if chance(pick, 30) else choice(pick, (7, 11, 13, 14, 15))
                plan.append(Command("qualify", person, at, bits))
            elif kind in (10, 11):
                amount = pick.int(0, 5_000_000) if chance(pick, 65) else None
                plan.append(Command("convert", person, at, amount))
            else:
                won = chance(pick, 60)
                amount = pick.int(0, 5_000_000) if chance(pick, 40) else None
                plan.append(Command("close", person, at, ("won" if won else "lost", amount)))
    return plan


def random_cohort(pick: Pick) -> dict[str, Any]:
    """Filters mostly absent (so that cohorts are rarely empty), as_of anywhere."""
    roll = pick.int(0, 9)
    as_of = (when(pick) if roll < 5 else datetime.now(UTC) if roll < 8
             else T0 - timedelta(days=10) if roll == 8 else T0 + timedelta(days=DAYS + 60))
    from_ = None
    if chance(pick, 30):
        from_ = when(pick) if chance(pick, 50) else datetime.combine(when(pick).date(), time(),
                                                                     UTC)
    to = None
    if chance(pick, 30):
        base = from_ or T0
        to = base + timedelta(days=pick.int(1, DAYS)) if chance(pick, 70) else when(pick)

    def key(percent: int, options: Sequence[str]) -> str | None:
        return choice(pick, (NONE, *options)) if chance(pick, percent) else None

    return {
        "as_of": as_of, "from_": from_, "to": to,
        "source": key(20, SOURCES), "campaign": key(20, ("c-alpha", "c-beta", "c-gamma")),
        "owner": key(20, OWNERS), "stuck_days": choice(pick, (14, 7, 30)),
    }  # fmt: skip


# --- the reference model ---------------------------------------------------------------


def normalise(email: str) -> str:
    return email.strip().lower()


@dataclass
class RefLead:
    email: str
    lead_id: str = ""
    touches: list[tuple[datetime, str, str, str, str | None]] = field(default_factory=list)
    statuses: list[tuple[datetime, int, str]] = field(default_factory=list)
    owners: list[tuple[datetime, int, str | None]] = field(default_factory=list)
    status: str = "New"  # now, in command order
    owner: str | None = None
    clock: datetime | None = None  # the last lifecycle command's business time
    sql_at: datetime | None = None
    converted_at: datetime | None = None
    opportunity_id: str | None = None
    opportunity_amount: Fraction | None = None
    opened_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    won_amount: Fraction | None = None

    @property
    def first(self) -> tuple[datetime, str, str, str, str | None]:
        return min(self.touches, key=lambda t: (t[0], t[1]))

    @property
    def captured_at(self) -> datetime:
        return self.first[0]

    @property
    def source(self) -> str:
        return self.first[3]

    @property
    def campaign(self) -> str | None:
        return self.first[4]

    @property
    def score(self) -> int:
        return sum(POINTS[t[2]] for t in self.touches)

    @property
    def mql_at(self) -> datetime | None:
        running = 0
        for at, _, kind, _, _ in sorted(self.touches, key=lambda t: (t[0], t[1])):
            running += POINTS[kind]
            if running >= THRESHOLD:
                return at
        return None


@dataclass
class RefSpend:
    event_id: str
    source: str
    campaign: str | None
    amount: Fraction
    period_start: date
    replaces: str | None


@dataclass
class View:
    """A lead as it was at `as_of`."""

    captured_at: datetime
    source: str
    campaign: str | None
    owner: str | None
    times: list[datetime | None]
    status: str
    lost: bool
    opportunity: bool
    won_amount: Fraction | None

    @property
    def highest(self) -> int:
        return max(i for i, t in enumerate(self.times) if t is not None)


def _at_or_before(value: datetime | None, as_of: datetime) -> datetime | None:
    return value if value is not None and value <= as_of else None


def _last(changes: list[tuple[datetime, int, Any]], as_of: datetime, default: Any) -> Any:
    before = [c for c in changes if c[0] <= as_of]
    return max(before, key=lambda c: (c[0], c[1]))[2] if before else default


def _days(later: datetime, earlier: datetime) -> Fraction:
    gap = later - earlier
    return (gap.days * 86_400 + gap.seconds + Fraction(gap.microseconds, 10**6)) / 86_400


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def money(value: Fraction) -> str:
    """Half-up to the cent (values here are never negative)."""
    cents = value * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return money_text(whole)


@dataclass
class Reference:
    leads: dict[str, RefLead] = field(default_factory=dict)
    contacts: set[str] = field(default_factory=set)  # emails that are a contact's
    seen: set[str] = field(default_factory=set)
    spend: dict[str, RefSpend] = field(default_factory=dict)
    seq: int = 0

    def tick(self) -> int:
        self.seq += 1
        return self.seq

    # --- CONTRACT 7 ---------------------------------------------------------------

    def cohort(self, c: dict[str, Any], use_owner: bool = True) -> list[View]:
        as_of: datetime = c["as_of"]
        out = []
        for lead in self.leads.values():
            captured = lead.captured_at
            if captured > as_of:
                continue
            if c["from_"] is not None and captured < c["from_"]:
                continue
            if c["to"] is not None and captured >= c["to"]:
                continue
            if c["source"] is not None and (lead.source or NONE) != c["source"]:
                continue
            if c["campaign"] is not None and (lead.campaign or NONE) != c["campaign"]:
                continue
            owner = _last(lead.owners, as_of, None)
            if use_owner and c["owner"] is not None and (owner or NONE) != c["owner"]:
                continue
            won_at = _at_or_before(lead.closed_at, as_of) if lead.outcome == "won" else None
            out.append(View(
                captured_at=captured, source=lead.source, campaign=lead.campaign, owner=owner,
                times=[captured, _at_or_before(lead.mql_at, as_of),
                       _at_or_before(lead.sql_at, as_of),
                       _at_or_before(lead.converted_at, as_of), won_at],
                status=_last(lead.statuses, as_of, "New"),
                lost=lead.outcome == "lost" and _at_or_before(lead.closed_at, as_of) is not None,
                opportunity=_at_or_before(lead.opened_at, as_of) is not None,
                won_amount=lead.won_amount if won_at is not None else None,
            ))  # fmt: skip
        return out

    @staticmethod
    def counts(views: list[View]) -> list[int]:
        return [sum(1 for v in views if v.highest >= i) for i in range(len(STAGES))]

    def funnel(self, c: dict[str, Any]) -> list[dict[str, Any]]:
        views = self.cohort(c)
        n = self.counts(views)
        stages = []
        for i, name in enumerate(STAGES):
            gaps = [
                _days(later, earlier)
                for later, earlier in ((v.times[i], v.times[i - 1]) for v in views if i > 0)
                if later is not None and earlier is not None
            ]
            here = [v for v in views if v.highest == i]
            dropped = [v for v in here if v.status == "Unqualified" or v.lost]
            stuck = [
                v for v in here
                if name != "won" and v not in dropped
                and c["as_of"] - v.times[i] > timedelta(days=c["stuck_days"])
            ]  # fmt: skip
            stages.append({
                "stage": name, "count": n[i],
                "rate_from_previous": None if i == 0 else _ratio(n[i], n[i - 1]),
                "rate_from_captured": _ratio(n[i], n[0]),
                "median_days_from_previous": float(statistics.median(gaps)) if gaps else None,
                "stuck": len(stuck), "dropped": len(dropped),
            })  # fmt: skip
        return stages

    @staticmethod
    def key(view: View, by: str) -> str:
        if by == "month":
            return view.captured_at.astimezone(UTC).strftime("%Y-%m")
        return getattr(view, by) or NONE

    def rates(self, c: dict[str, Any], by: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[View]] = defaultdict(list)
        for v in self.cohort(c):
            groups[self.key(v, by)].append(v)
        rows = {}
        for k, views in groups.items():
            n = self.counts(views)
            rows[k] = {
                "key": k, "leads": n[0], "mql": n[1], "sql": n[2], "converted": n[3],
                "won": n[4], "lead_to_mql": _ratio(n[1], n[0]), "mql_to_sql": _ratio(n[2], n[1]),
                "sql_to_converted": _ratio(n[3], n[2]), "converted_to_won": _ratio(n[4], n[3]),
                "lead_to_converted": _ratio(n[3], n[0]),
            }
        return rows

    def effective_spend(self) -> list[RefSpend]:
        replaced = {s.replaces for s in self.spend.values() if s.replaces}
        return [s for s in self.spend.values() if s.event_id not in replaced]

    def roi(self, c: dict[str, Any], by: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[View]] = defaultdict(list)
        for v in self.cohort(c, use_owner=False):
            groups[self.key(v, by)].append(v)
        spend: dict[str, Fraction] = defaultdict(Fraction)
        for s in self.effective_spend():
            start = datetime.combine(s.period_start, time(), UTC)
            if start > c["as_of"]:
                continue
            if c["from_"] is not None and start < c["from_"]:
                continue
            if c["to"] is not None and start >= c["to"]:
                continue
            if c["source"] is not None and s.source != c["source"]:
                continue
            if c["campaign"] is not None and (s.campaign or NONE) != c["campaign"]:
                continue
            spend[(s.source if by == "source" else s.campaign) or NONE] += s.amount
        rows = {}
        for k in set(groups) | set(spend):
            views = groups.get(k, [])
            n = self.counts(views)
            cost = spend.get(k, Fraction(0))
            revenue = sum((v.won_amount for v in views if v.won_amount is not None), Fraction(0))
            rows[k] = {
                "key": k, "spend": money(cost), "leads": n[0], "mql": n[1], "sql": n[2],
                "converted": n[3], "opportunities": sum(1 for v in views if v.opportunity),
                "won": n[4], "won_revenue": money(revenue),
                "cost_per_lead": money(cost / n[0]) if n[0] else None,
                "cost_per_conversion": money(cost / n[3]) if n[3] else None,
                "roi": float((revenue - cost) / cost) if cost else None,
            }
        return rows


# --- playing a plan through leadflow and the reference ----------------------------------


def play(app: Any, plan: Sequence[Op], ref: Reference | None = None) -> Reference:
    """Issues `plan` through the application use cases; returns the reference beside it.

    Commands the contract would refuse are issued when the refusal is contracted (qualify
    with fewer than three true answers, converting an Unqualified or converted lead, a
    second outcome) and must be refused; commands on people who are not (or no longer)
    leads are left out, as are the cases the contract leaves open (see the module doc).
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
