"""Texts as small integers, and attributes that change over business time (status, owner)
as flat arrays answering "its value at time t" for every lead at once (columns.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

NONE_KEY = "(none)"
NEVER = int(np.iinfo(np.int64).max)
Ints = npt.NDArray[np.int64]
# The tail of changed leads is folded into the bulk once it is this long and an eighth of it.
FOLD_AT = 10_000


class Codes:
    """Texts as dense integers; a null, empty or "(none)" text is code 0."""

    def __init__(self) -> None:
        self.names = [NONE_KEY]
        self._codes: dict[str | None, int] = {None: 0, "": 0, NONE_KEY: 0}

    def code(self, name: str | None) -> int:
        c = self._codes.get(name)
        if c is None:
            c = self._codes[name] = len(self.names)
            self.names.append(str(name))
        return c

    def many(self, names: Sequence[str | None]) -> list[int]:
        get, code = self._codes.get, self.code
        return [c if (c := get(name)) is not None else code(name) for name in names]

    def find(self, name: str) -> int:
        """The code of a filter value; -1 (matches nothing) for a text never seen."""
        return self._codes.get(name, -1)


class Timeline:
    """One attribute's changes per lead in business order (status or owner), for its value
    at any time. The bulk lives in flat arrays, grouped by lead and in time order within a
    group; leads that changed since are in `tail` and their bulk rows are ignored, until the
    tail is folded into the bulk."""

    def __init__(self) -> None:
        self.lead: Ints = np.empty(0, np.int64)
        self.at: Ints = np.empty(0, np.int64)
        self.value: Ints = np.empty(0, np.int64)
        self.tail: dict[int, list[tuple[int, int]]] = {}
        self.latest = -NEVER  # no change after this time (an upper bound)
        self._tail_arrays: tuple[Ints, Ints, Ints] | None = None

    def load(self, leads: Sequence[int], times: Sequence[int], values: Sequence[int]) -> None:
        """Appends the changes of leads loaded at once, grouped by lead in time order."""
        if not leads:
            return
        self.latest = max(self.latest, max(times))
        self.lead = np.concatenate([self.lead, np.array(leads, np.int64)])
        self.at = np.concatenate([self.at, np.array(times, np.int64)])
        self.value = np.concatenate([self.value, np.array(values, np.int64)])

    def replace(self, n: int, changes: list[tuple[int, int]]) -> None:
        """Lead `n`'s changes are now `changes` (its earlier ones in the bulk no longer hold)."""
        self.tail[n] = changes
        self.replaced([at for at, _ in changes])

    def replaced(self, times: Sequence[int]) -> None:
        self._tail_arrays = None
        if times:
            self.latest = max(self.latest, max(times))

    def fold(self, size: int) -> None:
        """Moves the tail into the bulk when it has grown (cost: one copy of the bulk)."""
        if not self._due():
            return
        keep = ~self._changed(size)[self.lead]
        tail = self._tail()
        self.lead = np.concatenate([self.lead[keep], tail[0]])
        self.at = np.concatenate([self.at[keep], tail[1]])
        self.value = np.concatenate([self.value[keep], tail[2]])
        self.tail, self._tail_arrays = {}, None

    def _due(self) -> bool:
        return len(self.tail) >= max(FOLD_AT, len(self.lead) // 8)

    def _changed(self, size: int) -> npt.NDArray[np.bool_]:
        changed = np.zeros(size, np.bool_)
        changed[list(self.tail)] = True
        return changed

    def _tail(self) -> tuple[Ints, Ints, Ints]:
        if self._tail_arrays is None:
            flat = [(n, at, v) for n, changes in self.tail.items() for at, v in changes]
            cols = list(zip(*flat, strict=True)) if flat else [(), (), ()]
            self._tail_arrays = (
                np.array(cols[0], np.int64),
                np.array(cols[1], np.int64),
                np.array(cols[2], np.int64),
            )
        return self._tail_arrays

    def values_at(self, as_of: int, now: Ints) -> Ints:
        """Per lead, the value of its last change at or before `as_of` (0 before any)."""
        if as_of >= self.latest:
            return now
        out = np.zeros(len(now), np.int64)
        alive = ~self._changed(len(now))[self.lead] if self.tail else None
        for lead, at, value, mask in (
            (self.lead, self.at, self.value, alive),
            (*self._tail(), None),
        ):
            ok = at <= as_of
            if mask is not None:
                ok &= mask
            # Within a lead's group the changes are in time order, so the ones at or before
            # `as_of` come first: the last of them is where the next row is not one of them.
            followed = np.zeros(len(ok), np.bool_)
            followed[:-1] = ok[1:] & (lead[1:] == lead[:-1])
            last = ok & ~followed
            out[lead[last]] = value[last]
        return out
