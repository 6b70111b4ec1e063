"""Assignment rules: the first matching rule gives an owner or a queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AssignmentRule:
    """Matches when every field in `match` (a profile field, `source` or `campaign`) has
    one of the listed values, compared case-insensitively. An empty `match` always matches."""

    name: str
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    owner: str | None = None
    queue: str | None = None

    def matches(self, facts: Mapping[str, Any]) -> bool:
        for name, accepted in self.match.items():
            value = facts.get(name)
            if value is None or str(value).strip().lower() not in {a.lower() for a in accepted}:
                return False
        return True


@dataclass(frozen=True)
class Assignment:
    owner: str
    rule: str
    queue: str | None


@dataclass(frozen=True)
class AssignmentPolicy:
    rules: tuple[AssignmentRule, ...] = ()
    queues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def decide(
        self,
        facts: Mapping[str, Any],
        open_leads: Callable[[Sequence[str]], Mapping[str, int]],
    ) -> Assignment | None:
        """`open_leads` answers how many open leads each named member holds now."""
        for rule in self.rules:
            if not rule.matches(facts):
                continue
            if rule.owner is not None:
                return Assignment(owner=rule.owner, rule=rule.name, queue=None)
            if rule.queue is not None:
                members = self.queues[rule.queue]
                loads = open_leads(members)
                owner = min(sorted(members), key=lambda m: loads.get(m, 0))
                return Assignment(owner=owner, rule=rule.name, queue=rule.queue)
        return None
