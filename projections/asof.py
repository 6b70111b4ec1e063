"""A cohort of leads taken as it was at `as_of` (CONTRACT 7), from the in-memory columns:
which leads belong to it, their stage times by then, their status and owner then.

The captured time, source and campaign do not depend on `as_of` (a first-touch correction
moves the capture to the earliest touch, which is then the lead's start at any time); stage,
loss and opportunity times count when at or before `as_of`; status and owner are the last
changes at or before it (timelines.Timeline). An `as_of` after every known time takes the
leads' state as of now, which the columns keep ready.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from leadflow.projections.columns import GAPS, STAGE_TIMES, Columns
from leadflow.projections.timelines import NEVER, Ints

STAGES = ("captured", "mql", "sql", "converted", "won")
DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Bools = npt.NDArray[np.bool_]


class CohortLike(Protocol):
    @property
    def as_of(self) -> datetime: ...
    @property
    def from_(self) -> datetime | None: ...
    @property
    def to(self) -> datetime | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def campaign(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...


def micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


class At:
    """The cohort's leads (`index` into the columns) with their `highest` stage by `as_of`."""

    def __init__(
        self, cols: Columns, c: CohortLike, use_owner: bool, owner_key: bool = False
    ) -> None:
        self.cols, self.as_of = cols, micros(c.as_of)
        a, size = cols.a, cols.size
        cap = a["cap"][:size]
        keep = cap <= self.as_of
        if c.from_ is not None:
            keep &= cap >= micros(c.from_)
        if c.to is not None:
            keep &= cap < micros(c.to)
        for name, codes, value in (
            ("source", cols.source, c.source),
            ("campaign", cols.campaign, c.campaign),
        ):
            if value is not None:
                keep &= a[name][:size] == codes.find(value)
        owner = None
        if owner_key or (use_owner and c.owner is not None):
            owner = cols.owner_history.values_at(self.as_of, a["owner"][:size])
            if use_owner and c.owner is not None:
                keep &= owner == cols.owner.find(c.owner)
        self.index: Ints | slice = np.flatnonzero(keep)
        first, count = (int(self.index[0]), len(self.index)) if len(self.index) else (0, 0)
        if count and int(self.index[-1]) - first + 1 == count:
            # A range of positions (every lead, or a window of captured times as the columns
            # order them): views, not copies.
            self.index = slice(first, first + count)
        self.owner = None if owner is None else owner[self.index]
        self.now = self.as_of >= cols.latest
        self._times: list[Ints] | None = None
        self.highest = a["highest"][self.index] if self.now else self._highest()

    def _of(self, column: str) -> Ints:
        return self.cols.a[column][self.index]

    def times(self) -> list[Ints]:
        """Per stage, the time it was reached if by `as_of`, else NEVER."""
        if self._times is None:
            self._times = [self._of("cap")]
            for column in STAGE_TIMES[1:]:
                t = self._of(column)
                self._times.append(t if self.now else np.where(t <= self.as_of, t, NEVER))
        return self._times

    def _highest(self) -> Ints:
        highest = np.zeros(len(self.times()[0]), np.int64)
        for stage, t in enumerate(self.times()[1:], start=1):
            highest[t != NEVER] = stage
        return highest

    def reached(self) -> Ints:
        """When each lead reached its highest stage."""
        return self._of("reached") if self.now else np.choose(self.highest, self.times())

    def gaps(self, stage: int) -> Ints:
        """From the stage before to `stage`, over the leads that reached both by `as_of`."""
        if self.now:
            g = self._of(GAPS[stage - 1])
            known: Ints = g[g != NEVER]
            return known
        t = self.times()
        both = (t[stage] != NEVER) & (t[stage - 1] != NEVER)
        gaps: Ints = t[stage][both] - t[stage - 1][both]
        return gaps

    def won(self) -> Bools:
        won: Bools = self.highest == len(STAGES) - 1
        return won

    def dropped(self) -> Bools:
        """Unqualified by `as_of`, or the opportunity lost by then."""
        cols = self.cols
        unqualified = cols.status_history.values_at(self.as_of, cols.a["unq"][: cols.size])
        out: Bools = (unqualified[self.index] != 0) | (self._of("lost") <= self.as_of)
        return out

    def opened(self) -> Ints:
        """1 per lead whose opportunity was opened by `as_of`, else 0."""
        return (self._of("opened") <= self.as_of).astype(np.int64)

    def revenue(self) -> Ints:
        return self._of("revenue")

    def key(self, by: str) -> tuple[Ints, Callable[[int], str]]:
        """Per lead a small integer key, and the key's name."""
        if by == "month":
            months = self._of("month")
            low = int(months.min()) if len(months) else 0

            def month(k: int) -> str:
                year, m = divmod(k + low + 1970 * 12, 12)
                return f"{year:04d}-{m + 1:02d}"

            return months - low, month
        if by == "owner":
            assert self.owner is not None
            return self.owner, self.cols.owner.names.__getitem__
        codes = self.cols.source if by == "source" else self.cols.campaign
        return self._of(by), codes.names.__getitem__
