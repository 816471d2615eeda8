"""End to end on a real ``grimnir up``: the station config's ``eas.feeds`` is all it
takes. A local ATOM feed first carries only a malformed entry (refused and
counted, the poller polls on), then a tornado warning for the station's area:
it is logged with source ``feed`` and decision ``relay``, goes on air
(``alert.received`` then ``alert.aired``), and the sources route and
``/metrics`` show the feed healthy. A new feed URL stored with ``PUT …/config``
replaces the poller without a restart, and its alert (for another area) is
logged and filtered."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests._onair import SHORT, Api, Up, make_station
from tests._require import require_peer
from tests.eas_sources._http import Request, respond
from tests.eas_up._world import EAS, AlertEvents, ThreadedServer, cap_now, wait_for

ATOM = "http://www.w3.org/2005/Atom"
BAD = """<entry><id>urn:entry:bad</id><title>bad</title><updated>2026-03-01T18:05:00Z</updated>
<link rel="alternate" type="application/cap+xml" href="/cap/bad.xml"/></entry>"""


def _feed(*entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="{ATOM}"><id>urn:feed</id><title>IPAWS-OPEN</title>
<updated>2026-03-01T18:06:00Z</updated>{"".join(entries)}</feed>""".encode()


def _embedded(entry_id: str, cap: bytes) -> str:
    body = cap.decode().split("?>", 1)[1]
    return f"""<entry><id>{entry_id}</id><title>{entry_id}</title>
<updated>2026-03-01T18:05:00Z</updated><content type="text/xml">{body}</content></entry>"""


class Feeds:
    """``/feed``: the bad entry, and the alert once ``release`` is set; ``/feed2``: another."""

    def __init__(self) -> None:
        self.first = cap_now("feed-one")
        self.second = cap_now("feed-two", area="006037")  # not the station's area
        self.release = threading.Event()
        self.paths: list[str] = []

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        self.paths.append(request.path)
        if request.path == "/cap/bad.xml":
            await respond(writer, 200, b"<alert><identifier>cut here")
        elif request.path == "/feed":
            entries = [BAD] + (
                [_embedded("urn:entry:one", self.first)] if self.release.is_set() else []
            )
            await respond(writer, 200, _feed(*entries), {"Content-Type": "application/atom+xml"})
        elif request.path == "/feed2":
            await respond(writer, 200, _feed(_embedded("urn:entry:two", self.second)))
        else:
            await respond(writer, 404)


def _sources(api: Api) -> dict[str, object]:
    reply = api.client.get(f"/stations/{SHORT}/alerts/sources")
    reply.raise_for_status()
    got: dict[str, object] = reply.json()
    return got


def _feed_source(api: Api, path: str) -> dict[str, object] | None:
    listed = _sources(api)["sources"]
    assert isinstance(listed, list)
    return next((s for s in listed if str(s["label"]).endswith(path)), None)


def _logged(api: Api, identifier: bytes) -> dict[str, object] | None:
    items = api.client.get(f"/stations/{SHORT}/alerts").json()["items"]
    ident = identifier.split(b"<identifier>")[1].split(b"</identifier>")[0].decode()
    return next((i for i in items if i["identifier"] == ident), None)


def _metric(base: str, name: str) -> float | None:
    body = httpx.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and sample.labels == {"station": SHORT, "kind": "feed"}:
                return sample.value
    return None


def test_feed_alerts_are_relayed_by_grimnir_up(tmp_path: Path) -> None:
    require_peer("espeak-ng")
    feeds = Feeds()
    with ThreadedServer(feeds.handle) as server:
        eas = {**EAS, "feeds": [{"url": server.url("/feed"), "poll_seconds": 5}]}
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

            # the malformed entry: refused, counted, and the poller polls on
            bad = wait_for(
                "the bad entry to be refused",
                lambda: (s := _feed_source(api, "/feed")) and s["rejected"] == 1 and s,
                30,
                up.tail(),
            )
            assert bad["kind"] == "feed"
            assert bad["running"] is True
            assert bad["delivered"] == 0
            assert "cut here" not in str(bad["last_error"])  # the reason, not the document
            polls_before = feeds.paths.count("/feed")
            feeds.release.set()

            row = wait_for(
                "the feed's alert in the compliance log, aired",
                lambda: (r := _logged(api, feeds.first)) and r["airings"] and r,
                30,
                up.tail(),
            )
            assert row["source"] == "feed"
            assert row["decision"] == "relay", row
            assert str(row["same_header"]).startswith("ZCZC-WXR-TOR-048453")
            assert feeds.paths.count("/feed") > polls_before  # it kept polling after the refusal
            wait_for("alert.aired on the bus", lambda: "alert.aired" in events.types, 20)
            received = events.types.index("alert.received")
            assert events.data[received]["data"]["alert_id"] == row["id"]  # type: ignore[index]
            aired = events.types.index("alert.aired")
            assert received < aired
            assert events.data[aired]["data"]["alert_id"] == row["id"]  # type: ignore[index]

            # health: the route and /metrics
            healthy = _feed_source(api, "/feed")
            assert healthy is not None
            assert healthy["running"] is True
            assert healthy["consecutive_failures"] == 0
            assert healthy["last_ok"] is not None
            assert (healthy["delivered"], healthy["rejected"]) == (1, 1)
            assert _sources(api)["active"] is True
            assert _metric(up.base, "grimnir_alert_sources_up") == 1.0
            assert _metric(up.base, "grimnir_alert_source_rejected_total") == 1.0

            # a new feed URL in the stored config: the poller is replaced, no restart
            config = api.client.get(f"/stations/{SHORT}/config").json()
            config["eas"]["feeds"] = [{"url": server.url("/feed2"), "poll_seconds": 5}]
            api.client.put(f"/stations/{SHORT}/config", json=config).raise_for_status()
            wait_for(
                "the sources to follow the config",
                lambda: _feed_source(api, "/feed2") and not _feed_source(api, "/feed"),
                30,
                up.tail(),
            )
            again = wait_for(
                "the new feed's alert in the log",
                lambda: _logged(api, feeds.second),
                30,
                up.tail(),
            )
            assert again["source"] == "feed"
            assert again["decision"] == "filter", again
            assert again["airings"] == []
            events.close()
            api.close()
        finally:
            up.stop()
    assert "alert sources running: feed:" in "\n".join(up.lines)
