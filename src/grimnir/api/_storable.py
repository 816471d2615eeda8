"""Text no database can store, refused with 422 naming the field.

PostgreSQL text cannot hold NUL (``\\u0000``, nor can ``jsonb``), and a lone
UTF-16 surrogate (``\\ud800``) is not a character at all: no database can
encode it as UTF-8. JSON carries both as escapes, so they pass a ``str`` field
(and any ``dict[str, Any]``) and used to reach the database as a 500. One
middleware checks every request instead of every model: the path and query
before routing, a JSON body as the route reads it (every string and key,
whatever model takes it). The answer has the shape of a validation error, with
the field's location (``["body", "name"]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grimnir.api.problems import invalid_fields

_BAD = re.compile("[\x00\ud800-\udfff]")
"""What a database cannot store: NUL and the UTF-16 surrogates (never whole characters
in a Python ``str``, where a pair decodes to one code point)."""
_ESCAPED = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
"""How they appear in JSON: only as escapes (raw, JSON or UTF-8 refuses them already)."""
_NUL = "contains a NUL character (\\u0000), which cannot be stored: remove it"
_SURROGATE = (
    "contains a lone surrogate ({}), which is not a character and cannot be stored: "
    "send the text as UTF-8, or both halves of a surrogate pair"
)


def problem_in(text: str) -> str | None:
    """Why ``text`` cannot be stored, or ``None`` when it can."""
    found = _BAD.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return _NUL
    return _SURROGATE.format(f"\\u{ord(found.group()):04x}")


def _shown(text: str) -> str:
    return _BAD.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def unstorable(value: Any, loc: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """A validation error (``loc``, ``msg``) for each string or key in the decoded JSON
    ``value`` that cannot be stored."""
    if isinstance(value, str):
        why = problem_in(value)
        if why is not None:
            yield {"loc": list(loc), "msg": why}
    elif isinstance(value, dict):
        for key, item in value.items():
            why = problem_in(key)
            if why is not None:
                yield {"loc": [*loc, _shown(key)], "msg": f"the key {why}"}
            yield from unstorable(item, (*loc, _shown(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable(item, (*loc, str(index)))


def _json_errors(body: bytes) -> list[dict[str, Any]]:
    if not _ESCAPED.search(body):
        return []
    try:
        document = json.loads(body)
    except ValueError:  # malformed: the route's own parsing says so
        return []
    return list(unstorable(document, ("body",)))


def _url_errors(scope: Scope) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    why = problem_in(scope["path"])
    if why is not None:
        errors.append({"loc": ["path"], "msg": why})
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        # NOTE: parsed as Starlette does; percent-decoding replaces invalid UTF-8,
        # so NUL is the only thing to find here
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            why = problem_in(name) or problem_in(value)
            if why is not None:
                errors.append({"loc": ["query", _shown(name)], "msg": why})
    return errors


def _is_json(scope: Scope) -> bool:
    kind = Headers(scope=scope).get("content-type", "").partition(";")[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


class UnstorableText(HTTPException):
    """Raised from ``receive`` at the end of a JSON body with unstorable text; the
    handler :func:`install` registers answers 422 with ``errors``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(422, "unstorable text")
        self.errors = errors


class StorableText:
    """ASGI middleware refusing NUL and lone surrogates in the path, query and JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = _url_errors(scope)
        if errors:
            await invalid_fields(errors)(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # NOTE: FastAPI reads the body before it runs the route's
                    # dependencies; raising here answers like a malformed body
                    found = _json_errors(b"".join(chunks))
                    chunks.clear()
                    if found:
                        raise UnstorableText(found)
            return message

        await self.app(scope, checked, send)


def install(app: FastAPI) -> None:
    """Refuse unstorable text on every route of ``app``."""

    async def on_unstorable(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, UnstorableText):  # pragma: no cover — registered for it
            raise exc
        return invalid_fields(exc.errors)

    app.add_exception_handler(UnstorableText, on_unstorable)
    app.add_middleware(StorableText)
