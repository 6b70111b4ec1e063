"""Who may call what (CONTRACT 9 "Keys and roles"), in one place for every route.

`allowed_roles(method, path)` is the whole policy; `KeyAuth`, an ASGI middleware in front of
every route, applies it before a body is read or a route runs, so a route added later is
covered without being listed: a new GET is for readers, a new POST outside the lead,
contact, account and opportunity collections for `admin` only. Only public paths (the
dashboard's page and assets, the API docs: they hold no data) answer without a key.

With no key anywhere (database, LEADFLOW_API_KEYS, leadflow.toml; a revoked key counts, so
revoking the last key never opens the API) and `allow_open`, the API is open, to loopback
clients only; a command's actor is then OPEN_ACTOR.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from leadflow.api.errors import ErrorOut
from leadflow.container import Leadflow
from leadflow.infra.apikeys import ApiKey, ApiKeyRing, ApiKeyTable

ADMIN, ANALYST, INGEST, SALES = "admin", "analyst", "ingest", "sales"
OPEN_ACTOR = "(loopback)"  # no key name can start with "(" (apikeys.NAME_PATTERN)
PUBLIC = frozenset({"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
READS = frozenset({"GET", "HEAD"})
INGEST_ROUTES = frozenset({"/engagement", "/spend"})
# The aggregates whose commands are sales' work; anything else (erasure, rebuild, whatever
# comes next) needs admin until this line says otherwise.
SALES_COLLECTIONS = frozenset({"leads", "contacts", "accounts", "opportunities"})

bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`leadflow keys create`), sent as `Authorization: Bearer <key>`.",
)
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ErrorOut, "description": "the key's roles do not allow this call"},
}


def allowed_roles(method: str, path: str) -> frozenset[str]:
    """The roles that may call `method path`; admin may call everything. The answer depends
    on the method and the path's first segment only, so a route template
    (`/leads/{lead_id}/status`) and a request's path get the same one, and the middleware
    can decide before routing."""
    method = method.upper()
    if method in READS:
        return frozenset({ANALYST, SALES, ADMIN})
    if method == "POST" and path in INGEST_ROUTES:
        return frozenset({INGEST, ADMIN})
    if method == "POST" and path.split("/")[1] in SALES_COLLECTIONS:
        return frozenset({SALES, ADMIN})
    return frozenset({ADMIN})


def is_public(path: str) -> bool:
    return path in PUBLIC or (path.startswith("/dashboard/") and path.count("/") == 2)


def _is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class KeyAuth:
    """Authenticates the bearer key and authorises its roles; puts the key's name in
    `request.state.actor` for the audit of commands."""

    def __init__(self, app: ASGIApp, ring: ApiKeyRing, allow_open: bool) -> None:
        self.app = app
        self.ring = ring
        self.allow_open = allow_open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        keys = self.ring.keys() if not self.ring.stale else await run_in_threadpool(self.ring.keys)
        state = scope.setdefault("state", {})
        if not keys:
            if self.allow_open and _is_loopback(scope.get("client")):
                state["actor"] = OPEN_ACTOR
                await self.app(scope, receive, send)
                return
            await _refuse(
                send,
                401,
                "no API keys are configured: this API answers only "
                "loopback clients until a key is created (leadflow keys create)",
            )
            return
        token = _bearer_token(scope)
        key: ApiKey | None = self.ring.authenticate(token, keys) if token else None
        if key is None:
            message = (
                "the API key is unknown or revoked"
                if token
                else "this call needs an API key: send Authorization: Bearer <key>"
            )
            await _refuse(send, 401, message)
            return
        method, path = scope["method"], scope["path"]
        needed = allowed_roles(method, path)
        if not key.roles & needed:
            await _refuse(
                send,
                403,
                f"the key {key.name!r} may not call {method} {path}",
                {"key": key.name, "roles": sorted(key.roles), "needs_one_of": sorted(needed)},
            )
            return
        state["actor"] = key.name
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str, details: Any = None) -> None:
    code = "unauthorized" if status == 401 else "forbidden"
    body = json.dumps({"error": {"code": code, "message": message, "details": details}})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="leadflow"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def key_ring(lf: Leadflow, ttl: float = 1.0) -> ApiKeyRing:
    """Every key of this installation: LEADFLOW_API_KEYS, leadflow.toml and the table."""
    configured = [*lf.settings.api_keys, *(k.api_key() for k in lf.config.api_keys)]
    return ApiKeyRing(configured, ApiKeyTable(lf.store.side), ttl)
