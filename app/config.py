"""leadflow.toml: validated with pydantic; a bad file gets an error naming the key."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadflow.domain.assignment import AssignmentPolicy, AssignmentRule
from leadflow.domain.engagement import ENGAGEMENT_TYPES, PROFILE_FIELDS
from leadflow.domain.scoring import FitRule, ScoringPolicy
from leadflow.infra.apikeys import HASH_PREFIX, ApiKey, check_name, check_roles, digest_from_secret

DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
MATCH_FIELDS = frozenset({*PROFILE_FIELDS, "source", "campaign"})


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the key and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FitRuleModel(_Strict):
    name: str = Field(min_length=1)
    field: str
    points: int = Field(ge=0)
    values: list[str] = []
    min: float | None = None

    @model_validator(mode="after")
    def _check(self) -> FitRuleModel:
        if self.field not in PROFILE_FIELDS:
            raise ValueError(f"field must be one of {', '.join(PROFILE_FIELDS)}")
        if not self.values and self.min is None:
            raise ValueError("give values or min")
        return self


class AssignmentRuleModel(_Strict):
    name: str = Field(min_length=1)
    match: dict[str, list[str]] = {}
    owner: str | None = Field(default=None, min_length=1)
    queue: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> AssignmentRuleModel:
        unknown = set(self.match) - MATCH_FIELDS
        if unknown:
            raise ValueError(f"match on unknown field(s) {sorted(unknown)}")
        if (self.owner is None) == (self.queue is None):
            raise ValueError("give exactly one of owner or queue")
        return self


class AssignmentModel(_Strict):
    rules: list[AssignmentRuleModel] = []
    queues: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _check(self) -> AssignmentModel:
        for name, members in self.queues.items():
            if not members:
                raise ValueError(f"queue {name!r} has no members")
        for rule in self.rules:
            if rule.queue is not None and rule.queue not in self.queues:
                raise ValueError(f"rule {rule.name!r} names unknown queue {rule.queue!r}")
        return self


class ApiKeyModel(_Strict):
    """`[[api_keys]]`: name, roles and either `hash = "sha256:<hex>"` or `key` (hashed on
    reading, never kept)."""

    name: str
    roles: list[str]
    hash: str = Field(repr=False)

    @model_validator(mode="before")
    @classmethod
    def _hash_plain_key(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = [k for k in ("key", "hash") if k in data]
        if len(given) != 1:
            raise ValueError("give exactly one of key or hash")
        secret = data[given[0]]
        if not isinstance(secret, str):
            raise ValueError(f"{given[0]} must be text")
        if given[0] == "hash" and not secret.startswith(HASH_PREFIX):
            raise ValueError(f"hash must be {HASH_PREFIX}<64 hex digits>")
        rest = {k: v for k, v in data.items() if k not in ("key", "hash")}
        return rest | {"hash": HASH_PREFIX + digest_from_secret(secret)}

    @model_validator(mode="after")
    def _check(self) -> ApiKeyModel:
        check_name(self.name)
        check_roles(self.roles)
        return self

    def api_key(self) -> ApiKey:
        return ApiKey(
            self.name, check_roles(self.roles), digest_from_secret(self.hash), source="toml"
        )


class LeadflowConfig(_Strict):
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    mql_threshold: int = Field(default=50, ge=1)
    stuck_days: int = Field(default=14, ge=0)
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    points: dict[str, int]
    fit_rules: list[FitRuleModel] = []
    assignment: AssignmentModel = AssignmentModel()
    api_keys: list[ApiKeyModel] = []

    @model_validator(mode="after")
    def _check_points(self) -> LeadflowConfig:
        unknown = set(self.points) - set(ENGAGEMENT_TYPES)
        if unknown:
            raise ValueError(f"points: unknown engagement type(s) {sorted(unknown)}")
        negative = [k for k, v in self.points.items() if v < 0]
        if negative:
            raise ValueError(f"points: must not be negative: {sorted(negative)}")
        missing = set(ENGAGEMENT_TYPES) - set(self.points)
        if missing:
            raise ValueError(f"points: missing engagement type(s) {sorted(missing)}")
        names = [k.name for k in self.api_keys]
        if len(names) != len(set(names)):
            raise ValueError("api_keys: a key name appears twice")
        return self

    def scoring_policy(self) -> ScoringPolicy:
        return ScoringPolicy(
            points=dict(self.points),
            mql_threshold=self.mql_threshold,
            fit_rules=tuple(
                FitRule(r.name, r.field, r.points, tuple(r.values), r.min) for r in self.fit_rules
            ),
        )

    def assignment_policy(self) -> AssignmentPolicy:
        return AssignmentPolicy(
            rules=tuple(
                AssignmentRule(
                    name=r.name,
                    match={k: tuple(v) for k, v in r.match.items()},
                    owner=r.owner,
                    queue=r.queue,
                )
                for r in self.assignment.rules
            ),
            queues={k: tuple(v) for k, v in self.assignment.queues.items()},
        )


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e


def load_config(
    path: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> LeadflowConfig:
    """The defaults, overlaid with the file at `path` (if any) and then `overrides`."""
    data = _read_toml(DEFAULTS_PATH)
    where = "defaults"
    if path is not None:
        data = _deep_merge(data, _read_toml(path))
        where = str(path)
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return LeadflowConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in e.errors()
        )
        # Not chained: the validation error quotes its input, which may hold a plain API key.
        raise ConfigError(f"{where}: {problems}") from None
