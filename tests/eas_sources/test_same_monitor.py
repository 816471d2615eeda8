"""SameMonitor against a real HTTP stream on loopback: MP3 of music with a
SAME alert (made by alert_programme) in the middle, a cut connection, a
re-aired copy and a dead server — header and EOM delivered once, in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import lameenc
import numpy as np
import pytest

from grimnir.eas import Backoff, SameHeader, SameMessage, SameMonitor, alert_programme
from tests.eas._signals import RATE, music
from tests.eas_sources._http import HttpServer, Request, respond

HEADER = SameHeader(
    "WXR",
    "TOR",
    ("048453", "048021"),
    30,
    datetime.now(UTC).replace(second=0, microsecond=0),
    "KEWX/NWS",
)


@pytest.fixture(scope="module")
def mp3() -> bytes:
    """Music, the whole alert (header, attention signal, message, EOM), music."""
    programme = alert_programme(HEADER, music(2, RATE, seed=5) * 0.5, RATE)
    pcm = np.concatenate([music(6, RATE), programme.pcm, music(4, RATE, seed=9)])
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(5)
    samples = (np.clip(pcm, -1, 1) * 32767).astype(np.int16).tobytes()
    return bytes(encoder.encode(samples) + encoder.flush())


async def _stream(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nConnection: close\r\n\r\n")
    for at in range(0, len(data), 4096):
        writer.write(data[at : at + 4096])
        await writer.drain()


async def test_monitor_delivers_header_and_eom_once_across_reconnects(mp3: bytes) -> None:
    async def handle(request: Request, writer: asyncio.StreamWriter) -> None:
        n = len(server.requests)
        if n == 1:
            await _stream(writer, mp3[: len(mp3) // 7])  # cut in the music, before the alert
        elif n <= 3:
            await _stream(writer, mp3)  # the whole alert; then the same one re-aired
        else:
            await respond(writer, 404)

    delivered: list[tuple[str | None, SameHeader | None, str]] = []

    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        assert isinstance(payload, SameMessage)
        delivered.append((payload.text, payload.header, label))

    server = HttpServer(handle)
    async with server:
        url = server.url("/upstream.mp3")
        monitor = SameMonitor(
            url, deliver, open_timeout_s=5, read_timeout_s=5, backoff=Backoff(0.02, 0.05)
        )
        async with asyncio.timeout(60), monitor:
            while len(server.requests) < 5:  # two 404s after the third stream
                await asyncio.sleep(0.02)
        health = monitor.health

    label = f"same-monitor:{url}"
    assert delivered == [(str(HEADER), HEADER, label), ("NNNN", None, label)]
    assert monitor.connections == 3
    assert health.consecutive_failures >= 2  # the 404s
    assert "cannot open the stream" in (health.last_error or "")


async def test_monitor_survives_a_stream_that_is_not_audio() -> None:
    async def handle(request: Request, writer: asyncio.StreamWriter) -> None:
        await respond(writer, 200, b"<html>not a stream</html>" * 50, {"Content-Type": "text/html"})

    delivered: list[bytes | SameMessage] = []

    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        delivered.append(payload)

    server = HttpServer(handle)
    async with server:
        monitor = SameMonitor(server.url("/x"), deliver, backoff=Backoff(0.02, 0.05))
        async with asyncio.timeout(30), monitor:
            while len(server.requests) < 3:
                await asyncio.sleep(0.02)
    assert delivered == []
    assert monitor.health.consecutive_failures >= 2
