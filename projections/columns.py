"""The lead facts (facts.py) as arrays in memory, kept up to date from the facts' stamps, so
that every read model is a few vectorised passes over the leads instead of a scan of tables.

A process holds one `Columns` per database (`columns_for`). Each query first syncs: one read
of the clock row, then only the facts rows stamped after the last sync. A new clock generation
(a rebuild swapped new tables in, or the facts were derived anew) loads everything again.
Index `n` of every array is the lead's facts row `n`; times are integer microseconds with
`NEVER` for "not (yet)"; texts are small integer codes (timelines.Codes). Beside the facts,
each lead's state as of now (`highest` stage, the time it was `reached`, the gaps `g1`..`g4`
between stages) is kept, for the queries whose `as_of` is after every known time.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from leadflow.infra.sidetables import SideTables
from leadflow.logs import get_logger
from leadflow.projections.schema import table_names
from leadflow.projections.timelines import NEVER, Codes, Ints, Timeline

log = get_logger("leadflow.columns")
STAGE_TIMES = ("cap", "t1", "t2", "t3", "t4")
TIMES = (*STAGE_TIMES, "lost", "opened")
KEYS = ("source", "campaign", "owner")
GAPS = ("g1", "g2", "g3", "g4")
_FILL = {
    **{c: NEVER for c in (*TIMES, *GAPS, "reached")},
    **{c: 0 for c in ("revenue", "unq", "highest", "month", *KEYS)},
}
_PAGE = 25_000
# A sync finding more changed rows than this (and than an eighth of the leads) loads
# everything again, a page at a time in bulk: cheaper than lead by lead, and it never holds
# more than a page of rows (an API idle through a large ingest once took them all at once).
RELOAD_AT = 10_000
_SELECT = (
    "SELECT lead_id, n, "
    # Named: PostgreSQL rows come as mappings by column name.
    + ", ".join(f"COALESCE({c}, {NEVER}) AS {c}" for c in TIMES)
    + ", COALESCE(revenue, 0) AS revenue, COALESCE(unq, 0) AS unq, source, campaign, owner,"
    " hist FROM {rm_lead_facts}"
)


class Columns:
    """Per lead arrays at position `pos[n]` for facts row `n`. A full load orders positions
    by captured time, and leads arriving later mostly come in that order too, so a cohort
    (a window of captured times) is a short range of positions: fast to gather, and a plain
    slice when it is every lead. Order helps speed only; no answer depends on it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation: str | None = None
        self.stamp = -1
        self.size = 0  # positions in use
        self.latest = -NEVER  # no stage, loss or opening after this time (an upper bound)
        self.a: dict[str, Ints] = {}
        self.pos: Ints = np.empty(0, np.int64)
        self.source, self.campaign, self.owner = Codes(), Codes(), Codes()
        self.status_history, self.owner_history = Timeline(), Timeline()
        self._reset(None)

    def _reset(self, generation: str | None) -> None:
        self.generation, self.stamp, self.size, self.latest = generation, -1, 0, -NEVER
        self.a = {c: np.empty(0, np.int64) for c in _FILL}
        self.pos = np.empty(0, np.int64)
        self.status_history, self.owner_history = Timeline(), Timeline()

    def _grow(self, size: int) -> None:
        have = len(self.a["cap"])
        if size > have:
            capacity = max(size, have + have // 2, 1024)
            for c, old in self.a.items():
                new = np.full(capacity, _FILL[c], np.int64)
                new[:have] = old
                self.a[c] = new

    def _positions(self, n: Ints) -> Ints:
        """Where the leads numbered `n` live; new ones get the next free positions."""
        top = int(n.max()) + 1
        if top > len(self.pos):
            grown = np.full(max(top, len(self.pos) + len(self.pos) // 2), -1, np.int64)
            grown[: len(self.pos)] = self.pos
            self.pos = grown
        i = self.pos[n]
        new = i < 0
        if new.any():
            i[new] = np.arange(self.size, self.size + int(new.sum()))
            self.pos[n[new]] = i[new]
            self.size += int(new.sum())
            self._grow(self.size)
        return i

    def sync(self, side: SideTables) -> None:
        names = table_names()
        for _ in range(3):  # a rebuild swapping tables in between: load the new ones
            clock = side.query("SELECT generation, stamp FROM {rm_facts_clock}", (), names)
            if not clock:
                self._reset(None)
                return
            generation, stamp = str(clock[0][0]), int(clock[0][1])
            if generation != self.generation:
                self._reset(generation)
                self._load_all(side, names)
            elif stamp != self.stamp:
                self._catch_up(side, names)
            else:
                return
            self.stamp = stamp
            for timeline in (self.status_history, self.owner_history):
                timeline.fold(self.size)
            again = side.query("SELECT generation FROM {rm_facts_clock}", (), names)
            if again and again[0][0] == generation:
                return

    def _catch_up(self, side: SideTables, names: dict[str, str]) -> None:
        """The rows stamped after the last sync, a page at a time. A row stamped again while
        this pages may be missed here, but then its stamp is after the clock's read by
        `sync`, so the next sync takes it."""
        rows = side.query(
            "SELECT COUNT(*) FROM {rm_lead_facts} WHERE stamp > ?", (self.stamp,), names
        )
        if int(rows[0][0]) > max(RELOAD_AT, self.size // 8):
            self._reset(self.generation)
            self._load_all(side, names)
            return
        after = -1
        while rows := side.query(
            _SELECT + " WHERE stamp > ? AND n > ? ORDER BY n LIMIT ?",
            (self.stamp, after, _PAGE),
            names,
        ):
            self._apply(rows)
            after = int(rows[-1][1])

    def _load_all(self, side: SideTables, names: dict[str, str]) -> None:
        rows = side.query("SELECT next_n FROM {rm_facts_clock}", (), names)
        count = int(rows[0][0]) if rows else 0
        self._grow(count)  # every row at once: no spare capacity
        self.pos = np.full(count, -1, np.int64)
        after = ""
        while rows := side.query(
            _SELECT + " WHERE lead_id > ? ORDER BY lead_id LIMIT ?", (after, _PAGE), names
        ):
            self._apply(rows, bulk=True)
            after = rows[-1][0]
        # Positions in captured-time order.
        order = np.argsort(self.a["cap"][: self.size], kind="stable")
        for values in self.a.values():
            values[: self.size] = values[: self.size][order]
        moved = np.empty(self.size, np.int64)
        moved[order] = np.arange(self.size)
        known = self.pos >= 0
        self.pos[known] = moved[self.pos[known]]
        for timeline in (self.status_history, self.owner_history):
            timeline.lead = moved[timeline.lead]

    def _apply(self, rows: Sequence[Any], bulk: bool = False) -> None:
        if not rows:
            return
        cols = list(zip(*rows, strict=True))
        i = self._positions(np.array(cols[1], np.int64))
        for k, c in enumerate((*TIMES, "revenue", "unq")):
            self.a[c][i] = np.array(cols[2 + k], np.int64)
        texts = (self.source, self.campaign, self.owner)
        for k, (c, codes) in enumerate(zip(KEYS, texts, strict=True)):
            self.a[c][i] = np.array(codes.many(cols[11 + k]), np.int64)
        self._derive(i)
        self._timelines(i.tolist(), cols[14], bulk)

    def _derive(self, i: Ints) -> None:
        """The state as of now of the leads at positions `i`."""
        times = [self.a[c][i] for c in STAGE_TIMES]
        highest = np.zeros(len(i), np.int64)
        for stage in range(1, len(times)):
            highest[times[stage] != NEVER] = stage
        self.a["highest"][i] = highest
        # Months since 1970-01 of the capture (a lead with no row yet: any month, unread).
        cap = np.where(times[0] == NEVER, 0, times[0])
        self.a["month"][i] = cap.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
        self.a["reached"][i] = np.choose(highest, times)
        for k, gap in enumerate(GAPS, start=1):
            both = (times[k] != NEVER) & (times[k - 1] != NEVER)
            self.a[gap][i] = np.where(both, times[k] - times[k - 1], NEVER)
        for c in TIMES:
            known = self.a[c][i]
            known = known[known != NEVER]
            if len(known):
                self.latest = max(self.latest, int(known.max()))

    def _timelines(self, numbers: Sequence[int], hists: Sequence[Any], bulk: bool) -> None:
        """The status and owner changes of the leads at positions `numbers`."""
        with_changes = [(number, h) for number, h in zip(numbers, hists, strict=True) if h]
        # One parse for the lot: far cheaper than one json.loads per lead.
        parsed = json.loads("[" + ",".join(h for _, h in with_changes) + "]")
        if not bulk:  # these leads' earlier changes no longer hold, even with none now
            for number in numbers:
                self.status_history.replace(number, [])
                self.owner_history.replace(number, [])
        flat: dict[str, tuple[list[int], list[int], list[Any]]] = {
            "s": ([], [], []),
            "o": ([], [], []),
        }
        for (number, _), changes in zip(with_changes, parsed, strict=True):
            for at, kind, value in changes:
                leads, times, values = flat[kind]
                leads.append(number)
                times.append(at)
                values.append(value)
        status = (*flat["s"][:2], [int(v == "Unqualified") for v in flat["s"][2]])
        owner = (*flat["o"][:2], self.owner.many(flat["o"][2]))
        for timeline, (leads, times, values) in (
            (self.status_history, status),
            (self.owner_history, owner),
        ):
            if bulk:
                timeline.load(leads, times, values)
            else:
                for number, at, value in zip(leads, times, values, strict=True):
                    timeline.tail[number].append((at, value))
                timeline.replaced(times)


_ALL: weakref.WeakKeyDictionary[SideTables, Columns] = weakref.WeakKeyDictionary()
_ALL_LOCK = threading.Lock()


@contextmanager
def columns_for(side: SideTables) -> Iterator[Columns]:
    """This database's columns, synced, held for one query (queries run one at a time)."""
    with _ALL_LOCK:
        columns = _ALL.get(side)
        if columns is None:
            columns = _ALL[side] = Columns()
    with columns.lock:
        columns.sync(side)
        yield columns


def warm(side: SideTables) -> None:
    """Loads the columns ahead of the first query (a failure waits for that query)."""
    try:
        with columns_for(side):
            pass
    except Exception as e:  # the first query loads them, and reports what fails
        log.warning("read-model columns not loaded ahead", error=type(e).__name__)
