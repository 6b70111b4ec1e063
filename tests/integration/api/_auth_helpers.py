"""Shared by the access-control tests (test_auth_*.py, test_history.py): a real uvicorn
server whose leadflow has API keys, one per role, made in its database as `leadflow keys
create` makes them; and the database URL of a test's `db_settings`, for the command line."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from leadflow.api.server import create_app
from leadflow.container import Leadflow
from leadflow.infra.apikeys import ApiKeyTable
from leadflow.settings import DatabaseSettings
from tests.conftest import PG_URL
from tests.integration.api.conftest import running

# key name -> roles; names say what the key may do.
ROLE_KEYS: dict[str, tuple[str, ...]] = {
    "ingest-bot": ("ingest",),
    "analyst-ann": ("analyst",),
    "sales-sam": ("sales",),
    "admin-ada": ("admin",),
    "ingest-and-analyst": ("ingest", "analyst"),
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def db_url(db: DatabaseSettings) -> str:
    """LEADFLOW_DATABASE_URL naming the same database as `db`."""
    if db.kind == "sqlite":
        assert db.sqlite_path is not None
        return f"sqlite:///{db.sqlite_path.resolve()}"
    return f"{PG_URL}?schema={db.schema}"


@dataclass
class Keyed:
    url: str
    lf: Leadflow
    keys: dict[str, str]  # name -> the plain key

    def client(self, name: str | None = None) -> httpx.Client:
        headers = bearer(self.keys[name]) if name else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def keyed(app: Leadflow) -> Iterator[Keyed]:
    """A server with one key per entry of ROLE_KEYS, and `revoked-rob` (admin), revoked."""
    table = ApiKeyTable(app.store.side)
    keys = {name: table.create(name, roles) for name, roles in ROLE_KEYS.items()}
    keys["revoked-rob"] = table.create("revoked-rob", ["admin"])
    assert table.revoke("revoked-rob") is True
    with running(create_app(app, None)) as url:
        yield Keyed(url, app, keys)


def eventually(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    """Waits for `check` (the API re-reads keys about once a second); fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {seconds} s")
        time.sleep(0.1)

