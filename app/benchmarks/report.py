"""Benchmark results: JSON plus a PNG chart under bench-results/, figures beside floors."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(),
    }


def write(
    name: str,
    results: dict[str, Any],
    bars: dict[str, float],
    unit: str,
    out_dir: Path = Path("bench-results"),
) -> tuple[Path, Path]:
    """`bars` are the figures to chart (label -> value), floors beside measured rates."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "machine": machine(), **results}
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    png_path = out_dir / f"{name}.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.6 * len(bars) + 1.5))
    labels = list(bars)
    values = [bars[k] for k in labels]
    colours = ["#9aa5b1" if "floor" in k else "#2f6fde" for k in labels]
    ax.barh(labels, values, color=colours)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:,.0f}", va="center")
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(f"leadflow bench {name} (grey: raw floors, same run)")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return json_path, png_path
