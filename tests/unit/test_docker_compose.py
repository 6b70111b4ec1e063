"""docker-compose.yml cannot run here (no Docker engine), so check it against the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from leadflow.cli import app as cli_app
from leadflow.settings import DatabaseSettings, Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_images_are_real_kafka_in_kraft_mode_and_postgres() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["leadflow"]["build"] == "."


def test_leadflow_settings_names_are_the_ones_the_code_reads() -> None:
    env = compose()["services"]["leadflow"]["environment"]
    read_by_code = set(re.findall(r'"(LEADFLOW_[A-Z_]+)"', (ROOT / "app/settings.py").read_text()))
    assert set(env) <= read_by_code, set(env) - read_by_code
    settings = Settings.from_env({k: str(v) for k, v in env.items()})
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.database.kind == "postgres" and settings.database.host == "postgres"
    assert settings.http_port == 8000


def test_ports_and_addresses_agree() -> None:
    services = compose()["services"]
    env = services["leadflow"]["environment"]
    kafka_env = services["kafka"]["environment"]
    host, _, port = env["LEADFLOW_KAFKA_BOOTSTRAP"].partition(":")
    assert f"{host}:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    db = DatabaseSettings.from_url(env["LEADFLOW_DATABASE_URL"], Path("."))
    pg = services["postgres"]["environment"]
    assert (db.user, db.password, db.dbname) == (
        pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"])
    assert f"{env['LEADFLOW_HTTP'].rpartition(':')[2]}:8000" in services["leadflow"]["ports"][0]


def test_the_command_is_a_leadflow_command() -> None:
    command = compose()["services"]["leadflow"]["command"]
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in
             cli_app.registered_commands}
    assert command[0] in names
