"""What goes wrong in a real feed, in set fractions: the same event_id sent again (some with
another payload: the first one processed wins), and malformed records, which must reach the
topic's DLQ. Each malformed record carries a marker the check finds in the DLQ."""

from __future__ import annotations

import json
import random
from typing import Any

from leadflow.simulate.model import DUPLICATE, ENGAGEMENT, MALFORMED, SPEND, Record, World, encode

# The publish order inside a phase: on time, then late, then re-sent duplicates.
ON_TIME, LATE_SECTION, DUP_SECTION = 0, 1, 2

_TOUCH = {"type": "page_viewed", "occurred_at": "2025-02-01T10:00:00Z", "source": "organic"}
# (what is wrong, the fields that make it so); "email" is filled with a real person's email.
BAD_ENGAGEMENT: tuple[tuple[str, dict[str, Any]], ...] = (
    ("invalid JSON", {}),
    ("unknown type", {"type": "tweet_liked"}),
    ("no email", {"email": None}),
    ("invalid email", {"email": "not-an-email"}),
    (
        "occurred_at far in the future",
        {"type": "demo_requested", "occurred_at": "2999-01-01T00:00:00Z"},
    ),
    ("occurred_at without offset", {"occurred_at": "2025-02-01T10:00:00"}),
    ("negative company_size", {"type": "form_submitted", "person": {"company_size": -3}}),
    ("empty source", {"source": ""}),
)
_SPEND = {
    "source": "paid_search",
    "amount": "10.00",
    "period_start": "2025-02-01",
    "period_end": "2025-02-28",
}
BAD_SPEND: tuple[tuple[str, dict[str, Any]], ...] = (
    ("another currency", {"currency": "XXX"}),
    ("negative amount", {"amount": "-5.00"}),
    ("period_end before period_start", {"period_start": "2025-02-28", "period_end": "2025-02-01"}),
    ("invalid JSON", {}),
)


def _bad(base: dict[str, Any], changes: dict[str, Any], marker: str) -> bytes:
    payload = {"event_id": marker, **base, **changes}
    if not changes:  # cut short: not JSON at all, but the marker is in the bytes
        return json.dumps(payload).encode()[:-12]
    return encode({k: v for k, v in payload.items() if v is not None})


def malformed(
    rng: random.Random, w: World, n_engagement: int, n_spend: int, emails: list[str]
) -> list[tuple[Record, int]]:
    out = []
    for i in range(round(w.fractions["malformed"] * n_engagement)):
        marker, email = f"{w.run_id}-bad-e{i}", rng.choice(emails)
        _, changes = BAD_ENGAGEMENT[i % len(BAD_ENGAGEMENT)]
        value = _bad({**_TOUCH, "email": email}, changes, marker)
        # Keyed by a real person's email: a broken record must not touch that person.
        rec = Record(
            ENGAGEMENT, rng.randrange(w.days), MALFORMED, email.encode(), value, marker=marker
        )
        out.append((rec, ON_TIME))
    for i in range(max(1, round(w.fractions["malformed"] * n_spend))):
        marker = f"{w.run_id}-bad-s{i}"
        _, changes = BAD_SPEND[i % len(BAD_SPEND)]
        value = _bad({**_SPEND, "currency": w.rules.currency}, changes, marker)
        rec = Record(SPEND, rng.randrange(w.days), MALFORMED, b"paid_search", value, marker=marker)
        out.append((rec, ON_TIME))
    return out


def duplicates(rng: random.Random, w: World, valid: list[Record]) -> list[tuple[Record, int]]:
    out = []
    for r in rng.sample(valid, round(w.fractions["duplicate"] * len(valid))):
        phase = min(w.days - 1, r.phase + rng.choice((0, 0, 1, 2)))
        value = r.value
        # Another payload only in a later phase: the original is acknowledged by then, so
        # which one is first is certain (CONTRACT 3.1: the first one processed wins).
        if phase > r.phase and rng.random() < 0.5:
            if r.touch is not None:
                value = encode({**r.touch.payload(), "type": "demo_requested"})
            elif r.spend is not None:
                value = encode({**r.spend.payload(w.rules.currency), "amount": "99999.00"})
        dup = Record(r.topic, phase, DUPLICATE, r.key, value, r.touch, r.spend)
        out.append((dup, DUP_SECTION))
    return out
