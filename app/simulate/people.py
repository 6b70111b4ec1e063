"""The organisation's people and their engagement: sources differ in volume, cost and how
likely their leads are to buy; each person engages in a sequence shaped by their intent."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadflow.simulate.model import Touch


@dataclass(frozen=True)
class Source:
    name: str
    weight: float  # share of new people
    intent: float  # mean propensity to engage and buy
    campaigns: tuple[str | None, ...]
    budget: int  # monthly spend per campaign
    first_types: tuple[tuple[str, float], ...]


SOURCES = (
    Source(
        "paid_search",
        0.30,
        0.45,
        ("brand-search", "competitor-search"),
        6000,
        (("form_submitted", 0.5), ("page_viewed", 0.3), ("pricing_page_viewed", 0.2)),
    ),
    Source(
        "paid_social",
        0.25,
        0.30,
        ("linkedin-abm", "retargeting"),
        4500,
        (("content_downloaded", 0.6), ("form_submitted", 0.4)),
    ),
    Source(
        "webinar",
        0.15,
        0.65,
        ("analytics-webinar",),
        2500,
        (("webinar_attended", 0.7), ("form_submitted", 0.3)),
    ),
    Source(
        "organic", 0.20, 0.40, (None,), 1200, (("page_viewed", 0.6), ("content_downloaded", 0.4))
    ),
    Source("referral", 0.10, 0.80, (None,), 0, (("form_submitted", 0.5), ("call_logged", 0.5))),
)
# Spend that brings (almost) no first touches: nurture email tooling and a trade-show booth.
EXTRA_SPEND = (("email", "nurture", 800), ("trade_show", "expo-booth", 9000))

_FIRST = (
    "ada alan grace linus margaret ken barbara dennis radia edsger frances john "
    "katherine tim sophie yukihiro guido anita"
)
_LAST = (
    "lovelace turing hopper torvalds hamilton thompson liskov ritchie perlman "
    "dijkstra allen backus johnson berners wilson matsumoto"
)
FIRST, LAST = tuple(_FIRST.split()), tuple(_LAST.split())
COMPANIES = (
    ("Analytical Engines Ltd", "analytical.example"),
    ("ACME, Inc.", "acme.example"),
    ("Globex Corp", "globex.example"),
    ("Initech LLC", "initech.example"),
    ("Umbrella plc", "umbrella.example"),
    ("Stark Industries", "stark.example"),
    ("Wayne Enterprises", "wayne.example"),
    ("Hooli", "hooli.example"),
    ("Soylent GmbH", "soylent.example"),
    ("Tyrell Corporation", "tyrell.example"),
    ("Cyberdyne Systems", "cyberdyne.example"),
    ("Vandelay Industries", "vandelay.example"),
)
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.co.uk", "proton.me")
COUNTRIES = ("US", "US", "CA", "GB", "DE", "FR", "NL", "IN", "AU")
INDUSTRIES = ("software", "fintech", "retail", "manufacturing", "healthcare")
TITLES = ("Analyst", "Engineer", "Manager", "Director", "VP Engineering", "CTO")


@dataclass
class Person:
    n: int
    email: str
    arrival: int  # day of the first touch
    source: Source
    campaign: str | None
    intent: float
    fit: float  # how well they answer BANT
    junk: bool
    profile: dict[str, Any]
    touches: list[Touch] = field(default_factory=list)
    customer: bool = False  # a pre-existing contact
    alter_ego_of: str | None = None  # a pre-existing contact's email: the same person


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def make_person(rng: random.Random, n: int, arrival: int, tag: str, customer: bool) -> Person:
    source = rng.choices(SOURCES, [s.weight for s in SOURCES])[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company, domain = rng.choice(COMPANIES)
    if rng.random() < 0.15:
        domain = rng.choice(FREE_MAIL)
    intent = min(0.98, max(0.02, rng.gauss(source.intent, 0.2)))
    profile: dict[str, Any] = {
        "first_name": first.title(),
        "last_name": last.title(),
        "company": company,
        "job_title": rng.choice(TITLES),
        "country": rng.choice(COUNTRIES),
        "company_size": rng.choice((8, 40, 120, 900, 5000)),
        "industry": rng.choice(INDUSTRIES),
        "product_interest": rng.choice(("analytics", "crm")),
    }
    return Person(
        n=n,
        email=f"{first}.{last}.{tag}{n}@{domain}",
        arrival=arrival,
        source=source,
        campaign=rng.choice(source.campaigns),
        intent=intent,
        fit=rng.random(),
        junk=domain in FREE_MAIL and rng.random() < 0.5,
        profile=profile,
        customer=customer,
    )


def _followup_type(rng: random.Random, intent: float) -> str:
    weights = (
        ("email_opened", 4.0),
        ("email_clicked", 2 + 2 * intent),
        ("page_viewed", 3.0),
        ("pricing_page_viewed", 3 * intent),
        ("content_downloaded", 1 + intent),
        ("webinar_attended", 1.5 * intent),
        ("demo_requested", 1.5 * intent**2),
        ("form_submitted", intent),
    )
    return pick(rng, weights)


def _sent_email(rng: random.Random, email: str) -> str:
    """Senders do not all normalise: some records carry case or spaces (CONTRACT 1)."""
    roll = rng.random()
    if roll < 0.05:
        return f"  {email.upper()} "
    if roll < 0.10:
        local, domain = email.split("@")
        return f"{local.title()}@{domain.title()}"
    return email


def _offset(rng: random.Random) -> int:
    return rng.choice((0, 0, 0, 120, -300, 330, 60))


class TouchMaker:
    """Gives each touch of a person a distinct instant and an event_id without personal data."""

    def __init__(self, rng: random.Random, run_id: str, start: datetime, days: int) -> None:
        self.rng, self.run_id, self.start, self.days = rng, run_id, start, days

    def at(self, day: int, earliest_hour: int = 7, latest_hour: int = 19) -> datetime:
        seconds = self.rng.randint(earliest_hour * 3600, latest_hour * 3600 + 3599)
        return self.start + timedelta(days=day, seconds=seconds)

    def make(
        self,
        p: Person,
        k: int,
        kind: str,
        at: datetime,
        source: str,
        campaign: str | None,
        person: dict[str, Any],
    ) -> Touch:
        return Touch(
            event_id=f"{self.run_id}-p{p.n}-{k}",
            type=kind,
            at=at,
            email=p.email.lower(),
            source=source,
            campaign=campaign,
            person=person,
            sent_email=_sent_email(self.rng, p.email),
            offset_minutes=_offset(self.rng),
        )

    def sequence(self, p: Person) -> list[Touch]:
        """The first touch and the follow-ups that fall inside the world."""
        rng = self.rng
        first_type = pick(rng, p.source.first_types)
        touches = [
            self.make(
                p, 0, first_type, self.at(p.arrival), p.source.name, p.campaign, dict(p.profile)
            )
        ]
        count = int(p.intent * 9 * rng.random()) + rng.randint(0, 2)
        day, title = p.arrival, p.profile["job_title"]
        for k in range(1, count + 1):
            day += rng.choice((0, 0, 1, 1, 2, 3, 5))
            if day >= self.days:
                break
            kind = _followup_type(rng, p.intent)
            if k == count and p.intent < 0.3 and rng.random() < 0.3:
                kind = "unsubscribed"
            if kind.startswith("email_") or kind == "unsubscribed":
                source, campaign = "email", "nurture"  # type: str, str | None
            elif kind == "webinar_attended":
                source, campaign = "webinar", "analytics-webinar"
            elif rng.random() < 0.7:
                source, campaign = p.source.name, p.campaign
            else:
                source, campaign = "organic", None
            if rng.random() < 0.08:
                title = rng.choice(TITLES)  # a promotion: later records carry the new title
            # Follow-ups carry a partial profile, with explicit nulls that must be ignored.
            person = {
                "job_title": title,
                "company": None if rng.random() < 0.3 else p.profile["company"],
            }
            # A sequence moves forward: each touch after the one before it.
            at = max(self.at(day), touches[-1].at + timedelta(minutes=rng.randint(1, 90)))
            if (at - self.start).days >= self.days:
                break
            touches.append(self.make(p, k, kind, at, source, campaign, person))
        return touches

    def pre_touch(self, p: Person, first: Touch) -> Touch:
        """An earlier touch from another channel, which the sender delivers late."""
        at = first.at - timedelta(days=self.rng.randint(1, 4), seconds=self.rng.randint(0, 9999))
        if at < self.start:
            at = self.start + (first.at - self.start) * self.rng.random()
        return self.make(
            p,
            99,
            "page_viewed",
            at.replace(microsecond=0),
            "organic",
            None,
            {"country": p.profile["country"]},
        )
