"""Process settings from the environment (frozen); business rules live in leadflow.toml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from leadflow.infra.apikeys import ApiKey, ApiKeyError, parse_env


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseSettings:
    kind: str  # "sqlite" or "postgres"
    sqlite_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = "leadflow"
    schema: str | None = None

    @classmethod
    def from_url(cls, url: str | None, data_dir: Path) -> DatabaseSettings:
        if not url:
            return cls(kind="sqlite", sqlite_path=data_dir / "leadflow.sqlite3")
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            # sqlite:///relative/path or sqlite:////absolute/path
            path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
            if not path:
                raise SettingsError("LEADFLOW_DATABASE_URL: sqlite URL needs a file path")
            return cls(kind="sqlite", sqlite_path=Path(path))
        if parsed.scheme in ("postgres", "postgresql"):
            query = parse_qs(parsed.query)
            return cls(
                kind="postgres",
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432,
                user=unquote(parsed.username or "postgres"),
                password=unquote(parsed.password or ""),
                dbname=(parsed.path or "/leadflow").lstrip("/") or "leadflow",
                schema=query["schema"][0] if query.get("schema") else None,
            )
        raise SettingsError(
            "LEADFLOW_DATABASE_URL must start with sqlite:/// or postgresql:// "
            f"(got scheme {parsed.scheme!r})"
        )

    def describe(self) -> str:
        """For logs and /status: never the password."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        schema = f"?schema={self.schema}" if self.schema else ""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}{schema}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("leadflow-data")
    database: DatabaseSettings = field(
        default_factory=lambda: DatabaseSettings.from_url(None, Path("leadflow-data"))
    )
    kafka_bootstrap: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    config_path: Path | None = None
    currency: str | None = None
    log_format: str = "console"
    topic_partitions: int | None = None
    # From LEADFLOW_API_KEYS, hashed on reading: the plain keys are not kept.
    api_keys: tuple[ApiKey, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("LEADFLOW_DATA_DIR", "leadflow-data"))
        http = env.get("LEADFLOW_HTTP", "127.0.0.1:8000")
        host, _, port = http.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(f"LEADFLOW_HTTP must be host:port (got {http!r})")
        partitions = env.get("LEADFLOW_TOPIC_PARTITIONS")
        if partitions is not None and not partitions.isdigit():
            raise SettingsError("LEADFLOW_TOPIC_PARTITIONS must be a positive integer")
        try:
            api_keys = parse_env(env.get("LEADFLOW_API_KEYS", ""))
        except ApiKeyError as e:
            raise SettingsError(str(e)) from None
        config = env.get("LEADFLOW_CONFIG")
        if config is None and Path("leadflow.toml").exists():
            config = "leadflow.toml"
        return cls(
            data_dir=data_dir,
            database=DatabaseSettings.from_url(env.get("LEADFLOW_DATABASE_URL"), data_dir),
            kafka_bootstrap=env.get("LEADFLOW_KAFKA_BOOTSTRAP") or None,
            http_host=host.strip("[]"),
            http_port=int(port),
            config_path=Path(config) if config else None,
            currency=env.get("LEADFLOW_CURRENCY") or None,
            log_format=env.get("LEADFLOW_LOG_FORMAT", "console"),
            topic_partitions=int(partitions) if partitions else None,
            api_keys=api_keys,
        )

    def with_database(self, database: DatabaseSettings) -> Settings:
        return replace(self, database=database)
