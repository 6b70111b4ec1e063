"""Scoring policy: points per engagement type, fit rules, the MQL threshold.

Score and MQL time are pure functions of the set of accepted engagements, computed in
(occurred_at, event_id) order, so the answer never depends on arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.domain.engagement import PROFILE_FIELDS

_NO = object()  # a profile field not set yet (None is never stored)


@dataclass(frozen=True)
class FitRule:
    """Adds `points` while the profile field `field` is one of `values` (case-insensitive)
    or, for numbers, at least `min`."""

    name: str
    field: str
    points: int
    values: tuple[str, ...] = ()
    min: float | None = None

    def matches(self, profile: Mapping[str, Any]) -> bool:
        value = profile.get(self.field)
        if value is None:
            return False
        if self.min is not None:
            return isinstance(value, int | float) and value >= self.min
        return str(value).strip().lower() in {v.lower() for v in self.values}


@dataclass(frozen=True)
class ScoringPolicy:
    points: Mapping[str, int]
    mql_threshold: int = 50
    fit_rules: tuple[FitRule, ...] = field(default_factory=tuple)

    def points_for(self, engagement_type: str) -> int:
        return self.points[engagement_type]


@dataclass(frozen=True)
class Touch:
    """One accepted engagement as the lead remembers it."""

    event_id: str
    type: str
    occurred_at: datetime
    points: int
    source: str
    campaign: str | None
    person: Mapping[str, Any]

    @property
    def order_key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)


@dataclass(frozen=True)
class ScoreResult:
    score: int
    mql_at: datetime | None
    fit_points: dict[str, int]


def evaluate(touches: Iterable[Touch], policy: ScoringPolicy) -> ScoreResult:
    """Score now, and when the running sum (events plus fit points of the profile known at
    that event) first reached the threshold."""
    ordered: Sequence[Touch] = sorted(touches, key=lambda t: t.order_key)
    profile: dict[str, Any] = {}
    event_points = 0
    mql_at: datetime | None = None
    fit: dict[str, int] = {}
    fit_points = 0
    for touch in ordered:
        event_points += touch.points
        # In (occurred_at, event_id) order each touch is the latest so far, so its non-null
        # profile fields win (merge_profile's rule without the stamps); fit rules read only
        # the profile, so they are evaluated again only when it changed.
        changed = False
        for name, value in touch.person.items():
            if value is None or name not in PROFILE_FIELDS:
                continue
            current = profile.get(name, _NO)
            # By type too: 1 == True == 1.0, but a fit rule reads str(value).
            if current is _NO or current != value or type(current) is not type(value):
                changed = True
            profile[name] = value
        if changed:
            fit = {r.name: r.points for r in policy.fit_rules if r.matches(profile)}
            fit_points = sum(fit.values())
        if mql_at is None and event_points + fit_points >= policy.mql_threshold:
            mql_at = touch.occurred_at
    return ScoreResult(score=event_points + fit_points, mql_at=mql_at, fit_points=fit)
