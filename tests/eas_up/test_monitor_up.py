"""End to end on a real ``grimnir up``: a SAME monitor in the station config is all
it takes. A local live stream (MP3 music, paced) carries, once the test lets
it, a tornado warning with its SAME header for the station's area: the
monitor hears it, the alert is logged with source ``same-monitor`` and
decision ``relay`` and goes on air (``alert.received`` then ``alert.aired``);
the upstream's EOM adds no row of its own."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lameenc
import numpy as np
import numpy.typing as npt

from grimnir.eas import SameHeader, alert_programme
from tests._onair import SHORT, Api, Up, make_station
from tests._require import require_peer
from tests.eas._signals import RATE, music
from tests.eas_sources._http import Request, respond
from tests.eas_up._world import EAS, AlertEvents, ThreadedServer, wait_for


def _mp3(pcm: npt.NDArray[np.floating[Any]]) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(5)
    samples = (np.clip(pcm, -1, 1) * 32767).astype(np.int16).tobytes()
    return bytes(encoder.encode(samples) + encoder.flush())


class Upstream:
    """A live MP3 stream: music in one-second pieces, and the alert once released."""

    def __init__(self) -> None:
        self.header = SameHeader(
            "WXR",
            "TOR",
            ("048453",),
            30,
            datetime.now(UTC).replace(second=0, microsecond=0),
            "KEWX/NWS",
        )
        programme = alert_programme(self.header, music(2, RATE, seed=5) * 0.5, RATE)
        self.alert = _mp3(np.concatenate([music(2, RATE), programme.pcm, music(2, RATE, seed=9)]))
        self.music = _mp3(music(1, RATE, seed=7))
        self.release = threading.Event()
        self.sent = False

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path != "/live.mp3":
            await respond(writer, 404)
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nConnection: close\r\n\r\n")
        while True:
            if self.release.is_set() and not self.sent:
                self.sent = True
                writer.write(self.alert)
            else:
                writer.write(self.music)
            await writer.drain()
            await asyncio.sleep(0.5)


def test_a_same_alert_heard_on_a_monitor_is_relayed(tmp_path: Path) -> None:
    require_peer("espeak-ng")
    upstream = Upstream()
    with ThreadedServer(upstream.handle) as server:
        eas = {**EAS, "monitor": [server.url("/live.mp3")]}
        station = make_station(
            tmp_path, tracks=1, track_s=150.0, emergency=False, extra={"eas": eas}
        )
        up = Up(station)
        try:
            up.wait_ready(120)
            api = Api(up.base)
            token = str(api.client.headers["Authorization"]).split(" ", 1)[1]
            events = AlertEvents(up.base, token, SHORT)
            wait_for("an item on air", api.current, 60, up.tail())

            def monitor() -> dict[str, object] | None:
                got = api.client.get(f"/stations/{SHORT}/alerts/sources").json()
                return next((s for s in got["sources"] if s["kind"] == "same-monitor"), None)

            listening = wait_for(
                "the monitor to be connected",
                lambda: (m := monitor()) and m["last_ok"] and m,
                30,
                up.tail(),
            )
            assert listening["running"] is True
            assert listening["delivered"] == 0
            upstream.release.set()

            def logged() -> list[dict[str, object]]:
                items: list[dict[str, object]] = api.client.get(f"/stations/{SHORT}/alerts").json()[
                    "items"
                ]
                return [i for i in items if i["airings"]]

            (row,) = wait_for("the monitored alert, aired", logged, 60, up.tail())
            assert row["source"] == "same-monitor"
            assert row["decision"] == "relay", row
            assert "-TOR-048453" in str(row["same_header"])
            wait_for("alert.aired on the bus", lambda: "alert.aired" in events.types, 20)
            assert events.types[:2] == ["alert.received", "alert.aired"]
            heard = wait_for(
                "the monitor to count the delivery",
                lambda: (m := monitor()) and m["delivered"] == 1 and m,
                20,
            )
            assert heard["rejected"] == 0
            # the upstream's EOM (after the alert) left no row of its own
            wait_for("the upstream EOM", lambda: "end of message heard" in "\n".join(up.lines), 30)
            everything = api.client.get(f"/stations/{SHORT}/alerts").json()
            assert everything["total"] == 1, everything
            events.close()
            api.close()
        finally:
            up.stop()
