"""The configured numbers the ground truth scores with, read straight from the TOML files.

The simulator reads the same configuration data as leadflow (app/defaults.toml, overlaid by
LEADFLOW_CONFIG or ./leadflow.toml) but none of leadflow's code, so that its truth stays an
independent implementation of the contract.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults.toml"


class SimulationError(Exception):
    """The simulation cannot run or check as asked; the message says why."""


@dataclass(frozen=True)
class Rules:
    points: dict[str, int] = field(default_factory=dict)
    mql_threshold: int = 50
    stuck_days: int = 14
    currency: str = "USD"

    def as_json(self) -> dict[str, Any]:
        return {
            "points": dict(sorted(self.points.items())),
            "mql_threshold": self.mql_threshold,
            "stuck_days": self.stuck_days,
            "currency": self.currency,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        return cls(
            points={str(k): int(v) for k, v in data["points"].items()},
            mql_threshold=int(data["mql_threshold"]),
            stuck_days=int(data["stuck_days"]),
            currency=str(data["currency"]),
        )


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SimulationError(f"{path}: cannot read the configuration: {e}") from e


def load_rules(path: Path | None = None) -> Rules:
    """The defaults overlaid by `path`, else LEADFLOW_CONFIG, else ./leadflow.toml if present."""
    data = _read(DEFAULTS)
    if path is None:
        env = os.environ.get("LEADFLOW_CONFIG")
        path = (
            Path(env)
            if env
            else (Path("leadflow.toml") if Path("leadflow.toml").exists() else None)
        )
    if path is not None:
        override = _read(path)
        points = {**data.get("points", {}), **override.get("points", {})}
        data = {**data, **override, "points": points}
        # The truth models the default organisation: owners only by command, score only by
        # engagement. Rules it does not model would make every comparison fail, so say so.
        if data.get("fit_rules") or (data.get("assignment") or {}).get("rules"):
            raise SimulationError(
                f"{path}: the simulation's truth does not model fit_rules or assignment rules;"
                " run leadflow without them for `leadflow simulate`"
            )
    currency = os.environ.get("LEADFLOW_CURRENCY") or str(data.get("currency", "USD"))
    return Rules(
        points={str(k): int(v) for k, v in data["points"].items()},
        mql_threshold=int(data.get("mql_threshold", 50)),
        stuck_days=int(data.get("stuck_days", 14)),
        currency=currency,
    )
