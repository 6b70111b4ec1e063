"""`POST /engagement` and `POST /spend` (CONTRACT 3, 4, 6): one record or an array of them.

Every item is validated with the same rules as the topics; invalid items are answered in the
response (never dead-lettered). Valid items go to the inbound topics, so that HTTP and Kafka
senders take one path into leadflow; without a broker they are recorded directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from leadflow.api import responses as out
from leadflow.api.errors import ERROR_RESPONSES, ApiError
from leadflow.container import Leadflow
from leadflow.domain.engagement import Engagement
from leadflow.schemas import InvalidRecord, SpendIn, parse_engagement, parse_spend

MAX_BATCH = 1000

KeyedRecords = list[tuple[bytes, bytes]]
T = TypeVar("T")


class PublishFailed(RuntimeError):
    """The broker did not acknowledge every record; the sender should retry the request."""


class InboundPublisher(Protocol):
    """Writes (key, value) records to the inbound topics and returns once the broker
    acknowledged every one of them; raises PublishFailed otherwise."""

    def publish_engagement(self, items: KeyedRecords) -> None: ...

    def publish_spend(self, items: KeyedRecords) -> None: ...


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _items(body: bytes) -> list[Any]:
    try:
        # Strict: UTF-8 only, and no NaN/Infinity, which Python's json would take.
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ApiError(422, "invalid_json", f"the body is not valid JSON: {str(e)[:200]}") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise ApiError(422, "invalid_input", "the body must be a JSON object or an array of them")
    if len(data) > MAX_BATCH:
        raise ApiError(
            413,
            "batch_too_large",
            f"a batch holds at most {MAX_BATCH} items; got {len(data)}",
            {"limit_items": MAX_BATCH, "items": len(data)},
        )
    return data


def _validate(
    items: list[Any], parse: Callable[[bytes], T]
) -> tuple[list[tuple[bytes, T]], list[dict[str, Any]]]:
    valid: list[tuple[bytes, T]] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append({"index": index, "error": "record must be a JSON object"})
            continue
        try:
            # The item as the sender wrote it (fields, values, unknown fields) is what the
            # topic carries; only the whitespace between tokens is ours.
            raw = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            valid.append((raw, parse(raw)))
        except UnicodeEncodeError:
            rejected.append({"index": index, "error": "record has a lone surrogate (\\ud8xx)"})
        except InvalidRecord as e:
            rejected.append({"index": index, "error": e.reason})
    if not valid:
        first = rejected[0] if rejected else None
        why = f" (item {first['index']}: {first['error']})" if first else ""
        raise ApiError(
            422, "invalid_input", f"no valid record in the request{why}", {"rejected": rejected}
        )
    return valid, rejected


def _accepted(count: int, rejected: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"accepted": count, "rejected": rejected}, status_code=202)


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object"},
                        {"type": "array", "items": {"type": "object"}, "maxItems": MAX_BATCH},
                    ]
                }
            }
        },
    }
}


def ingest_router(lf: Leadflow, publisher: InboundPublisher | None) -> APIRouter:
    router = APIRouter(responses=ERROR_RESPONSES, tags=["ingest"])

    @router.post(
        "/engagement",
        status_code=202,
        openapi_extra=_BODY_DOC,
        **out.documented(out.IngestAccepted, 202),
    )
    async def engagement(request: Request) -> JSONResponse:
        valid, rejected = _validate(_items(await request.body()), parse_engagement)
        if publisher is not None:
            records = [(e.email.encode(), raw) for raw, e in valid]
            await run_in_threadpool(publisher.publish_engagement, records)
        else:
            # No broker (tests, broker-less mode): the same use case the consumer calls.
            batch: list[Engagement] = [e for _, e in valid]
            await run_in_threadpool(lf.engagement.record, batch)
        # An event_id seen before is accepted and has no effect (CONTRACT 3.4).
        return _accepted(len(valid), rejected)

    @router.post(
        "/spend",
        status_code=202,
        openapi_extra=_BODY_DOC,
        **out.documented(out.IngestAccepted, 202),
    )
    async def spend(request: Request) -> JSONResponse:
        currency = lf.currency

        def parse(raw: bytes) -> SpendIn:
            return parse_spend(raw, currency)

        valid, rejected = _validate(_items(await request.body()), parse)
        if publisher is not None:
            records = [(s.source.encode(), raw) for raw, s in valid]
            await run_in_threadpool(publisher.publish_spend, records)
        else:
            # No broker (tests, broker-less mode): the same use case the consumer calls.
            await run_in_threadpool(lf.spend.record, [s for _, s in valid])
        return _accepted(len(valid), rejected)

    return router
