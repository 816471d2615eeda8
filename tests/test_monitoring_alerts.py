"""The shipped alert rules fire, and resolve, on a real station (issue 21).

Debian's ``prometheus`` scrapes a real ``grimnir up`` every second on loopback
with ``deploy/prometheus/grimnir-rules.yml`` loaded as shipped. The station
has no fallback and an empty library, so nothing goes on air: ``DeadAir``
must fire. Then its library gets tracks and its timeline is rebuilt (it is
audible again: ``DeadAir`` resolves), and its Icecast server is killed:
``OutputDown`` must fire; started again, the output reconnects and
``OutputDown`` resolves. Assertions are on Prometheus's ``/api/v1/alerts``
(state ``firing``, then gone) with bounds that only limit the wait.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._onair import SHORT, Api, Up, free_port, make_station, write_tone
from tests._peers import PASSWORD, IcecastServer, icecast_server
from tests._require import require_peer

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "grimnir-rules.yml"
ICE_MOUNT = "/onair-ice.mp3"


class Prometheus:
    """Debian's prometheus on a free loopback port, scraping ``target`` every second."""

    def __init__(self, folder: Path, target: str) -> None:
        self.port = free_port()
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            f"rule_files: ['{RULES}']\n"
            "scrape_configs:\n"
            "  - job_name: grimnir\n"
            "    metrics_path: /metrics\n"
            f"    static_configs: [{{targets: ['{target}']}}]\n"
        )
        self.log = (folder / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                require_peer("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.log.close()

    def alerts(self) -> list[dict[str, Any]]:
        with contextlib.suppress(httpx.HTTPError):
            reply = self.client.get("/api/v1/alerts")
            if reply.status_code == 200:
                alerts: list[dict[str, Any]] = reply.json()["data"]["alerts"]
                return alerts
        return []

    def firing(self, name: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.alerts()
            if a["labels"].get("alertname") == name and a["state"] == "firing"
        ]

    def query(self, expr: str) -> list[dict[str, Any]]:
        with contextlib.suppress(httpx.HTTPError):
            reply = self.client.get("/api/v1/query", params={"query": expr})
            if reply.status_code == 200:
                result: list[dict[str, Any]] = reply.json()["data"]["result"]
                return result
        return []


def _wait(what: str, holds: Callable[[], bool], limit_s: float, up: Up, prom: Prometheus) -> None:
    """Wait until ``holds()``; ``limit_s`` only bounds the wait (never a measurement)."""
    deadline = time.monotonic() + limit_s
    while not holds():
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: not within {limit_s:.0f} s\nalerts: {prom.alerts()}\n"
                f"outputs: {prom.query('grimnir_media_engine_output_health')}\n"
                f"silence: {prom.query('grimnir_playout_silence_seconds')}\n"
                f"grimnir up:\n{up.tail()}"
            )
        time.sleep(0.5)


@pytest.fixture
def icecast() -> Iterator[IcecastServer]:
    yield from icecast_server()


def test_dead_air_and_output_down_fire_and_resolve(icecast: IcecastServer) -> None:
    require_peer("ffmpeg")
    # NOTE: not under pytest's tmp_path: the station's folder is shared with nothing
    # else, but Prometheus and the station files sit together for a failure's logs.
    with tempfile.TemporaryDirectory(prefix="grimnir-alerts-") as temp:
        root = Path(temp)
        ice_url = f"icecast://source:{PASSWORD}@127.0.0.1:{icecast.port}{ICE_MOUNT}"
        station = make_station(
            root,
            tracks=0,
            track_s=0,
            emergency=False,
            outputs=[{"type": "icecast", "url": ice_url, "format": "mp3", "bitrate_kbps": 64}],
        )
        up = Up(station)
        prom: Prometheus | None = None
        try:
            up.wait_ready(90)
            (root / "prometheus").mkdir()
            prom = Prometheus(root / "prometheus", up.http)
            watching = prom

            # nothing to play, no fallback: dead air
            _wait(
                "DeadAir firing",
                lambda: any(
                    a["labels"].get("station") == SHORT for a in watching.firing("DeadAir")
                ),
                120,
                up,
                prom,
            )
            assert not prom.firing("OutputDown")  # Icecast is up all along
            # what the engine process reports reaches Prometheus through /metrics
            station_sel = f'{{station="{SHORT}"}}'

            def value(metric: str) -> list[float]:
                return [float(r["value"][1]) for r in prom_q(metric + station_sel)]

            prom_q = prom.query
            assert value("grimnir_media_engine_up") == [1.0]
            assert value("grimnir_media_engine_restarts_total") == [0.0]
            assert sorted(r["metric"]["via"] for r in prom_q("grimnir_engine_listeners")) == [
                "hls",
                "http",
                "icecast",
            ]
            assert value("grimnir_playout_dead_air_seconds_total")[0] >= 10

            # tracks in the library and a rebuilt timeline: audible again
            for n in range(3):
                write_tone(root / "music" / f"late{n}.wav", 500.0 + 100 * n, 60.0)
            station.grimnir("library", "scan", str(root / "music"), "--station", SHORT)
            api = Api(up.base)
            try:
                api.client.post(f"/stations/{SHORT}/timeline/rebuild", json={}).raise_for_status()
            finally:
                api.close()
            # Icecast goes away: the output is down
            icecast.stop()
            _wait("DeadAir resolved", lambda: not watching.firing("DeadAir"), 120, up, prom)
            _wait(
                "OutputDown firing",
                lambda: any(
                    a["labels"].get("station") == SHORT and "icecast" in a["labels"]["output"]
                    for a in watching.firing("OutputDown")
                ),
                120,
                up,
                prom,
            )
            icecast.start()  # the same port: the output reconnects on its own
            _wait("OutputDown resolved", lambda: not watching.firing("OutputDown"), 120, up, prom)
            assert not prom.firing("MediaEngineDown")
        finally:
            if prom is not None:
                prom.stop()
            up.stop()
