"""One error shape for every answer that is not a success (CONTRACT 6):
`{"error": {"code", "message", "details"}}`, whoever raised it (use case, FastAPI, Starlette)."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadflow.domain.errors import DomainError, NotFound, RuleViolation, UnknownReference

log = logging.getLogger(__name__)

MAX_LISTED_ERRORS = 20


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """For OpenAPI: what every non-2xx answer looks like."""

    error: ErrorBody


class ApiError(Exception):
    """An HTTP-level refusal that no use case raises (body limits, content type, batches)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "unknown id"},
    409: {"model": ErrorOut, "description": "a business rule refuses the command"},
    413: {"model": ErrorOut, "description": "request body over 1 MiB"},
    415: {
        "model": ErrorOut,
        "description": "the body is not JSON, not UTF-8, or has a Content-Encoding",
    },
    422: {"model": ErrorOut, "description": "invalid input"},
}

_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, NotFound):
        return error_response(404, exc.code, exc.message, exc.details)
    if isinstance(exc, RuleViolation):
        return error_response(409, exc.code, exc.message, exc.details)
    details = dict(exc.details)
    if isinstance(exc, UnknownReference) and details and "field" not in details:
        # Clients branch on the field name; the id alone does not say which reference failed.
        details = {"field": next(iter(details)), **details}
    return error_response(422, exc.code, exc.message, details)


def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details)


def _where(loc: tuple[Any, ...]) -> str:
    # FastAPI prefixes the part of the request ("body", "path", ...); clients know fields.
    where = ("body", "path", "query", "header", "cookie")
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in where else []
    return ".".join(parts) or "(body)"


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    bad_path = [e for e in errors if e.get("loc", ("",))[0] == "path"]
    if bad_path:
        # An id that cannot be a UUID names nothing: the same answer as an unknown UUID.
        name = str(bad_path[0]["loc"][-1])
        what = name.removesuffix("_id")
        return error_response(404, "not_found", f"no such {what}", {name: bad_path[0]["input"]})
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = errors[0].get("ctx") or {}
        return error_response(
            422, "invalid_json", f"the body is not valid JSON: {ctx.get('error', '')}".strip()
        )
    if errors and tuple(errors[0].get("loc", ())) == ("body",) and errors[0]["type"] == "missing":
        return error_response(422, "invalid_input", "the request needs a JSON body")
    listed = [
        {
            "field": _where(tuple(e.get("loc", ()))),
            "message": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for e in errors[:MAX_LISTED_ERRORS]
    ]
    message = "; ".join(f"{e['field']}: {e['message']}" for e in listed[:5])
    return error_response(422, "invalid_input", message, {"errors": listed})


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI says 400 for bodies json.loads cannot take (bad UTF-8, nesting too deep):
        # to a client that is invalid input like any other malformed JSON.
        return error_response(422, "invalid_json", "the body is not valid UTF-8 JSON")
    if exc.status_code == 404:
        return error_response(404, "not_found", "no such route", headers=headers)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def _storage_error(_: Request, exc: Exception) -> JSONResponse:
    # Retries are exhausted (database down, or writers racing): nothing was stored, so the
    # client may send the same request again, with the same Idempotency-Key.
    log.warning("storage unavailable: %s", exc)
    return error_response(
        503, "unavailable", "storage is busy or unavailable; retry", headers={"Retry-After": "1"}
    )


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "an internal error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _storage_error)
    app.add_exception_handler(IntegrityError, _storage_error)
    app.add_exception_handler(Exception, _unexpected)
