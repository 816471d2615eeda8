"""Errors as RFC 9457 problem+json, each with a ``detail`` that says what to fix."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException

from grimnir.domain.errors import (
    ConfigError,
    ConflictError,
    EngineError,
    GrimnirError,
    InvalidTransitionError,
    LibraryError,
    NotFoundError,
    PlannerError,
)
from grimnir.faults import FailureRun
from grimnir.store import is_unreachable

log = logging.getLogger("grimnir.api")

DB_RETRY_AFTER_S = 5
"""What a 503 for an unreachable database asks clients to wait (``Retry-After``)."""

PROBLEM_JSON = "application/problem+json"


class ProblemBody(BaseModel):
    """The body of every error response."""

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary, the HTTP reason phrase.")
    status: int
    detail: str = Field(description="What went wrong and what to change.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For 422: one entry per field with its location and message."
    )


class Problem(Exception):
    """Raise to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.errors = errors


def problem_response(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_DOMAIN_STATUS: list[tuple[type[GrimnirError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidTransitionError, 409),
    (ConfigError, 422),
    (PlannerError, 422),
    (LibraryError, 422),
    (EngineError, 503),
]


def status_of(exc: GrimnirError) -> int:
    """The HTTP status a domain error maps to (500 for an unexpected kind)."""
    for kind, status in _DOMAIN_STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


def invalid_fields(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 for ``errors`` (each with ``loc`` and ``msg``), the detail naming the first few."""
    parts = [f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return problem_response(422, "fix these fields: " + "; ".join(parts) + more, errors=errors)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, Problem):  # pragma: no cover — registered for it
            raise exc
        return problem_response(exc.status, exc.detail, headers=exc.headers, errors=exc.errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, HTTPException):  # pragma: no cover — registered for it
            raise exc
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such route: {request.method} {request.url.path}; see /api/v1/docs"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /api/v1/docs"
        return problem_response(
            exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover — registered for it
            raise exc
        return invalid_fields(_field_errors(exc))

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, GrimnirError):  # pragma: no cover — registered for it
            raise exc
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return problem_response(status, str(exc))

    outage = FailureRun(log, "the database")

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        if not is_unreachable(exc):
            return await on_unexpected(request, exc)
        # NOTE: an outage, not a bug: 503 with a time to come back, one log line per
        # outage (``FailureRun``), never a traceback per request
        outage.failed(exc)
        return problem_response(
            503,
            "the database is unreachable; what is on air plays on. Try again shortly",
            headers={"Retry-After": str(DB_RETRY_AFTER_S)},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return problem_response(
            500, "internal error; the server log has the details (please report it)"
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(GrimnirError, on_domain)
    # NOTE: registered by class so they are answered here; the catch-all ``Exception``
    # handler answers too, but Starlette then raises the error again to the server
    for database_error in (DBAPIError, SATimeoutError, ConnectionError):
        app.add_exception_handler(database_error, on_database)
    app.add_exception_handler(Exception, on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}}
    for status in (400, 401, 403, 404, 409, 422, 429)
}
"""Declared on every router so the OpenAPI document lists the error shape."""
