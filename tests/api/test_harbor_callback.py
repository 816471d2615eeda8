"""The harbor's credential callback: live tokens (once), DJ accounts, the shared
secret, the rate limit; and end to end, a real engine asking a real uvicorn
while ffmpeg plays the DJ. Also: kicking the DJ when the live show ends."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from grimnir.api.ratelimit import Limit, Limits, RateLimiter
from grimnir.api.routes._harbor import SECRET_HEADER, harbor_secret
from grimnir.config.station import StationConfig
from grimnir.domain import EntryKind, EntryStatus, Timing
from grimnir.engine.client import EngineClient, HarborSource, InProcessEngineClient
from grimnir.engine.runtime import RuntimeOptions, StationRuntime
from grimnir.engine.server import HarborConnection, StreamServer
from grimnir.executor import ShowEndKicker
from grimnir.executor.station import StationExecutor
from grimnir.store.models import LiveSession, Station, TimelineEntry
from grimnir.store.repos import allocate_timeline_seq
from tests._api import PASSWORD, SECRET, ApiWorld, api_world
from tests._require import FFMPEG_PATH, peer

FFMPEG = FFMPEG_PATH
needs_ffmpeg = peer("ffmpeg")
AUTH = "/api/v1/internal/harbor/auth"


def login(world: ApiWorld, **fields: Any) -> dict[str, Any]:
    body = {"station_id": str(world.stations["wgmr"]), "mount": "/live", "remote": "192.0.2.7"}
    body.update(fields)
    return body


def engine_headers(world: ApiWorld, station: str = "wgmr") -> dict[str, str]:
    return {SECRET_HEADER: harbor_secret(SECRET, world.stations[station])}


async def new_token(world: ApiWorld, who: str = "dj", **body: Any) -> dict[str, Any]:
    r = await world.client(who).post("/api/v1/stations/wgmr/live/tokens", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_a_live_token_works_once_and_a_replay_is_refused(world: ApiWorld) -> None:
    token = await new_token(world)
    engine = world.client(headers=engine_headers(world))
    first = await engine.post(AUTH, json=login(world, user="whoever", password=token["token"]))
    assert first.status_code == 200, first.text
    assert first.json()["via"] == "token"
    assert first.json()["username"] == "dj"
    replay = await engine.post(AUTH, json=login(world, user="whoever", password=token["token"]))
    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    assert "already used" in replay.json()["detail"]
    async with world.ctx.sessions() as session:
        row = await session.get(LiveSession, uuid.UUID(first.json()["session_id"]))
        assert row is not None
        assert (row.user_id, row.mount, row.remote_addr) == (
            world.users["dj"],
            "/live",
            "192.0.2.7",
        )
    # a token is for its station and mount only
    other = await new_token(world, mount="/live")
    r = await engine.post(AUTH, json=login(world, mount="/studio", password=other["token"]))
    assert r.status_code == 403  # not a harbor mount of the station
    unknown = await engine.post(AUTH, json=login(world, password="glt_not-a-real-token"))
    assert unknown.status_code == 401


async def test_dj_accounts_are_accepted_and_outsiders_refused(world: ApiWorld) -> None:
    engine = world.client(headers=engine_headers(world))
    for name in ("dj", "manager", "admin"):
        r = await engine.post(AUTH, json=login(world, user=name, password=PASSWORD))
        assert r.status_code == 200, (name, r.text)
        assert (r.json()["via"], r.json()["username"]) == ("password", name)
    for name, status in [("outsider", 403), ("rival", 403), ("nobody", 401)]:
        r = await engine.post(AUTH, json=login(world, user=name, password=PASSWORD))
        assert r.status_code == status, (name, r.text)
    wrong = await engine.post(AUTH, json=login(world, user="dj", password="not the password"))
    assert wrong.status_code == 401
    assert "wrong user name or password" in wrong.json()["detail"]
    async with world.ctx.sessions() as session:
        rows = (await session.execute(LiveSession.__table__.select())).all()
    assert len(rows) == 3  # only the accepted connections are recorded


async def test_a_wrong_or_missing_secret_header_gets_401(world: ApiWorld) -> None:
    token = await new_token(world)
    body = login(world, user="x", password=token["token"])
    for headers in (
        {},
        {SECRET_HEADER: ""},
        engine_headers(world, "other"),  # another station's engine
        {SECRET_HEADER: harbor_secret(b"another installation key" * 2, world.stations["wgmr"])},
    ):
        r = await world.client(headers=headers).post(AUTH, json=body)
        assert r.status_code == 401, headers
        assert SECRET_HEADER in r.json()["detail"]
    # the token was not spent by those attempts
    ok = await world.client(headers=engine_headers(world)).post(AUTH, json=body)
    assert ok.status_code == 200


async def test_harbor_logins_are_rate_limited_per_dj_address(tmp_path: Path) -> None:
    off = Limit(0, 0)
    limits = Limits(
        login=RateLimiter(off), harbor=RateLimiter(Limit(0.01, 3)), public=RateLimiter(off)
    )
    async with api_world(tmp_path, limits=limits) as world:
        engine = world.client(headers=engine_headers(world))
        bad = login(world, user="dj", password="guess", remote="198.51.100.9")
        codes = [(await engine.post(AUTH, json=bad)).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        limited = await engine.post(
            AUTH, json=login(world, user="dj", password=PASSWORD, remote="198.51.100.9")
        )
        assert limited.status_code == 429  # even the right password waits
        assert int(limited.headers["Retry-After"]) >= 1
        elsewhere = login(world, user="dj", password=PASSWORD, remote="198.51.100.10")
        assert (await engine.post(AUTH, json=elsewhere)).status_code == 200


# -- the engine side -----------------------------------------------------------------------


class SlowHandler:
    """An authenticator that takes its time (like an API far away): it answers only
    once the test lets it."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer = threading.Event()
        self.threads: set[str] = set()

    def authenticate(self, path: str, user: str, password: str, remote: str) -> bool:
        self.threads.add(threading.current_thread().name)
        self.asked.set()
        self.answer.wait(60)
        return False

    def on_connect(self, conn: HarborConnection) -> Any:  # pragma: no cover — refused
        raise AssertionError("never connected")


