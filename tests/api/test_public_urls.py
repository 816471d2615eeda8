"""The base of the URLs handed out: the station's ``public_url``, the setting, else the
request's scheme and host; X-Forwarded-* only from a trusted proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from grimnir.api._urls import (
    PLACEHOLDER,
    CallerBase,
    client_address,
    request_base,
    station_base,
    trusted_proxy,
    with_base,
)
from grimnir.config.settings import Settings
from grimnir.domain.errors import ConfigError


def connection(
    headers: dict[str, str], peer: str = "203.0.113.7", scheme: str = "http"
) -> HTTPConnection:
    """A request as uvicorn hands it to the app (scope of an HTTP GET)."""
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": scheme,
        "path": "/api/v1/public/stations",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (peer, 50000),
        "server": ("0.0.0.0", 8080),  # noqa: S104 - what a wildcard bind reports
    }
    return HTTPConnection(scope)


def settings(**values: str) -> Settings:
    return Settings.model_validate(values)


def test_the_request_host_is_the_base() -> None:
    plain = settings()
    assert request_base(connection({"host": "radio.example.com"}), plain) == (
        "http://radio.example.com"
    )
    assert request_base(connection({"host": "[2001:db8::1]:8000"}), plain) == (
        "http://[2001:db8::1]:8000"
    )
    # no usable Host (HTTP/1.0, or garbage): where the connection arrived
    assert request_base(connection({}), plain) == "http://0.0.0.0:8080"
    assert request_base(connection({"host": "a b/<c>"}), plain) == "http://0.0.0.0:8080"


def test_forwarded_headers_count_only_from_trusted_proxies() -> None:
    forged = {"host": "radio.example.com", "x-forwarded-host": "evil.example"}
    forged["x-forwarded-proto"] = "https"
    assert request_base(connection(forged), settings()) == "http://radio.example.com"
    behind = settings(trusted_proxies="10.0.0.0/8, 127.0.0.1")
    assert request_base(connection(forged, peer="10.9.8.7"), behind) == "https://evil.example"
    assert request_base(connection(forged, peer="127.0.0.1"), behind) == "https://evil.example"
    assert request_base(connection(forged, peer="192.0.2.1"), behind) == (
        "http://radio.example.com"
    )
    # the first of a list of hops; an unknown scheme is not taken
    chain = {"host": "h", "x-forwarded-host": "a.example, b.example"}
    chain["x-forwarded-proto"] = "gopher"
    assert request_base(connection(chain, peer="10.0.0.1"), behind) == "http://a.example"
    assert trusted_proxy(behind, "::1") is False
    assert trusted_proxy(behind, "not an address") is False


def test_the_callers_address_comes_from_trusted_proxies_only() -> None:
    behind = settings(trusted_proxies="10.0.0.0/8")
    chain = {"x-forwarded-for": "198.51.100.1, 192.0.2.9, 10.0.0.5"}
    # the nearest address our own proxies did not add: what a client wrote further
    # left (198.51.100.1) could be anything
    assert client_address(connection(chain, peer="10.0.0.2"), behind) == "192.0.2.9"
    assert client_address(connection(chain, peer="203.0.113.7"), behind) == "203.0.113.7"
    assert client_address(connection(chain, peer="10.0.0.2"), settings()) == "10.0.0.2"
    only_proxies = {"x-forwarded-for": "10.1.1.1, 10.0.0.5"}
    assert client_address(connection(only_proxies, peer="10.0.0.2"), behind) == "10.1.1.1"
    assert client_address(connection({}, peer="10.0.0.2"), behind) == "10.0.0.2"


def test_the_public_url_setting_wins_and_is_checked() -> None:
    fixed = settings(public_url="https://radio.example.com/")
    assert fixed.public_url == "https://radio.example.com"
    assert request_base(connection({"host": "127.0.0.1:8080"}), fixed) == fixed.public_url
    with pytest.raises((ValueError, ConfigError), match="public_url"):
        settings(public_url="radio.example.com")
    with pytest.raises((ValueError, ConfigError), match="trusted_proxies"):
        settings(trusted_proxies="10.0.0.0/8, the office")


def test_a_station_may_have_its_own_base() -> None:
    assert station_base({"station": {"public_url": "https://stream.wgmr.example/"}}) == (
        "https://stream.wgmr.example"
    )
    assert station_base({"station": {"name": "x"}}) is None
    assert station_base(None) is None


def test_the_placeholder_becomes_the_callers_base() -> None:
    body = f'{{"listen_urls":["{PLACEHOLDER}/listen/x/a.mp3"]}}'.encode()
    assert (
        with_base(body, "https://r.example")
        == b'{"listen_urls":["https://r.example/listen/x/a.mp3"]}'
    )
    assert with_base(b"{}", "https://r.example") == b"{}"


async def test_every_part_of_a_streamed_answer_gets_the_callers_base() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"data: {PLACEHOLDER}/listen/x/{n}.mp3\n\n".encode()

    async def feed(request: Request) -> StreamingResponse:
        return StreamingResponse(parts(), media_type="text/event-stream")

    async def whole(request: Request) -> JSONResponse:
        return JSONResponse({"url": f"{PLACEHOLDER}/listen/x/a.mp3"})

    app = CallerBase(Starlette(routes=[Route("/feed", feed), Route("/whole", whole)]), settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://radio.example.com") as c:
        streamed = await c.get("/feed")
        assert streamed.text.count("http://radio.example.com/listen/x/") == 3
        assert PLACEHOLDER not in streamed.text
        answer = await c.get("/whole")
        assert answer.json() == {"url": "http://radio.example.com/listen/x/a.mp3"}
        assert int(answer.headers["content-length"]) == len(answer.content)
