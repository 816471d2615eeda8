"""Web streams against a real icecast2 fed by ffmpeg: ICY titles, failover, recovery."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.sources import StreamHealth, WebStreamChain, WebStreamSource
from grimnir.engine.sources._webstream import parse_stream_title
from tests._peers import Senders, wait_for
from tests._require import FFMPEG_PATH
from tests.engine.test_live_source import dominant_hz

FFMPEG = FFMPEG_PATH


class Player:
    """Reads a source at the block loop's pace and tells which tone each block carries."""

    def __init__(self, source: WebStreamChain | WebStreamSource) -> None:
        self.source = source
        self.tones: list[tuple[float, float | None]] = []  # (time, dominant Hz or None)
        self._next = time.monotonic()

    def play_until(self, done: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            block, got = self.source.read(BLOCK)
            tone = dominant_hz(block) if got == BLOCK else None
            self.tones.append((time.monotonic(), tone))
            if done():
                return True
            self._next = max(self._next + BLOCK / RATE, time.monotonic() - 0.1)
            time.sleep(max(0.0, self._next - time.monotonic()))
        return False

    def hearing(self, freq_hz: float, blocks: int = 10) -> bool:
        """The last ``blocks`` blocks were all full and carried ``freq_hz`` (±60 Hz)."""
        recent = [tone for _, tone in self.tones[-blocks:]]
        return len(recent) == blocks and all(
            tone is not None and abs(tone - freq_hz) < 60 for tone in recent
        )

    def first_heard(self, freq_hz: float, since: float) -> float | None:
        for at, tone in self.tones:
            if at >= since and tone is not None and abs(tone - freq_hz) < 60:
                return at
        return None


def test_chain_plays_primary_fails_over_to_backup_and_recovers(senders: Senders) -> None:
    senders.start("primary", 440.0)
    senders.start("backup", 880.0)
    primary, backup = senders.url("primary"), senders.url("backup")
    events: list[tuple[str, dict[str, Any]]] = []
    titles: list[str] = []
    grace_s, recovery_s = 2.0, 3.0
    chain = WebStreamChain(
        [primary, backup],
        grace_s=grace_s,
        recovery_interval_s=recovery_s,
        preflight_ms=300,
        on_event=lambda kind, data: events.append((kind, data)),
        on_metadata=titles.append,
    )
    player = Player(chain)
    with chain:
        assert player.play_until(lambda: player.hearing(440.0), 15), "primary never played"
        assert chain.on_air_url == primary
        assert chain.health() == {primary: StreamHealth.HEALTHY}

        senders.set_title("primary", "Kraftwerk - Radioactivity")
        assert player.play_until(lambda: chain.title == "Kraftwerk - Radioactivity", 10)
        assert titles[-1] == "Kraftwerk - Radioactivity"

        killed_at = time.monotonic()
        senders.kill("primary")
        # waiting bounds only: how soon is the chain's grace plus a busy machine's delay
        assert player.play_until(lambda: player.hearing(880.0), grace_s + 60)
        assert player.first_heard(880.0, killed_at) is not None  # the backup, after the kill
        assert chain.on_air_url == backup
        failovers = [data for kind, data in events if kind == "webstream.failover"]
        assert failovers == [{"from": primary, "to": backup, "reason": failovers[0]["reason"]}]
        assert "web stream" in failovers[0]["reason"]
        assert chain.health()[primary] is StreamHealth.UNHEALTHY

        restarted_at = time.monotonic()
        senders.start("primary", 440.0)
        assert player.play_until(lambda: player.hearing(440.0), recovery_s + 60)
        assert player.first_heard(440.0, restarted_at) is not None  # the primary, once back
        assert chain.on_air_url == primary
        kinds = [kind for kind, _ in events]
        assert ("webstream.recovered", {"url": primary}) in events
        assert kinds.index("webstream.failover") < kinds.index("webstream.recovered")
        assert chain.health()[primary] is StreamHealth.HEALTHY
    health_events = [(d["url"], d["state"]) for kind, d in events if kind == "webstream.health"]
    assert (primary, "unhealthy") in health_events
    assert (backup, "healthy") in health_events
    assert health_events[-1] == (primary, "healthy")


def test_preflight_keeps_a_404_backup_off_air(senders: Senders) -> None:
    senders.start("primary", 440.0)
    senders.start("backup", 880.0)
    primary, missing, backup = (senders.url(m) for m in ("primary", "missing", "backup"))
    events: list[tuple[str, dict[str, Any]]] = []
    chain = WebStreamChain(
        [primary, missing, backup],
        grace_s=2.0,
        recovery_interval_s=1.0,
        preflight_ms=300,
        on_event=lambda kind, data: events.append((kind, data)),
    )
    player = Player(chain)
    with chain:
        assert player.play_until(lambda: player.hearing(440.0), 15)
        senders.kill("primary")
        assert player.play_until(lambda: player.hearing(880.0), 10)
        assert chain.on_air_url == backup
        assert chain.health()[missing] is StreamHealth.UNHEALTHY
        # the dead primary is probed every second and fails: the backup stays on air
        player.play_until(lambda: False, 3.0)
        assert player.hearing(880.0, blocks=100)
        assert chain.on_air_url == backup
    targets = [data["to"] for kind, data in events if kind == "webstream.failover"]
    assert targets == [backup]
    assert not [data for kind, data in events if kind == "webstream.recovered"]
    assert chain.health()[primary] is StreamHealth.UNHEALTHY


def test_source_reports_http_errors_with_the_url(senders: Senders) -> None:
    url = senders.url("nothing-here")
    source = WebStreamSource(url)
    with source:
        assert wait_for(lambda: source.error is not None, 10)
    assert source.error is not None
    assert f"web stream {url}: 404" in source.error
    assert source.failed(time.monotonic())


def test_source_reports_a_refused_connection() -> None:
    source = WebStreamSource("http://127.0.0.1:9/stream", connect_timeout_s=2.0)
    with source:
        assert wait_for(lambda: source.error is not None, 10)
    assert source.error is not None
    assert "cannot connect" in source.error


class _Redirector(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        if self.target:
            self.send_header("Location", self.target)
        else:  # an endless chain of hops: /0 -> /1 -> /2 ...
            hops = int(self.path.strip("/"))
            self.send_header("Location", f"/{hops + 1}")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_redirects_are_followed_up_to_five(
    senders: Senders, redirector: http.server.HTTPServer
) -> None:
    port = redirector.server_address[1]
    loop = WebStreamSource(f"http://127.0.0.1:{port}/0")
    with loop:
        assert wait_for(lambda: loop.error is not None, 10)
    assert loop.error is not None
    assert "more than 5 redirects" in loop.error

    senders.start("backup", 880.0)
    _Redirector.target = senders.url("backup")
    try:
        source = WebStreamSource(f"http://127.0.0.1:{port}/start")
        player = Player(source)
        with source:
            assert player.play_until(lambda: player.hearing(880.0), 10)
        assert source.final_url == senders.url("backup")
        assert source.content_type == "audio/mpeg"
    finally:
        _Redirector.target = ""


def test_stream_title_parsing() -> None:
    block = b"StreamTitle='Guns N' Roses - Don't Cry';StreamUrl='';" + b"\x00" * 9
    assert parse_stream_title(block) == "Guns N' Roses - Don't Cry"
    assert parse_stream_title("StreamTitle='Sigur Rós - Hoppípolla';".encode()) == (
        "Sigur Rós - Hoppípolla"
    )
    assert parse_stream_title(b"StreamUrl='http://x';\x00") is None