def test_the_stream_server_keeps_answering_while_a_dj_is_checked() -> None:
    server = StreamServer(port=0)
    handler = SlowHandler()
    server.add_harbor("/live", handler)
    server.start()
    try:
        port = server.address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=60) as dj:
            dj.sendall(b"SOURCE /live HTTP/1.0\r\nAuthorization: Basic ZGo6cGFzcw==\r\n\r\n")
            assert handler.asked.wait(60)
            # the check is still running (it answers only when we say so): the server
            # answers others meanwhile, not stuck behind it
            url = f"http://127.0.0.1:{port}/status.json"
            with urllib.request.urlopen(url, timeout=30) as resp:
                assert resp.status == 200
            handler.answer.set()
            assert dj.recv(1024).startswith(b"HTTP/1.1 401 ")
        assert not any(name.startswith("stream-server") for name in handler.threads)
    finally:
        handler.answer.set()
        server.close()


@dataclass
class OneStation:
    """``OnAir`` for tests: one station's runtime in this process."""

    station_id: uuid.UUID
    runtime: StationRuntime | None = None
    clients: dict[str, EngineClient] = field(default_factory=dict)

    def executor(self, station_id: uuid.UUID) -> StationExecutor | None:
        return None

    def engine(self, station_id: uuid.UUID) -> EngineClient | None:
        if station_id != self.station_id or self.runtime is None:
            return None
        if "c" not in self.clients:
            self.clients["c"] = InProcessEngineClient(self.runtime)
        return self.clients["c"]

    def listen_urls(self, station_id: uuid.UUID, base: str | None = None) -> list[str]:
        return []

    def engine_restarts(self, station_id: uuid.UUID) -> int | None:

        return None


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[int]:
    """``app`` on a real uvicorn server on a free loopback port; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


def station_config(station_id: uuid.UUID) -> StationConfig:
    return StationConfig.model_validate(
        {
            "station": {"id": str(station_id), "name": "WGMR FM", "timezone": "UTC"},
            "mounts": [{"id": "main", "name": "Main", "outputs": [{"type": "null"}]}],
            "failover": {"layer_fade_ms": 100, "live_grace_sec": 1, "live_timeout_sec": 2},
            "dsp_graph": {"nodes": []},
        }
    )


@dataclass
class Live:
    world: ApiWorld
    runtime: StationRuntime
    api_port: int

    @property
    def harbor_port(self) -> int:
        return self.runtime.server.address[1]

    def connected(self) -> Mapping[str, HarborSource]:
        return self.runtime.harbor.status().mounts


@asynccontextmanager
async def on_air(
    folder: Path, *, auth_url: str | None = None, harbor_users: dict[str, str] | None = None
) -> AsyncIterator[Live]:
    """The API on uvicorn and station wgmr's engine in process, its harbor asking the API."""
    holder = OneStation(uuid.UUID(int=0))
    async with api_world(folder, on_air=holder) as world, serving(world.app) as port:
        holder.station_id = world.stations["wgmr"]
        url = auth_url or f"http://127.0.0.1:{port}{AUTH}"
        runtime = StationRuntime(
            station_config(holder.station_id),
            RuntimeOptions(
                http_port=0,
                burst_blocks=5,
                harbor_users=harbor_users or {},
                harbor_auth_url=url,
                harbor_auth_secret=harbor_secret(SECRET, holder.station_id),
            ),
        )
        runtime.start()
        holder.runtime = runtime
        try:
            yield Live(world, runtime, port)
        finally:
            for client in holder.clients.values():
                await client.close()
            await asyncio.to_thread(runtime.close)


