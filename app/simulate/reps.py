"""Reps at work: each evening they assign, work, qualify, disqualify and convert the leads
leadflow holds by then, and win or lose opportunities days later.

They act only on what is exactly known: the plan plays the world through a `Ledger` as it
goes, so every command targets a lead that exists at that point, and the answer leadflow
must give (200, 201 or 409) is the ledger's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.simulate.facts import CONVERTED, NEW, NURTURING, UNQUALIFIED, WORKING, Ledger
from leadflow.simulate.model import Command, Record, World
from leadflow.simulate.people import Person

TERRITORIES = {"US": ("alice", "bob"), "CA": ("alice", "bob"), "IN": ("eve",), "AU": ("eve",)}
EUROPE = ("chen", "dana")
REPS = ("alice", "bob", "chen", "dana", "eve")


@dataclass
class Memory:
    """What a rep remembers about a lead between evenings."""

    since: int = 0  # the day of the last status change or qualification
    delay: int = 1
    fate: str = "open"  # won, lost or open, decided when the deal is made
    close_day: int = 0
    won_amount: str | None = None


class Planner:
    def __init__(self, w: World, people: list[Person]) -> None:
        self.w = w
        self.people = {p.email: p for p in people}
        self.ledger = Ledger(w.rules)
        self.memory: dict[str, Memory] = {}
        self.commands: list[Command] = []
        self.tick = 0

    def add(
        self,
        phase: int,
        email: str,
        action: str,
        body: dict[str, Any],
        *,
        before_publish: bool = False,
        link: str | None = None,
        at: datetime | None = None,
    ) -> int:
        # Evenings from 20:00, three seconds apart: each lead's commands in time order.
        self.tick += 1
        at = at or self.w.start + timedelta(days=phase, hours=20, seconds=3 * self.tick)
        c = Command(
            phase,
            at,
            email,
            action,
            body,
            f"{self.w.run_id}-c{len(self.commands)}",
            0,
            before_publish,
            link,
        )
        expect = self.ledger.command(c)
        self.commands.append(
            Command(
                c.phase,
                c.at,
                c.email,
                c.action,
                c.body,
                c.key,
                expect,
                c.before_publish,
                c.link_contact,
            )
        )
        return expect

    def import_customers(self) -> None:
        """The CRM's existing customers, entered before any of their engagement arrives."""
        for p in self.people.values():
            if p.customer:
                body = {k: p.profile[k] for k in ("first_name", "last_name", "company")}
                self.add(
                    0,
                    p.email,
                    "create_contact",
                    {"email": p.email, **body},
                    before_publish=True,
                    at=self.w.start - timedelta(days=30),
                )

    def evening(self, day: int) -> None:
        self.tick = 0
        for email in sorted(self.ledger.leads):
            lead = self.ledger.leads[email]
            if lead.phase_captured <= day:
                self.act(day, email, random.Random(f"{self.w.seed}:{email}:{day}"))

    def act(self, day: int, email: str, rng: random.Random) -> None:
        lead, person = self.ledger.leads[email], self.people[email]
        mem = self.memory.setdefault(email, Memory())
        if lead.converted_at is not None:
            self.close(day, email, rng, mem)
            return
        mql = lead.score(self.w.rules) >= self.w.rules.mql_threshold
        if day == lead.phase_captured:
            if person.junk and rng.random() < 0.6:
                self.status(day, email, UNQUALIFIED, "not a buyer", mem)
                return
            if rng.random() < 0.85:
                self.add(day, email, "assign", {"owner": territory(person, rng)})
        elif lead.owner is None and rng.random() < 0.25:
            self.add(day, email, "assign", {"owner": territory(person, rng)})
        elif lead.owner is not None and lead.status != UNQUALIFIED and rng.random() < 0.02:
            others = [r for r in REPS if r != lead.owner]
            self.add(day, email, "assign", {"owner": rng.choice(others)})
        if day == lead.phase_captured + 1 and rng.random() < 0.02:
            # The CRM tries to import the person as a contact: refused, a lead has the email.
            self.add(day, email, "create_contact", {"email": email, "first_name": "Imported"})
        status = lead.status
        if (
            status == NEW
            and person.source.name == "referral"
            and lead.sql_at is None
            and day > lead.phase_captured
            and rng.random() < 0.3
        ):
            # A referral's call: qualified on the phone, never having been MQL.
            self.qualify(day, email, 4, mem)
        elif status == NEW and mql and lead.owner is not None:
            self.status(day, email, WORKING, None, mem)
        elif (
            status in (UNQUALIFIED, NURTURING)
            and mql
            and day - mem.since >= 3
            and rng.random() < 0.4
        ):
            self.status(day, email, WORKING, "re-engaged", mem)
        elif status == WORKING and lead.sql_at is None and day - mem.since >= mem.delay:
            yes = 4 if person.fit > 0.7 else 3 if person.fit > 0.35 else 2
            if self.qualify(day, email, yes, mem) == 409:
                self.status(
                    day, email, NURTURING if rng.random() < 0.6 else UNQUALIFIED, "not ready", mem
                )
        elif (
            lead.sql_at is not None
            and status not in (CONVERTED, UNQUALIFIED)
            and day - mem.since >= mem.delay
        ):
            if rng.random() < 0.3 + 0.6 * person.intent:
                self.convert(day, email, person, rng, mem)
            elif status != NURTURING and rng.random() < 0.3:
                self.status(day, email, NURTURING, "stalled", mem)

    def status(self, day: int, email: str, status: str, reason: str | None, mem: Memory) -> None:
        if self.add(day, email, "status", {"status": status, "reason": reason}) == 200:
            mem.since, mem.delay = day, 1 + (hash_day(email, day) % 4)

    def qualify(self, day: int, email: str, yes: int, mem: Memory) -> int:
        answers = [True] * yes + [False] * (4 - yes)
        body = dict(zip(("budget", "authority", "need", "timeline"), answers, strict=True))
        code = self.add(day, email, "qualify", {**body, "notes": None})
        if code == 200:
            mem.since, mem.delay = day, 1 + (hash_day(email, day) % 5)
        return code

    def convert(
        self, day: int, email: str, person: Person, rng: random.Random, mem: Memory
    ) -> None:
        body: dict[str, Any] = {}
        if rng.random() < 0.85:
            size = person.profile["company_size"]
            amount = Decimal(rng.randint(20, 400) * (100 if size < 500 else 400))
            body["opportunity"] = {
                "name": f"{person.profile['company']} {person.campaign or ''}".strip(),
                "amount": f"{amount:.2f}",
            }
            roll = rng.random()
            mem.fate = "won" if roll < 0.45 else "lost" if roll < 0.8 else "open"
            mem.close_day = day + rng.randint(4, 20)
            if mem.fate == "won" and rng.random() < 0.3:  # a negotiated discount
                mem.won_amount = f"{(amount * Decimal('0.9')).quantize(Decimal('0.01'))}"
        link = person.alter_ego_of if person.alter_ego_of in self.ledger.contacts else None
        self.add(day, email, "convert", body, link=link)
        mem.since = day

    def close(self, day: int, email: str, rng: random.Random, mem: Memory) -> None:
        lead = self.ledger.leads[email]
        if day == mem.since + 1 and rng.random() < 0.05:
            # A double click in the CRM: converting again is refused and names the ids.
            self.add(day, email, "convert", {})
        opp = lead.opportunity
        if opp is None or opp.outcome is not None or mem.fate == "open" or day < mem.close_day:
            return
        if mem.fate == "won":
            self.add(
                day, email, "won", {} if mem.won_amount is None else {"amount": mem.won_amount}
            )
        else:
            self.add(day, email, "lost", {"reason": rng.choice(("price", "competitor", "timing"))})


def hash_day(email: str, day: int) -> int:
    return random.Random(f"{email}/{day}").randrange(1000)


def territory(person: Person, rng: random.Random) -> str:
    return rng.choice(TERRITORIES.get(person.profile["country"], EUROPE))


def plan(w: World, people: list[Person]) -> list[Command]:
    planner = Planner(w, people)
    planner.import_customers()
    records: dict[int, list[Record]] = {}
    for r in w.records:
        records.setdefault(r.phase, []).append(r)
    for day in range(w.days):
        for r in records.get(day, []):
            planner.ledger.publish(r)
        planner.evening(day)
    return planner.commands
