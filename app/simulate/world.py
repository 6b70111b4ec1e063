"""`generate(seed, days, leads_per_day)`: a seeded marketing organisation over N days.

Everything comes from one `random.Random(seed)` (and per-lead generators seeded by text),
so the same arguments give the same world, byte for byte.
"""

from __future__ import annotations

import random
from calendar import monthrange
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from leadflow.simulate.faults import LATE_SECTION, ON_TIME, duplicates, malformed
from leadflow.simulate.model import (
    ENGAGEMENT,
    EVENT,
    LATE,
    RESTATEMENT,
    SPEND,
    SPEND_LINE,
    Record,
    SpendLine,
    Touch,
    World,
    encode,
)
from leadflow.simulate.people import EXTRA_SPEND, SOURCES, Person, TouchMaker, make_person
from leadflow.simulate.rules import Rules, SimulationError, load_rules

# A fixed past start keeps the truth independent of the day it is computed.
START = datetime(2025, 1, 27, tzinfo=UTC)
FRACTIONS = {"duplicate": 0.05, "late": 0.04, "malformed": 0.02}
CUSTOMER_SHARE = 0.03


def _touch_record(t: Touch, phase: int, kind: str) -> Record:
    return Record(ENGAGEMENT, phase, kind, t.email.encode(), encode(t.payload()), touch=t)


def _people(rng: random.Random, w: World, tag: str) -> list[Person]:
    people: list[Person] = []
    for day in range(w.days):
        for _ in range(max(1, round(w.leads_per_day * rng.uniform(0.7, 1.3)))):
            people.append(make_person(rng, len(people), day, tag, customer=False))
    customers = max(2, round(len(people) * CUSTOMER_SHARE))
    for _ in range(customers):
        people.append(make_person(rng, len(people), rng.randrange(w.days), tag, customer=True))
    # A few prospects are customers under a second address; reps link them on conversion.
    prospects = [p for p in people if not p.customer and not p.junk]
    for c in people[-customers:][: max(1, customers // 2)]:
        twin = rng.choice(prospects)
        twin.alter_ego_of, twin.intent = c.email, max(twin.intent, 0.9)
    return people


def _engagement(rng: random.Random, w: World, people: list[Person]) -> list[tuple[Record, int]]:
    maker = TouchMaker(rng, w.run_id, w.start, w.days)
    for p in people:
        p.touches = maker.sequence(p)
    total = sum(len(p.touches) for p in people)
    # A third of the late records are earlier first touches: they move the capture.
    n_pre = min(round(w.fractions["late"] * total / 3), len(people) - 1)
    late_target = round(w.fractions["late"] * (total + n_pre))
    pre_people = rng.sample([p for p in people if not p.customer], n_pre)
    out: list[tuple[Record, int]] = []
    for p in pre_people:
        pre = maker.pre_touch(p, p.touches[0])
        phase = min(w.days - 1, p.arrival + rng.randint(1, 3))
        out.append((_touch_record(pre, phase, LATE), LATE_SECTION))
    candidates = [(p.n, i) for p in people for i in range(1, len(p.touches) - 1)]
    late = set(rng.sample(candidates, min(len(candidates), late_target - n_pre)))
    for p in people:
        phases = [0] * len(p.touches)
        # From the last touch back, so that a late touch is sent after its successor.
        for i in range(len(p.touches) - 1, -1, -1):
            t = p.touches[i]
            day = (t.at - w.start).days
            if (p.n, i) in late:
                phases[i] = min(w.days - 1, max(phases[i + 1], day + rng.randint(1, 3)))
                out.append((_touch_record(t, phases[i], LATE), LATE_SECTION))
            else:
                phases[i] = day
                out.append((_touch_record(t, phases[i], EVENT), ON_TIME))
    return out


def _spend(rng: random.Random, w: World) -> list[tuple[Record, int]]:
    months = sorted(
        {(d.year, d.month) for d in (w.start + timedelta(days=i) for i in range(w.days))}
    )
    keys = [(s.name, c, s.budget) for s in SOURCES if s.budget for c in s.campaigns]
    keys += list(EXTRA_SPEND)
    out = []
    for year, month in months:
        first = date(year, month, 1)
        period = (first, date(year, month, monthrange(year, month)[1]))
        phase = max(0, (datetime(year, month, 1, tzinfo=UTC) - w.start).days)
        for source, campaign, budget in keys:
            amount = Decimal(budget * rng.uniform(0.8, 1.2)).quantize(Decimal("0.01"))
            line = SpendLine(
                f"{w.run_id}-spend-{source}-{campaign or 'none'}-{year}{month:02d}",
                source,
                campaign,
                amount,
                *period,
            )
            chain = [(line, phase, SPEND_LINE)]
            while rng.random() < 0.3 and len(chain) < 3:  # ad platforms restate spend
                prev, prev_phase, _ = chain[-1]
                amount = (prev.amount * Decimal(rng.uniform(0.85, 1.1))).quantize(Decimal("0.01"))
                restated = SpendLine(
                    f"{line.event_id}-r{len(chain)}",
                    source,
                    campaign,
                    amount,
                    *period,
                    replaces=prev.event_id,
                )
                chain.append(
                    (restated, min(w.days - 1, prev_phase + rng.randint(1, 6)), RESTATEMENT)
                )
            for s, p, kind in chain:
                rec = Record(
                    SPEND, p, kind, source.encode(), encode(s.payload(w.rules.currency)), spend=s
                )
                out.append((rec, ON_TIME))
    return out


def generate(
    seed: int = 1,
    days: int = 30,
    leads_per_day: int = 40,
    rules: Rules | None = None,
    start: datetime = START,
    fractions: dict[str, float] | None = None,
) -> World:
    if days < 1 or leads_per_day < 1:
        raise SimulationError("days and leads per day must be at least 1")
    rules = rules or load_rules()
    # Read models default as_of to now; the truth for "now" holds once nothing can still
    # become stuck, i.e. when the world ended more than stuck_days ago.
    if start + timedelta(days=days + rules.stuck_days + 1) > datetime.now(UTC):
        raise SimulationError(f"{days} days from {start.date()} end too close to today")
    rng = random.Random(seed)
    tag = f"s{seed}d{days}l{leads_per_day}"
    w = World(
        seed,
        days,
        leads_per_day,
        start,
        rules,
        run_id=f"sim-{tag}",
        fractions={**FRACTIONS, **(fractions or {})},
    )
    people = _people(rng, w, tag)
    placed = _engagement(rng, w, people)
    spend = _spend(rng, w)
    valid = [r for r, _ in placed + spend]
    placed += duplicates(rng, w, valid)
    placed += malformed(
        rng, w, len([r for r in valid if r.touch]), len(spend), [p.email for p in people]
    )
    placed += spend
    order = {id(r): i for i, (r, _) in enumerate(placed)}

    def publish_order(item: tuple[Record, int]) -> tuple[int, int, datetime, int]:
        r, section = item
        at = r.touch.at if r.touch else w.start
        return (r.phase, section, at, order[id(r)])

    w.records = [r for r, _ in sorted(placed, key=publish_order)]
    from leadflow.simulate.reps import plan

    w.commands = plan(w, people)
    return w
