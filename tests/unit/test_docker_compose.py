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


# `${NAME:?message}`: compose refuses to start unless NAME is set in its environment.
REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?(?P<message>[^}]+)\}$")
A_KEY = "ops:admin:lf_" + "k" * 43


def resolved(env: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """The environment compose hands the container, with `given` set on the host."""
    out = {}
    for name, value in env.items():
        required = REQUIRED.match(str(value))
        out[name] = given[required["name"]] if required else str(value)
    return out


def test_leadflow_settings_names_are_the_ones_the_code_reads() -> None:
    env = compose()["services"]["leadflow"]["environment"]
    read_by_code = set(re.findall(r'"(LEADFLOW_[A-Z_]+)"', (ROOT / "app/settings.py").read_text()))
    assert set(env) <= read_by_code, set(env) - read_by_code
    settings = Settings.from_env(resolved(env, {"LEADFLOW_API_KEYS": A_KEY}))
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.database.kind == "postgres" and settings.database.host == "postgres"
    assert settings.http_port == 8000
    assert [(k.name, k.roles) for k in settings.api_keys] == [("ops", {"admin"})]


def test_the_api_listens_off_loopback_so_keys_are_required() -> None:
    # CONTRACT 9: without keys the API refuses any address but loopback, so compose must
    # not start without them.
    env = compose()["services"]["leadflow"]["environment"]
    assert not env["LEADFLOW_HTTP"].startswith(("127.", "localhost", "[::1]"))
    required = REQUIRED.match(str(env["LEADFLOW_API_KEYS"]))
    assert required is not None and required["name"] == "LEADFLOW_API_KEYS"
    assert "README" in required["message"]


def test_ports_and_addresses_agree() -> None:
    services = compose()["services"]
    env = services["leadflow"]["environment"]
    kafka_env = services["kafka"]["environment"]
    host, _, port = env["LEADFLOW_KAFKA_BOOTSTRAP"].partition(":")
    assert f"{host}:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    db = DatabaseSettings.from_url(env["LEADFLOW_DATABASE_URL"], Path("."))
    pg = services["postgres"]["environment"]
    assert (db.user, db.password, db.dbname) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    assert f"{env['LEADFLOW_HTTP'].rpartition(':')[2]}:8000" in services["leadflow"]["ports"][0]


def test_the_command_is_a_leadflow_command() -> None:
    command = compose()["services"]["leadflow"]["command"]
    names = {
        c.name or (c.callback.__name__ if c.callback else "") for c in cli_app.registered_commands
    }
    assert command[0] in names
