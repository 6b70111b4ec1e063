"""`leadflow demo`: a small marketing history, loaded and explained."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from leadflow.cli.common import console, leadflow
from leadflow.cli.leads import show
from leadflow.domain.engagement import ENGAGEMENT_TYPES, Engagement

SOURCES = ("webinar", "paid_social", "organic", "referral")


def sample_engagements(people: int, seed: int = 7) -> list[Engagement]:
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    out: list[Engagement] = []
    for p in range(people):
        email = f"person{p}@company{p % 37}.example"
        source = rng.choice(SOURCES)
        for n in range(rng.randint(1, 8)):
            out.append(
                Engagement(
                    event_id=f"demo-{p}-{n}",
                    type=rng.choice(ENGAGEMENT_TYPES[:-1]),
                    occurred_at=start + timedelta(hours=rng.randint(0, 24 * 60)),
                    email=email,
                    source=source,
                    campaign=f"{source}-2026-q3",
                    person={"company": f"Company {p % 37}", "country": "GB"},
                )
            )
    return out


def demo(people: int = 200) -> None:
    """Loads a sample history (twice: the second time has no effect) and shows one lead."""
    batch = sample_engagements(people)
    with leadflow() as lf:
        first = lf.engagement.record(batch)
        again = lf.engagement.record(batch)
        console.print(
            f"loaded {first.accepted} engagement events: {first.leads_captured} leads captured; "
            f"replayed: {again.duplicates} duplicates, {again.accepted} accepted"
        )
    show("person0@company0.example", as_json=False)
