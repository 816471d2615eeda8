"""The alert routes: CAP pushes (manager or HMAC signature, no replays, 413 before
parsing), alerts a manager originates, roles, and the log's exports."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from grimnir.api.routes.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from grimnir.store.models import Station
from tests._api import ApiWorld, api_world
from tests.eas import _cap_samples as cap
from tests.eas_onair._world import EAS, SECRET

BASE = "/api/v1/stations/wgmr/alerts"
FRESH = "2026-12-07T13:05:00-00:00"
"""Alerts for the tests are sent now-ish and expire far ahead."""


def _alert(identifier: str = "api-1", **info: Any) -> bytes:
    year = time.strftime("%Y")
    sent = f"{year}-{time.strftime('%m-%dT%H:%M:%S')}-00:00"
    return cap.alert(
        identifier=identifier,
        sent=sent,
        infos=(
            cap.info(
                same="TOR", capcp=None, expires=f"{int(year) + 1}-01-01T00:00:00-00:00", **info
            ),
        ),
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        async with w.ctx.sessions() as session:
            station = await session.get(Station, w.stations["wgmr"])
            assert station is not None
            await session.execute(
                update(Station)
                .where(Station.id == station.id)
                .values(config={**station.config, "eas": EAS})
            )
            await session.commit()
        yield w


def _signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return {
        SIGNATURE_HEADER: sign(secret, stamp, body),
        TIMESTAMP_HEADER: str(stamp),
        "Content-Type": "application/xml",
    }


async def test_a_manager_pushes_cap_and_the_log_shows_it(world: ApiWorld) -> None:
    manager = world.client("manager")
    body = _alert()
    reply = await manager.post(f"{BASE}/cap", content=body)
    assert reply.status_code == 200, reply.text
    got = reply.json()
    assert got["decision"] == "relay"
    assert got["same_header"].startswith("ZCZC-WXR-TOR-048453+")
    assert got["airing_id"] is None  # not on air in this process: said in the reason
    assert "not on air" in got["reason"]

    log = (await manager.get(BASE)).json()
    assert log["total"] == 1
    assert log["items"][0]["decision"] == "relay"
    one = (await manager.get(f"{BASE}/{got['alert_id']}")).json()
    assert one["original"] == body.decode()


async def test_roles(world: ApiWorld) -> None:
    dj, anonymous = world.client("dj"), world.client()
    assert (await dj.post(f"{BASE}/cap", content=_alert())).status_code == 403
    assert (await anonymous.post(f"{BASE}/cap", content=_alert())).status_code == 401
    assert (await dj.post(BASE, json={"test": True})).status_code == 403
    assert (await dj.get(BASE)).status_code == 403
    assert (await world.client("rival").get(BASE)).status_code == 403
    for who in ("dj", "manager"):
        client = world.client(who)
        assert (await client.delete(BASE)).status_code == 405
        assert (
            await client.delete(f"{BASE}/00000000-0000-4000-8000-000000000001")
        ).status_code == 405


async def test_hmac_good_bad_and_replayed(world: ApiWorld) -> None:
    client = world.client()
    body = _alert("signed-1")
    headers = _signed(body)
    good = await client.post(f"{BASE}/cap", content=body, headers=headers)
    assert good.status_code == 200, good.text
    assert good.json()["decision"] == "relay"

    replay = await client.post(f"{BASE}/cap", content=body, headers=headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]

    wrong = await client.post(f"{BASE}/cap", content=body, headers=_signed(body, secret="x" * 20))
    assert wrong.status_code == 401
    assert "HMAC-SHA256" in wrong.json()["detail"]

    tampered = _alert("signed-2")
    changed = await client.post(f"{BASE}/cap", content=tampered, headers=_signed(body))
    assert changed.status_code == 401

    stale = await client.post(
        f"{BASE}/cap", content=tampered, headers=_signed(tampered, at=int(time.time()) - 3600)
    )
    assert stale.status_code == 401
    assert "off this server's clock" in stale.json()["detail"]

    log = (await world.client("manager").get(BASE)).json()
    assert [i["identifier"] for i in log["items"]] == ["signed-1"]


async def test_bad_documents_are_logged_and_oversized_refused_first(world: ApiWorld) -> None:
    manager = world.client("manager")
    broken = await manager.post(f"{BASE}/cap", content=b"<alert><oops></alert>")
    assert broken.status_code == 422
    assert "rejected:" in broken.json()["detail"]
    assert "fix the document" in broken.json()["detail"]

    huge = b"<alert>" + b" " * (1024 * 1024) + b"</alert>"
    too_big = await manager.post(f"{BASE}/cap", content=huge)
    assert too_big.status_code == 413
    assert "1 MiB" in too_big.json()["detail"]

    log = (await manager.get(BASE, params={"decision": "rejected"})).json()
    assert log["total"] == 1  # the oversized body never reached the parser


async def test_originate_and_test_and_exports(world: ApiWorld) -> None:
    manager = world.client("manager")
    made = await manager.post(
        BASE, json={"event": "CEM", "minutes": 30, "text": "A gas leak downtown. Stay inside."}
    )
    assert made.status_code == 201, made.text
    assert made.json()["same_header"].startswith("ZCZC-EAS-CEM-048453+0030-")
    rwt = await manager.post(BASE, json={"test": True})
    assert rwt.status_code == 201
    assert rwt.json()["same_header"].startswith("ZCZC-EAS-RWT-048453+0015-")
    await manager.post(f"{BASE}/cap", content=_alert(geocodes=(("SAME", "006037"),)))

    month = time.strftime("%Y-%m")
    exported = await manager.get(f"{BASE}/export.csv", params={"month": month})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["source"] for r in rows] == ["originated", "test", "cap-push"]
    assert rows[2]["decision"] == "filter"
    assert rows[2]["reason"] == "filtered: no area matches 006037"

    as_json = (await manager.get(f"{BASE}/export.json", params={"month": month})).json()
    assert [a["decision"] for a in as_json["alerts"]] == ["relay", "relay", "filter"]
    assert '"event": "CEM"' in as_json["alerts"][0]["original"]

    page = await manager.get(f"{BASE}/log/{month}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Emergency alert log" in page.text
    assert "filtered: no area matches 006037" in page.text

    bad = await manager.get(f"{BASE}/export.csv", params={"month": "12-2026"})
    assert bad.status_code == 422
    assert "YYYY-MM" in bad.json()["detail"]
    assert (await manager.get(BASE, params={"decision": "maybe"})).status_code == 422
