"""Each benchmark as a step (run, chart bars, summary figures), and `leadflow bench all`:
every step in sequence, then bench-results/summary.json + summary.png, each figure beside
its raw floor from the same run, the ratio, the target and whether it is met."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from leadflow.benchmarks import report


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    floor_name: str
    floor: float | None
    target: float | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.value):
            return None
        return self.value >= self.target if self.higher_is_better else self.value < self.target

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}

    def target_text(self) -> str:
        if self.target is None:
            return "reported"
        mark = {True: " ✓", False: " ✗", None: ""}[self.met]
        return f"{'≥' if self.higher_is_better else '<'} {self.target:,.0f} {self.unit}{mark}"


@dataclass(frozen=True)
class Step:
    name: str
    results: dict[str, Any]
    bars: dict[str, float]
    unit: str
    line: str


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed(name: str, fn: Callable[[], tuple[dict[str, Any], dict[str, float], str, str]]) -> Step:
    """Runs one benchmark, noting the machine's load (it is shared) at start and end."""
    start = _load()
    results, bars, unit, line = fn()
    results = {**results, "load_average_1_5_15": {"start": start, "end": _load()}}
    return Step(name, results, bars, unit, line)


def write(step: Step, out: Path) -> tuple[Path, Path]:
    return report.write(step.name, step.results, step.bars, step.unit, out)


def figures(name: str, r: dict[str, Any]) -> list[Figure]:
    """The summary figures of one benchmark's results (fresh, or read back from its JSON)."""
    if name == "store":
        out = []
        for db, x in r["results"].items():
            out.append(
                Figure(name, f"engagement through the application, {db}", x["engagements_per_s"],
                       "events/s", "eventsourcing, 1 trivial event per save",
                       x["raw_floor_events_per_s"], 3000 if db == "sqlite" else None)
            )  # fmt: skip
        return out
    if name == "ingest":
        return [
            Figure(name, "ingest topic → stored → published", r["end_to_end"]["engagements_per_s"],
                   "events/s", "kafka-python produce", r["raw_produce_per_s"], 5000),
            Figure(name, f"topic → stored p99 at {r['latency']['rate_per_s']:,}/s",
                   r["latency"]["p99_ms"], "ms",
                   "", None, None, False),
        ]  # fmt: skip
    if name == "e2e":
        t, lat, raw = r["throughput"], r["latency"], r["raw_latency"]
        rate = f"{lat['rate_per_s']:,}/s"
        return [
            Figure(name, "published → visible in read models", t["engagements_per_s"],
                   "events/s", "kafka-python produce", r["raw_produce_per_s"], 5000),
            Figure(name, "same, against raw consume", t["engagements_per_s"], "events/s",
                   "kafka-python consume", r["raw_consume_per_s"]),
            Figure(name, "same, against raw store inserts", t["engagements_per_s"], "events/s",
                   "eventsourcing inserts, SQLite", r["raw_store_inserts_per_s"]),
            Figure(name, f"published → visible p50 at {rate}", lat.get("p50_ms", math.nan),
                   "ms", f"kafka-python produce → consume p50 at {rate}",
                   raw.get("p50_ms"), None, False),
            Figure(name, f"published → visible p99 at {rate}", lat.get("p99_ms", math.nan),
                   "ms", f"kafka-python produce → consume p99 at {rate}",
                   raw.get("p99_ms"), 1000, False),
        ]  # fmt: skip
    if name == "rebuild":
        return [
            Figure(name, "full read-model rebuild", r["rebuild_events_per_s"], "events/s",
                   "read + decode the store", r["raw_floor_read_events_per_s"], 50000)
        ]  # fmt: skip
    if name == "queries":
        return [
            Figure(name, f"{q} p99 at {r['leads']:,} leads ({c})", r[f"{q}_{c}"]["p99_ms"], "ms",
                   "one full scan of the leads table", r["raw_floor_full_scan_ms"], 50, False)
            for q in ("funnel", "rates", "roi") for c in ("all", "filtered", "as_of")
            if f"{q}_{c}" in r
        ]  # fmt: skip
    if name == "rss":
        return [
            # The API's peak is the one after its queries loaded the read-model columns.
            Figure(name, f"RSS of {proc}, {r['leads']:,} leads (peak "
                   f"{x.get('peak_hwm_after_queries_mib', x['peak_hwm_mib']):,.0f})",
                   x.get("rss_after_queries_mib", x["rss_at_rest_mib"]), "MiB",
                   "same process started, idle", x["rss_idle_mib"], None, False)
            for proc, x in r["processes"].items()
        ]  # fmt: skip
    raise ValueError(f"unknown benchmark {name!r}")


def _fmt(v: float | None, unit: str) -> str:
    if v is None or math.isnan(v):
        return "—"
    return f"{v:,.1f} {unit}" if unit in ("ms", "MiB") else f"{v:,.0f} {unit}"


def markdown_rows(figs: list[Figure]) -> list[str]:
    rows = [
        "| benchmark | leadflow | raw floor, same run | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for f in figs:
        floor = f"{f.floor_name}: {_fmt(f.floor, f.unit)}" if f.floor_name else "—"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        rows.append(
            f"| {f.name} | {_fmt(f.value, f.unit)} | {floor} | {ratio} | {f.target_text()} |"
        )
    return rows


def summary_chart(figs: list[Figure], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = math.ceil(len(figs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 1.6 * rows + 0.6), squeeze=False)
    for ax, f in zip(axes.flat, figs, strict=False):
        labels = ["leadflow", "raw floor"] if f.floor is not None else ["leadflow"]
        values = [f.value, f.floor] if f.floor is not None else [f.value]
        colour = {True: "#2e9d4f", False: "#d1483b", None: "#2f6fde"}[f.met]
        ax.barh(labels, values, color=[colour, "#9aa5b1"][: len(values)])
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.0f}" if v >= 100 else f" {v:,.1f}", va="center", fontsize=8)
        if f.target is not None:
            ax.axvline(f.target, color="black", linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.set_title(f"{f.name}\n({f.unit}; {f.target_text()})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(figs) :]:
        ax.axis("off")
    fig.suptitle("leadflow bench all (grey: raw floor, same run; dashed: target)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_summary(
    figs: list[Figure], out: Path, runs: dict[str, str], load: dict[str, list[float]]
) -> tuple[Path, Path]:
    """`runs`: benchmark -> when its figures were measured (a skipped one keeps its date)."""
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "benchmark": "summary",
        "machine": report.machine(),
        "load_average_1_5_15": load,
        "measured": runs,
        "figures": [f.as_dict() for f in figs],
        "readme_rows": markdown_rows(figs),
    }
    json_path = out / "summary.json"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    png_path = out / "summary.png"
    summary_chart(figs, png_path)
    return json_path, png_path
