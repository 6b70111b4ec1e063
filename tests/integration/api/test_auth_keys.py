"""Where keys come from (CONTRACT 9): LEADFLOW_API_KEYS, leadflow.toml and the database
(`leadflow keys create`, run here through typer's CliRunner); a running API sees keys made
or revoked by the command line; with no keys at all it is open, to loopback clients only."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
from typer.testing import CliRunner

from leadflow.api.server import create_app
from leadflow.cli import app as cli_app
from leadflow.cli.common import EXIT_CONFIG, EXIT_INVALID, EXIT_NOT_FOUND
from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.logs import configure
from leadflow.settings import DatabaseSettings, Settings
from tests.integration.api._auth_helpers import bearer, db_url, eventually
from tests.integration.api.conftest import assert_error, running

ENV_KEY = "lf_env-key-for-tests-0123456789abcdef"
ENV_HASHED = "lf_env-key-given-as-a-hash-0123456789"
TOML_KEY = "lf_toml-key-for-tests-0123456789abcdef"
TOML_HASHED = "lf_toml-key-given-as-a-hash-012345678"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def run(db: DatabaseSettings, tmp_path: Path, *args: str, keys: str = "") -> tuple[int, str, str]:
    env = {
        "LEADFLOW_DATABASE_URL": db_url(db),
        "LEADFLOW_DATA_DIR": str(tmp_path),
        "LEADFLOW_API_KEYS": keys,
        "LEADFLOW_CONFIG": str(tmp_path / "absent-is-fine.toml"),
    }
    (tmp_path / "absent-is-fine.toml").touch()
    # The CLI configures logging once per process, onto sys.stderr as it is then: inside
    # CliRunner a stream closed after the call, which later tests' logs would write to.
    configure()
    result = CliRunner().invoke(cli_app, ["keys", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def leadflow_with(
    db: DatabaseSettings, tmp_path: Path, env: dict[str, str], config_text: str | None = None
) -> Leadflow:
    settings = Settings.from_env({"LEADFLOW_DATA_DIR": str(tmp_path), **env}).with_database(db)
    path = None
    if config_text is not None:
        path = tmp_path / "leadflow.toml"
        path.write_text(config_text, encoding="utf-8")
    return build(settings, load_config(path))


def answers(url: str, key: str) -> int:
    return httpx.get(f"{url}/funnel", headers=bearer(key), timeout=30).status_code


def test_keys_from_the_environment_in_both_forms(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    compact = f"env-plain:analyst:{ENV_KEY},env-hash:sales:sha256:{sha(ENV_HASHED)}"
    as_json = json.dumps(
        [
            {"name": "env-plain", "roles": ["analyst"], "key": ENV_KEY},
            {"name": "env-hash", "roles": ["sales"], "hash": sha(ENV_HASHED)},
        ]
    )
    for text in (compact, as_json):
        lf = leadflow_with(db_settings, tmp_path, {"LEADFLOW_API_KEYS": text})
        try:
            with running(create_app(lf, None)) as url:
                assert answers(url, ENV_KEY) == 200
                assert answers(url, ENV_HASHED) == 200
                assert answers(url, "lf_" + "x" * 40) == 401
                assert answers(url, sha(ENV_KEY)) == 401  # the hash is not a key
                r = httpx.post(f"{url}/accounts", json={"name": "Acme"}, headers=bearer(ENV_KEY))
                assert_error(r, 403, "forbidden")
        finally:
            lf.close()


def test_keys_from_leadflow_toml(db_settings: DatabaseSettings, tmp_path: Path) -> None:
    text = (
        f'[[api_keys]]\nname = "toml-plain"\nroles = ["analyst"]\nkey = "{TOML_KEY}"\n'
        f'[[api_keys]]\nname = "toml-hash"\nroles = ["admin"]\n'
        f'hash = "sha256:{sha(TOML_HASHED)}"\n'
    )
    lf = leadflow_with(db_settings, tmp_path, {}, text)
    try:
        with running(create_app(lf, None)) as url:
            assert answers(url, TOML_KEY) == 200
            assert answers(url, TOML_HASHED) == 200
            assert httpx.get(f"{url}/funnel", timeout=30).status_code == 401
    finally:
        lf.close()


def test_keys_made_and_revoked_by_the_cli_count_in_a_running_api(
    app: Leadflow, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    with running(create_app(app, None)) as url:
        # No key anywhere yet: open, to this loopback client, with no key.
        assert httpx.get(f"{url}/funnel", timeout=30).status_code == 200

        code, out, err = run(db_settings, tmp_path, "create", "crm-sync", "--role", "sales",
                             "--role", "analyst")  # fmt: skip
        assert code == 0, err
        key = out.strip()
        assert key.startswith("lf_") and len(key) > 40 and "\n" not in key
        assert "cannot be shown again" in " ".join(err.split()) and key not in err

        # Now keyed: the open API closes within its cache time.
        eventually(lambda: httpx.get(f"{url}/funnel", timeout=30).status_code == 401, "keyed")
        assert answers(url, key) == 200
        r = httpx.post(f"{url}/accounts", json={"name": "Acme"}, headers=bearer(key))
        assert r.status_code == 201, r.text

        code, out, err = run(db_settings, tmp_path, "revoke", "crm-sync")
        assert code == 0 and "revoked" in out, err
        eventually(lambda: answers(url, key) == 401, "refused after revocation")
        # Revoked keys still count as configured: no key is valid now, but it stays keyed.
        assert httpx.get(f"{url}/funnel", timeout=30).status_code == 401

        code, out, err = run(db_settings, tmp_path, "revoke", "crm-sync")
        assert code == 0 and "already revoked" in out


def test_keys_list_shows_every_source_and_never_a_key_or_hash(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    code, out, _ = run(db_settings, tmp_path, "create", "db-key", "--role", "admin")
    key = out.strip()
    assert code == 0
    env = f"env-key:ingest:{ENV_KEY}"
    code, out, err = run(db_settings, tmp_path, "revoke", "db-key", keys=env)
    assert code == 0
    code, out, err = run(db_settings, tmp_path, "list", keys=env)
    assert code == 0, err
    lines = {line.split()[1]: line for line in out.splitlines() if "-key" in line}
    assert set(lines) == {"db-key", "env-key"}
    assert "admin" in lines["db-key"] and "database" in lines["db-key"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert lines["db-key"].count(today) == 2  # created and revoked
    assert "ingest" in lines["env-key"] and "LEADFLOW_API_KEYS" in lines["env-key"]
    for secret in (key, sha(key), ENV_KEY, sha(ENV_KEY)):
        assert secret not in out + err


def test_keys_cli_errors_and_exit_codes(db_settings: DatabaseSettings, tmp_path: Path) -> None:
    assert run(db_settings, tmp_path, "create", "a", "--role", "admin")[0] == 0
    code, out, err = run(db_settings, tmp_path, "create", "a", "--role", "admin")
    assert code == EXIT_INVALID and "exists already" in err and out == ""
    code, out, err = run(db_settings, tmp_path, "create", "b", "--role", "root")
    assert code == EXIT_INVALID and "unknown role" in err and out == ""
    code, out, err = run(db_settings, tmp_path, "create", "(b)", "--role", "admin")
    assert code == EXIT_INVALID and "key name" in err
    code, out, err = run(db_settings, tmp_path, "revoke", "nobody")
    assert code == EXIT_NOT_FOUND and "no key named" in err
    env = f"env-key:ingest:{ENV_KEY}"
    code, out, err = run(db_settings, tmp_path, "revoke", "env-key", keys=env)
    assert code == EXIT_INVALID and "LEADFLOW_API_KEYS" in err
    code, out, err = run(db_settings, tmp_path, "create", "env-key", "--role", "admin", keys=env)
    assert code == EXIT_INVALID and "configured already" in err
    code, out, err = run(db_settings, tmp_path, "list", keys="env-key:boss:" + ENV_KEY)
    assert code == EXIT_CONFIG and "LEADFLOW_API_KEYS entry 1" in err and ENV_KEY not in err


def test_an_open_api_answers_loopback_clients_only(app: Leadflow) -> None:
    from starlette.types import Receive, Scope, Send

    inner = create_app(app, None)

    async def from_afar(scope: Scope, receive: Receive, send: Send) -> None:
        # As if the client were elsewhere: a proxy on this host, or an app on 0.0.0.0.
        if scope["type"] == "http":
            scope["client"] = ("203.0.113.9", 40000)
        await inner(scope, receive, send)

    with running(from_afar) as url:
        r = httpx.get(f"{url}/funnel", timeout=30)
        assert_error(r, 401, "unauthorized")
        assert "loopback" in r.json()["error"]["message"]
    with running(create_app(app, None, allow_open=False)) as url:
        assert_error(httpx.get(f"{url}/funnel", timeout=30), 401)
    with running(create_app(app, None)) as url:
        assert httpx.get(f"{url}/funnel", timeout=30).status_code == 200
