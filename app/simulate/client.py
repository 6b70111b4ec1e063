"""The HTTP side of the simulation: leadflow's public API, retried through outages.

A command is retried with the same `Idempotency-Key` and the same bytes, so a retry after a
lost answer has no second effect (CONTRACT 6). Connection errors, 5xx and 429 are retried
until `patience` seconds pass without an answer; 401/403 stop at once with the reason.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx

from leadflow.simulate.rules import SimulationError

RETRIED = frozenset({429, 500, 502, 503, 504})


class Api:
    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        patience: float = 300.0,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        key = api_key if api_key is not None else os.environ.get("LEADFLOW_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.patience = patience
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline, pause = time.monotonic() + self.patience, 0.2
        while True:
            problem: str
            try:
                r = self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except httpx.TransportError as e:
                problem = f"{type(e).__name__}"
            else:
                if r.status_code in (401, 403):
                    raise SimulationError(
                        f"{method} {path}: {r.status_code} — the API refused the key;"
                        " give one with a role that allows it (--api-key or LEADFLOW_API_KEY)"
                    )
                if r.status_code not in RETRIED:
                    return r
                problem = f"HTTP {r.status_code}"
            if time.monotonic() > deadline:
                raise SimulationError(
                    f"{method} {path}: no usable answer from {self.url} for"
                    f" {self.patience:.0f}s (last: {problem})"
                )
            time.sleep(pause)
            pause = min(pause * 2, 3.0)

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        r = self.request("GET", path, params=params)
        if r.status_code != 200:
            raise SimulationError(f"GET {path}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()

    def lead(self, email: str) -> dict[str, Any] | None:
        items = self.get("/leads", {"email": email})["items"]
        return items[0] if items else None

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = self.get("/status")
        return data


def up_to_date(status: dict[str, Any]) -> bool:
    """All lags 0 (CONTRACT 6), with a broker configured so that the lags mean something."""
    lags = [
        status["relay"]["lag"],
        *(p["lag"] for p in status.get("projections", [])),
        *(c["lag"] for c in status.get("consumers", [])),
    ]
    return bool(status.get("projections")) and all(lag == 0 for lag in lags)
