"""Request bodies: at most 1 MiB (CONTRACT 9), UTF-8 JSON only, uncompressed, read once
and kept whole. A body in another charset or with a Content-Encoding is a 415 rather than
being guessed at: decoding it would be a second parser, and gzip a way round the size limit.

A raw ASGI middleware rather than a FastAPI dependency, so that the limit holds before any
parsing, for every route, and for chunked bodies that carry no Content-Length.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

MAX_BODY_BYTES = 1024 * 1024


MAX_ECHO_CHARS = 100
_UTF8 = (None, "utf-8", "utf8")


def is_json(content_type: str) -> bool:
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _charset(content_type: str) -> str | None:
    message = Message()
    message["content-type"] = content_type
    try:
        charset = message.get_content_charset()
    except (LookupError, ValueError):
        return "(unreadable)"
    return charset


def _refusal(content_type: str | None, encoding: str | None) -> bytes | None:
    """The 415 answer for a body leadflow will not read, or None to read it."""
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        return _error(
            "unsupported_media_type",
            "Content-Encoding is not supported; send the JSON body uncompressed",
            {"content_encoding": encoding[:MAX_ECHO_CHARS]},
        )
    if content_type is None or not is_json(content_type):
        return _error(
            "unsupported_media_type",
            "the body must be JSON, sent with Content-Type: application/json",
            {"content_type": content_type[:MAX_ECHO_CHARS] if content_type else None},
        )
    if _charset(content_type) not in _UTF8:
        return _error(
            "unsupported_media_type",
            "JSON bodies are UTF-8 (RFC 8259); send charset=utf-8 or no charset",
            {"content_type": content_type[:MAX_ECHO_CHARS]},
        )
    return None


def _error(code: str, message: str, details: Any = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


class BodyGuard:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # An empty body is fine without a type (commands whose fields are all optional).
        refusal = (
            _refusal(headers.get("content-type"), headers.get("content-encoding")) if body else None
        )
        if refusal is not None:
            await self._reply(send, 415, refusal)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, send: Send) -> None:
        await self._reply(
            send,
            413,
            _error(
                "payload_too_large",
                f"the request body is over the limit of {self.limit} bytes",
                {"limit_bytes": self.limit},
            ),
        )

    @staticmethod
    async def _reply(send: Send, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> AsgiMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # Past the body only a disconnect can come; let the server say when.
        return await receive()

    return replay
