"""`leadflow api` and `leadflow keys` as processes (CONTRACT 9): off loopback the API refuses
to start without keys and starts with them; no key or hash of a key ever reaches a log or
an output, except the one-time print of `keys create`."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from leadflow.cli.common import EXIT_CONFIG, EXIT_INVALID
from tests.integration.api._auth_helpers import bearer

ENV_KEY = "lf_process-test-key-0123456789abcdefghij"
HASHED_KEY = "lf_process-test-hashed-key-0123456789ab"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    (data_dir / "leadflow.toml").write_text("", encoding="utf-8")
    return {
        **env,
        "LEADFLOW_DATA_DIR": str(data_dir),
        "LEADFLOW_CONFIG": str(data_dir / "leadflow.toml"),
        "LEADFLOW_LOG_FORMAT": "json",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leadflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadflow", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@contextmanager
def api_process(env: dict[str, str], port: int, logs: dict[str, str]) -> Iterator[str]:
    """`leadflow api` on 0.0.0.0:`port`; its stdout and stderr land in `logs` at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadflow", "api"],
        env={**env, "LEADFLOW_HTTP": f"0.0.0.0:{port}"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the API exited: {proc.communicate()}")
            try:
                httpx.get(f"{url}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("the API did not answer within 60 s") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        logs["stdout"], logs["stderr"] = out, err


def test_off_loopback_the_api_refuses_to_start_without_keys(tmp_path: Path) -> None:
    env = base_env(tmp_path, LEADFLOW_HTTP=f"0.0.0.0:{free_port()}")
    done = leadflow(env, "api")
    assert done.returncode == EXIT_CONFIG, done
    message = " ".join(done.stderr.split())
    assert "refusing to listen on 0.0.0.0" in message and "loopback" in message
    assert "leadflow keys create" in message


def test_off_loopback_with_keys_it_serves_and_no_key_reaches_a_log(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        LEADFLOW_API_KEYS=f"ops:admin:{ENV_KEY},reader:analyst:sha256:{sha(HASHED_KEY)}",
    )
    outputs: list[str] = []
    created = leadflow(env, "keys", "create", "crm-sync", "--role", "sales")
    assert created.returncode == 0, created
    db_key = created.stdout.strip()
    outputs.append(created.stderr)  # the note; stdout is the one-time print of the key
    logs: dict[str, str] = {}
    with api_process(env, free_port(), logs) as url:
        assert httpx.get(f"{url}/funnel", timeout=30).status_code == 401
        assert httpx.get(f"{url}/funnel", headers=bearer(ENV_KEY), timeout=30).status_code == 200
        r = httpx.get(f"{url}/funnel", headers=bearer(HASHED_KEY), timeout=30)
        assert r.status_code == 200
        wrong = httpx.get(f"{url}/funnel", headers=bearer(ENV_KEY + "x"), timeout=30)
        assert wrong.status_code == 401
        r = httpx.post(f"{url}/accounts", json={"name": "Acme"}, headers=bearer(HASHED_KEY))
        assert r.status_code == 403
        r = httpx.post(f"{url}/accounts", json={"name": "Acme"}, headers=bearer(db_key))
        assert r.status_code == 201, r.text
        runs = [
            leadflow(env, "keys", *args)
            for args in (("list",), ("revoke", "crm-sync"), ("list",), ("revoke", "ops"))
        ]
        assert [r.returncode for r in runs] == [0, 0, 0, EXIT_INVALID]
        assert "crm-sync" in runs[0].stdout and "revoked" in runs[1].stdout
        outputs += [text for r in runs for text in (r.stdout, r.stderr)]
    outputs += [logs["stdout"], logs["stderr"]]
    assert '"API keys required"' in logs["stderr"]  # the API said how it runs
    everything = "\n".join(outputs)
    for secret in (ENV_KEY, HASHED_KEY, db_key):
        assert secret not in everything
        assert sha(secret) not in everything
        assert secret not in created.stderr
    assert db_key.startswith("lf_")
