"""API fixtures: a real uvicorn server on a free loopback port, in a thread, over the `app`
fixture (SQLite and PostgreSQL), and an httpx client with small helpers."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
import uvicorn

from leadflow.api.ingest import InboundPublisher
from leadflow.api.server import create_app
from leadflow.container import Leadflow

Serve = Callable[..., str]


@contextmanager
def running(asgi: Any) -> Iterator[str]:
    # Bound before the server starts, so the port is ours: no race for a "free" port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class Swappable:
    """The ASGI app of one long-lived server, pointed at each test's own application:
    a uvicorn start and stop per test would cost more than most tests."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            raise RuntimeError("no application is being served")
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[str, Swappable]]:
    swap = Swappable()
    with running(swap) as url:
        yield url, swap


@pytest.fixture
def serve(_server: tuple[str, Swappable]) -> Iterator[Serve]:
    """`serve(lf, publisher=None, readmodels=None)` -> base URL of the running server, now
    answering with `create_app(lf, publisher, readmodels)`."""
    url, swap = _server

    def start(
        lf: Leadflow, publisher: InboundPublisher | None = None, readmodels: Any = None
    ) -> str:
        swap.app = create_app(lf, publisher, readmodels)
        return url

    yield start
    swap.app = None


@pytest.fixture
def server_url(app: Leadflow, serve: Serve) -> str:
    return serve(app)


@pytest.fixture
def client(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=30) as c:
        yield c


class Api:
    """Shortcuts for arranging a test through the API itself."""

    def __init__(self, client: httpx.Client, app: Leadflow) -> None:
        self.client = client
        self.app = app

    def engage(
        self,
        email: str,
        type: str = "form_submitted",
        occurred_at: str = "2026-09-14T10:00:00Z",
        **person: Any,
    ) -> UUID:
        """Sends one engagement event and returns the id of the person it landed on."""
        record = {
            "event_id": f"ev-{uuid.uuid4().hex}",
            "type": type,
            "occurred_at": occurred_at,
            "email": email,
            "source": "web",
            "campaign": "spring",
            "person": person or None,
        }
        r = self.client.post("/engagement", json=record)
        assert r.status_code == 202, r.text
        ref = self.app.people.find(email.strip().lower())
        assert ref is not None
        return ref.id

    def post(self, path: str, body: Any = None, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client.post(path, json=body, headers=headers)

    def sql_lead(self, email: str, **person: Any) -> UUID:
        lead_id = self.engage(email, **person)
        bant = {"budget": True, "authority": True, "need": True, "timeline": False}
        r = self.post(f"/leads/{lead_id}/qualify", bant)
        assert r.status_code == 200, r.text
        return lead_id

    def contact(self, email: str, company: str = "Acme Inc") -> dict[str, Any]:
        r = self.post(
            "/contacts",
            {"email": email, "first_name": "Grace", "last_name": "Hopper", "company": company},
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def account(self, name: str, **fields: Any) -> str:
        r = self.post("/accounts", {"name": name, **fields})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture
def api(client: httpx.Client, app: Leadflow) -> Api:
    return Api(client, app)


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The contract's error shape, with the given status (and code)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture
def expect_error() -> Callable[..., dict[str, Any]]:
    return assert_error
