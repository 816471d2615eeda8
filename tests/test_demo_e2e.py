"""The newcomer's first five minutes, end to end: ``grimnir up --demo`` in a
subprocess puts the demo station on air; ffmpeg reads 10 s of its stream; the
public now-playing title is the engine's current item; a WebSocket client
receives the next ``item.started``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from grimnir.engine.client import GrpcEngineClient
from tests._peers import FFMPEG
from tests.test_up_api import Output, free_port, run_up, stop

TRACK_SECONDS = 20


def _engine_title(grpc: str, station_id: str) -> str:
    async def ask() -> str:
        client = GrpcEngineClient(grpc, station_id, timeout_s=5.0)
        try:
            status = await client.status()
        finally:
            await client.close()
        return "" if status.current is None else status.current.title

    return asyncio.run(ask())


def test_grimnir_up_demo_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env["GRIMNIR_DATA_DIR"] = str(tmp_path / "data")
    http, grpc_port = free_port(), free_port()
    base = f"http://127.0.0.1:{http}"
    proc = run_up(
        env,
        *("--demo", "--demo-tracks", "3", "--demo-seconds", str(TRACK_SECONDS)),
        *("--http", f"127.0.0.1:{http}", "--stream-port", str(free_port())),
        *("--grpc-port", str(grpc_port)),
    )
    output = Output(proc)
    try:
        printed = output.until("stop with Ctrl-C", 300)
        banner = printed[printed.index("demo is on air") :]
        listen = next(
            line.split("listen", 1)[1].strip()
            for line in banner.splitlines()
            if line.strip().startswith("listen")
        )
        assert listen.startswith(f"{base}/listen/demo/")
        assert f"web UI       {base}/" in banner
        login_line = next(line for line in banner.splitlines() if "admin login" in line)
        user, _, password = login_line.split("admin login", 1)[1].strip().partition(" / ")
        signed_in = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": user, "password": password}, timeout=10
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        station_id = next(
            s["id"]
            for s in httpx.get(f"{base}/api/v1/public/stations", timeout=10).json()
            if s["short_name"] == "demo"
        )
        assert httpx.get(f"{base}/", timeout=10).status_code == 200

        # 1. ffmpeg reads 10 s of the stream
        decoded = subprocess.run(
            [
                FFMPEG,
                "-hide_banner",
                "-nostdin",
                "-loglevel",
                "error",
                "-t",
                "10",
                "-i",
                listen,
                "-f",
                "s16le",
                "-ac",
                "2",
                "-ar",
                "48000",
                "-",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert decoded.returncode == 0, decoded.stderr.decode(errors="replace")
        seconds = len(decoded.stdout) / (48_000 * 2 * 2)
        assert seconds >= 9.9, seconds

        # 2. the public now-playing title is the engine's current item
        matched = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and matched is None:
            engine_before = _engine_title(f"127.0.0.1:{grpc_port}", station_id)
            public = httpx.get(f"{base}/api/v1/public/stations/demo/now-playing", timeout=10).json()
            engine_after = _engine_title(f"127.0.0.1:{grpc_port}", station_id)
            title = (public.get("current") or {}).get("title")
            if title and engine_before == engine_after == title:
                matched = title  # not read across an item change
            else:
                time.sleep(0.5)
        assert matched, f"public now-playing never matched the engine: {public}"

        # 3. a WebSocket client receives the next item.started
        url = f"ws://127.0.0.1:{http}/api/v1/events?token={token}&station=demo&types=item.started"
        with connect(url, open_timeout=10) as ws:
            started = None
            deadline = time.monotonic() + TRACK_SECONDS * 3
            while time.monotonic() < deadline:
                event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if event.get("type") == "item.started":
                    started = event
                    break
        assert started is not None, "no item.started arrived over the WebSocket"
        assert started["station_id"] == station_id
        assert started["data"]["title"]
    finally:
        code = stop(proc, output, tmp_path)
    assert code == 0
