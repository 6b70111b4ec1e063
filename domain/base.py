"""The base of leadflow's aggregates."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


class LeadflowAggregate(Aggregate):
    """An aggregate whose nested state is replaced, never changed in place.

    The repository hands out deep copies of cached aggregates; relying on that invariant,
    a copy of each top-level container is a faithful deep copy at a fraction of the cost.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = object.__new__(type(self))
        state: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, list | dict | set):
                value = value.copy()
            state[key] = value
        clone.__dict__.update(state)
        return clone