async def dj(
    port: int, password: str, seconds: float, user: str = "dj"
) -> asyncio.subprocess.Process:
    """ffmpeg streaming a tone to the harbor like a DJ's encoder."""
    assert FFMPEG is not None
    return await asyncio.create_subprocess_exec(
        FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
        "-i", f"sine=f=880:d={seconds}", "-c:a", "libmp3lame", "-b:a", "128k",
        "-content_type", "audio/mpeg", "-f", "mp3",
        f"icecast://{user}:{password}@127.0.0.1:{port}/live",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def finished(process: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str]:
    async with asyncio.timeout(timeout):
        _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode(errors="replace")


async def until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


@needs_ffmpeg
async def test_end_to_end_a_token_works_once_through_the_real_harbor(tmp_path: Path) -> None:
    async with on_air(tmp_path) as live:
        token = (await new_token(live.world))["token"]
        first = await dj(live.harbor_port, token, 2)
        assert await until(lambda: "/live" in live.connected())
        assert live.connected()["/live"].user == "dj"
        code, stderr = await finished(first)
        assert code == 0, stderr
        assert await until(lambda: "/live" not in live.connected())
        second = await dj(live.harbor_port, token, 2)
        code, stderr = await finished(second)
        assert code != 0
        assert "401" in stderr  # the harbor refused the replayed token
        # a DJ's own account works (and as often as they like)
        for _ in range(2):
            again = await dj(live.harbor_port, PASSWORD.replace(" ", "%20"), 1)
            code, stderr = await finished(again)
            assert code == 0, stderr
            assert await until(lambda: "/live" not in live.connected())
        async with live.world.ctx.sessions() as session:
            rows = (await session.execute(LiveSession.__table__.select())).all()
        assert len(rows) == 3


@needs_ffmpeg
async def test_an_unreachable_api_refuses_with_a_reason_and_static_users_still_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}{AUTH}"
    caplog.set_level(logging.WARNING, logger="grimnir.engine.harbor")
    async with on_air(tmp_path, auth_url=dead_url, harbor_users={"guest": "guest-pass"}) as live:
        refused = await dj(live.harbor_port, "whatever", 1)
        code, stderr = await finished(refused)
        assert code != 0
        assert "401" in stderr
        assert any("cannot be reached" in r.getMessage() for r in caplog.records)
        static = await dj(live.harbor_port, "guest-pass", 1, user="guest")
        code, stderr = await finished(static)
        assert code == 0, stderr


async def _live_entry(world: ApiWorld, ends_in_s: float) -> TimelineEntry:
    now = datetime.now(UTC)
    async with world.ctx.sessions() as session, session.begin():
        station = world.stations["wgmr"]
        row = TimelineEntry(
            station_id=station,
            seq=await allocate_timeline_seq(session, station),
            starts_at=now - timedelta(minutes=30),
            ends_at=now + timedelta(seconds=ends_in_s),
            kind=EntryKind.LIVE,
            status=EntryStatus.PLANNED,
            timing=Timing.HARD,
            title="The Late Show",
            meta={},
        )
        session.add(row)
    return row


async def _kick_setting(world: ApiWorld, value: bool) -> None:
    async with world.ctx.sessions() as session, session.begin():
        station = await session.get(Station, world.stations["wgmr"])
        assert station is not None
        station.config = {**station.config, "harbor": {"kick_at_show_end": value}}
    StationConfig.model_validate(station.config)  # still a valid station config


@needs_ffmpeg
@pytest.mark.parametrize("kick", [True, False], ids=["kick_at_show_end", "stay"])
async def test_the_dj_is_kicked_when_the_live_show_ends(tmp_path: Path, kick: bool) -> None:
    async with on_air(tmp_path) as live:
        await _kick_setting(live.world, kick)
        # NOTE: the show must outlast the set-up (a token, a DJ connecting) on a busy machine
        entry = await _live_entry(live.world, ends_in_s=8)
        token = await new_token(live.world, entry_id=str(entry.id))
        assert token["mount"] == "/live"
        assert token["label"] == "The Late Show"
        assert datetime.fromisoformat(token["expires_at"]) == entry.ends_at
        ctx = live.world.ctx
        kicker = ShowEndKicker(
            live.world.stations["wgmr"], ctx.sessions, ctx.on_air.engine, poll_s=0.1
        )
        process = await dj(live.harbor_port, token["token"], 30)
        try:
            assert await until(lambda: "/live" in live.connected())
            kicked: list[str] = []
            while datetime.now(UTC) < entry.ends_at + timedelta(seconds=1.5):
                kicked += await kicker.check()
                if kicked:
                    assert datetime.now(UTC) >= entry.ends_at
                await asyncio.sleep(0.1)
            if kick:
                assert kicked == ["/live"]
                code, _ = await finished(process)
                assert code != 0  # ffmpeg lost its connection
                assert "/live" not in live.connected()
            else:
                assert kicked == []
                assert "/live" in live.connected()
        finally:
            if process.returncode is None:
                process.kill()
                await process.communicate()


async def test_the_kicker_needs_the_station_on_air(world: ApiWorld) -> None:
    await _kick_setting(world, True)
    await _live_entry(world, ends_in_s=-0.5)
    kicker = ShowEndKicker(world.stations["wgmr"], world.ctx.sessions, world.ctx.on_air.engine)
    assert await kicker.check() == []
