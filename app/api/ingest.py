"""`POST /engagement` and `POST /spend` (CONTRACT 3, 4, 6, 9): one record or an array of
1 to 1,000; each record at most 64 KiB (measured as written back compactly in UTF-8).

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

from leadflow import strictjson
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


def _items(body: bytes) -> list[Any]:
    try:
        data = strictjson.loads(body)
    except strictjson.JsonFlaw as e:
        raise ApiError(422, "invalid_json", f"the body {e.reason}") from None
    if not isinstance(data, list):
        if not isinstance(data, dict | strictjson.Flaw):
            raise ApiError(
                422, "invalid_input", "the body must be a JSON object or an array of them"
            )
        return [data]
    if not data:
        raise ApiError(422, "invalid_input", "the array is empty; send at least one record")
    if len(data) > MAX_BATCH:
        # 422, not 413: the body is within the size limit, its content breaks a rule.
        raise ApiError(
            422,
            "batch_too_large",
            f"a batch holds at most {MAX_BATCH} items; got {len(data)}",
            {"limit_items": MAX_BATCH, "items": len(data)},
        )
    return data


def _validate(
    items: list[Any], parse: Callable[[bytes], T]
) -> tuple[list[tuple[bytes, T]], list[dict[str, Any]]]:
    """The 64 KiB record limit applies to each item written back as compact UTF-8 JSON,
    which is exactly the value the inbound topic then carries."""
    valid: list[tuple[bytes, T]] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            strictjson.check(item)
            if not isinstance(item, dict):
                raise InvalidRecord("record must be a JSON object")
            # The item as the sender wrote it (fields, values, unknown fields) is what the
            # topic carries; only the whitespace between tokens is ours.
            raw = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            valid.append((raw, parse(raw)))
        except strictjson.JsonFlaw as e:
            rejected.append({"index": index, "error": f"record {e.reason}"})
        except InvalidRecord as e:
            rejected.append({"index": index, "error": e.reason})
    if not valid:
        first = rejected[0]
        raise ApiError(
            422,
            "invalid_input",
            f"no valid record in the request (item {first['index']}: {first['error']})",
            {"rejected": rejected},
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
                        {
                            "type": "array",
                            "items": {"type": "object"},
                            "minItems": 1,
                            "maxItems": MAX_BATCH,
                        },
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
