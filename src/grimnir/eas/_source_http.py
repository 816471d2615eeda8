"""HTTP for the sources: size-limited GETs and readable httpx errors."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


class DocumentRefused(Exception):
    """A document we will not deliver (too big, not CAP): the reason."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """An answer read in full: status, headers and the (decoded) body."""

    status: int
    headers: httpx.Headers
    body: bytes


async def fetch_limited(
    client: httpx.AsyncClient,
    url: str,
    max_bytes: int,
    timeout_s: float,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET ``url`` reading at most ``max_bytes`` of body (else :class:`DocumentRefused`)."""
    async with client.stream("GET", url, headers=headers, timeout=timeout_s) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DocumentRefused(f"{url}: {declared} bytes, over the limit of {max_bytes}")
        body = bytearray()
        async for piece in response.aiter_bytes():
            body += piece
            if len(body) > max_bytes:
                raise DocumentRefused(f"{url}: body over the limit of {max_bytes} bytes")
    return Fetched(response.status_code, response.headers, bytes(body))


def describe(error: httpx.HTTPError, timeout_s: float) -> str:
    """An httpx error in words (timeouts carry no message of their own)."""
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"
