"""Shared fixtures: real databases (SQLite file, PostgreSQL schema per test)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadflow.config import LeadflowConfig, load_config
from leadflow.container import Leadflow, build
from leadflow.infra.store import admin_connection
from leadflow.settings import DatabaseSettings, Settings

pytest_plugins = ["tests.kafka_fixtures"]

PG_URL = os.environ.get("LEADFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    db = DatabaseSettings.from_url(PG_URL, Path("."))
    try:
        with socket.create_connection((db.host, db.port), timeout=1):
            pass
    except OSError:
        return False
    try:
        with admin_connection(db, connect_timeout=3):
            return True
    except Exception:
        return False


PG_AVAILABLE = postgres_available()
PG_SKIP_REASON = f"no PostgreSQL answers at {PG_URL} (set LEADFLOW_TEST_POSTGRES)"


def drop_schema(schema: str) -> None:
    with admin_connection(DatabaseSettings.from_url(PG_URL, Path("."))) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseSettings]:
    """Each test gets an empty database: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield DatabaseSettings.from_url(None, tmp_path)
        return
    if not PG_AVAILABLE:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield DatabaseSettings.from_url(f"{PG_URL}?schema={schema}", tmp_path)
    drop_schema(schema)


@pytest.fixture
def config() -> LeadflowConfig:
    return load_config()


@pytest.fixture
def app(
    db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path
) -> Iterator[Leadflow]:
    lf = build(Settings(data_dir=tmp_path, database=db_settings), config)
    yield lf
    lf.close()
