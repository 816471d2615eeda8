"""Receiving an uploaded file: a multipart body streamed to disk with a size limit.

Starlette's own form parser spools every file part to a temporary file of its
choosing before the route runs, however large it is. Uploads are parsed here
instead, piece by piece as they arrive: the file part goes straight into a
temporary file in the library's own folder (so the final move stays on one
disk), is hashed on the way, and the upload stops with 413 the moment it
passes the limit. Other form fields are read and ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from grimnir.api._body_limit import mib
from grimnir.api.context import ApiContext
from grimnir.api.problems import Problem

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FIELD = "file"
"""The form field that carries the audio."""
_OVERHEAD = 64 * 1024
"""Room in the request body for the multipart headers and small fields."""
_SEND_AS = (
    "send the audio as multipart/form-data with the file in a field named 'file' "
    "(curl -F file=@track.mp3 …)"
)

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The audio file (MP3, AAC/M4A, Ogg, Opus, FLAC, WAV).",
                        }
                    },
                }
            }
        },
    }
}
"""The request body as OpenAPI states it (the route reads the stream itself)."""


def body_limit(ctx: ApiContext) -> int:
    """The largest request body of an upload: the file and room for the form around it."""
    return ctx.max_upload_bytes + _OVERHEAD


def body_advice(ctx: ApiContext) -> str:
    """What to do about an upload over :func:`body_limit`."""
    return (
        f"the file may be at most {mib(ctx.max_upload_bytes)}: upload a smaller file "
        "(or raise the limit in the server's settings)"
    )


@dataclass
class Received:
    """The uploaded file in a temporary place, with what the client called it."""

    path: Path
    filename: str
    size: int
    sha256: str


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    field: bytes = b""
    value: bytes = b""


class _TooBig(Exception):
    pass


class _Receiver:
    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self.part = _Part()
        self.out: IO[bytes] | None = None
        self.path: Path | None = None
        self.filename = ""
        self.size = 0
        self.digest = hashlib.sha256()
        self.done = False

    def callbacks(self) -> MultipartCallbacks:
        callbacks: dict[str, Any] = {
            "on_part_begin": self.begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.data,
            "on_part_end": self.end,
        }
        return cast("MultipartCallbacks", callbacks)

    def begin(self) -> None:
        self.part = _Part()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.value += data[start:end]

    def header_end(self) -> None:
        self.part.headers[self.part.field.lower()] = self.part.value
        self.part.field, self.part.value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != FIELD or b"filename" not in options or self.done or self.out is not None:
            return
        raw = options[b"filename"].decode("utf-8", "replace")
        self.filename = raw.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")[:255]
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{uuid.uuid4().hex}.part"
        self.out = self.path.open("xb")

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.out is None:
            return
        self.size += end - start
        if self.size > self.limit:
            raise _TooBig
        piece = data[start:end]
        self.digest.update(piece)
        # NOTE: a plain write: the pieces are small (the server's read size)
        # and the page cache takes them without waiting for the disk.
        self.out.write(piece)

    def end(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
            self.done = True

    def discard(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise Problem(415, f"unsupported request body: {_SEND_AS}")
    return boundary


async def receive_file(request: Request, folder: Path, limit: int) -> Received:
    """Stream the request's ``file`` part into ``folder`` (at most ``limit`` bytes).

    Raises ``Problem``: 413 over the limit, 415 for a body that is not
    multipart, 422 when there is no file or it is empty. Nothing is left on
    disk when it raises; the caller removes ``Received.path`` when done.
    """
    boundary = _boundary(request)
    too_big = Problem(
        413,
        f"the file is larger than this server's upload limit of {mib(limit)}: "
        "upload a smaller file (or raise the limit in the server's settings)",
    )
    with contextlib.suppress(ValueError):
        if int(request.headers.get("content-length", "0")) > limit + _OVERHEAD:
            raise too_big
    receiver = _Receiver(folder, limit)
    parser = MultipartParser(boundary, receiver.callbacks(), max_size=limit + _OVERHEAD)
    try:
        async for chunk in request.stream():
            if parser.write(chunk) != len(chunk):
                raise too_big  # max_size: the body is larger than the file may be
        parser.finalize()
    except _TooBig:
        receiver.discard()
        raise too_big from None
    except MultipartParseError as exc:
        receiver.discard()
        raise Problem(400, f"the multipart body is malformed ({exc}): {_SEND_AS}") from None
    except BaseException:
        receiver.discard()
        raise
    if not receiver.done or receiver.path is None:
        receiver.discard()
        raise Problem(422, f"no file in the upload: {_SEND_AS}")
    if receiver.size == 0:
        receiver.discard()
        raise Problem(422, "the uploaded file is empty: choose the audio file again")
    return Received(receiver.path, receiver.filename, receiver.size, receiver.digest.hexdigest())


def remove(path: Path) -> None:
    """Delete a temporary upload (gone already is fine)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
