"""The timeline routes: rebuild, read, check and diff, through the real planner and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from grimnir.bus import SCHEDULE_UPDATED
from grimnir.store.models import TimelineEntry
from tests._api import ApiWorld
from tests.api.test_api_programming import W, add_media, audit_actions, problem, rock_rules


def tomorrow() -> datetime:
    """A window start safely past the rebuild lock (and on a whole hour)."""
    day = datetime.now(UTC) + timedelta(days=1)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


async def stored(world: ApiWorld) -> int:
    async with world.ctx.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.station_id == world.stations["wgmr"])
        )
    return count or 0


async def test_rebuild_writes_entries_that_get_timeline_shows(world: ApiWorld) -> None:
    await add_media(world, n=30)
    start = tomorrow()
    sub = await world.ctx.bus.subscribe([SCHEDULE_UPDATED], str(world.stations["wgmr"]))
    m = world.client("manager")
    r = await m.post(f"{W}/timeline/rebuild", params={"hours": 3, "from": start.isoformat()})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["written"] is True
    assert report["planned"] > 0
    assert report["counts"]["track"] > 0
    assert report["errors"] == []
    assert await stored(world) == report["planned"]
    event = await sub.get(timeout=5)
    assert event.data["planned"] == report["planned"]
    assert event.station_id == str(world.stations["wgmr"])
    await sub.close()

    dj = world.client("dj")
    r = await dj.get(
        f"{W}/timeline",
        params={"from": start.isoformat(), "to": (start + timedelta(hours=3)).isoformat()},
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] >= report["planned"] - 1
    entries = page["items"]
    starts = [e["starts_at"] for e in entries]
    assert starts == sorted(starts)
    first = entries[0]
    assert first["kind"] == "track"
    assert first["media_id"]
    assert first["title"]
    assert first["status"] == "planned"
    assert first["duration_ms"] > 0
    one = await dj.get(f"{W}/timeline/{first['id']}")
    assert one.status_code == 200
    assert one.json() == first
    r = await dj.get(f"{W}/timeline", params={"from": start.isoformat(), "limit": 2, "offset": 1})
    assert [e["id"] for e in r.json()["items"]] == [e["id"] for e in entries[1:3]]
    assert await audit_actions(world) == ["timeline.rebuild"]


async def test_timeline_errors_and_roles(world: ApiWorld) -> None:
    dj = world.client("dj")
    assert "manager role" in problem(await dj.post(f"{W}/timeline/rebuild"), 403)
    detail = problem(await dj.get(f"{W}/timeline/00000000-0000-4000-8000-000000000001"), 404)
    assert "GET /api/v1/stations/wgmr/timeline" in detail
    detail = problem(
        await dj.get(
            f"{W}/timeline", params={"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}
        ),
        422,
    )
    assert "after" in detail
    detail = problem(await dj.get(f"{W}/timeline", params={"from": "2026-05-02T00:00:00"}), 422)
    assert "from" in detail
    m = world.client("manager")
    detail = problem(await m.post(f"{W}/timeline/rebuild", params={"hours": 24 * 14 + 1}), 422)
    assert "hours" in detail
    problem(await world.client("rival").get(f"{W}/timeline"), 403)
    assert await stored(world) == 0


async def test_check_reports_without_writing(world: ApiWorld) -> None:
    dj = world.client("dj")
    r = await dj.get(f"{W}/timeline/check", params={"hours": 2})
    assert r.status_code == 200, r.text
    report = r.json()
    # no library at all: the whole window is dead air, and the report says so
    assert report["written"] is False
    assert report["planned"] == 0
    assert report["gaps"]
    assert report["errors"]
    await add_media(world, n=30)
    report = (await dj.get(f"{W}/timeline/check", params={"hours": 2})).json()
    assert report["planned"] > 0
    assert report["gaps"] == []
    assert await stored(world) == 0


async def test_diff_lists_what_a_clock_change_would_do(world: ApiWorld) -> None:
    await add_media(world, n=60)
    m = world.client("manager")
    jazz_rules = {"groups": [[{"field": "genre", "modifier": "is", "value": "jazz"}]]}
    rock = (await m.post(f"{W}/smart-blocks", json={"name": "Rock", "rules": rock_rules()})).json()
    jazz = (await m.post(f"{W}/smart-blocks", json={"name": "Jazz", "rules": jazz_rules})).json()
    slots = [
        {"offset_ms": 0, "duration_ms": 3_600_000, "kind": "smart_block",
         "smart_block_id": rock["id"]}
    ]  # fmt: skip
    clock = (await m.post(f"{W}/clocks", json={"name": "default", "slots": slots})).json()
    window: dict[str, int | str] = {"hours": 2, "from": tomorrow().isoformat()}
    assert (await m.post(f"{W}/timeline/rebuild", params=window)).status_code == 200

    dj = world.client("dj")
    r = await dj.post(f"{W}/timeline/diff", params=window)
    assert r.status_code == 200, r.text
    same = r.json()
    assert same["unchanged"] is True, same
    assert same["report"]["written"] is False

    slots[0]["smart_block_id"] = jazz["id"]
    r = await m.put(f"{W}/clocks/{clock['id']}", json={"name": "default", "slots": slots})
    assert r.status_code == 200, r.text
    before = await stored(world)
    r = await dj.post(f"{W}/timeline/diff", params=window)
    assert r.status_code == 200, r.text
    changes = r.json()
    assert changes["unchanged"] is False
    new = [c["new"] for c in changes["changed"]] + changes["added"]
    assert new
    assert all(e["smart_block_id"] == jazz["id"] for e in new if e["kind"] == "track")
    old = [c["old"] for c in changes["changed"]] + changes["removed"]
    assert old
    assert all(e["smart_block_id"] == rock["id"] for e in old if e["kind"] == "track")
    assert any(r.startswith("item ") for c in changes["changed"] for r in c["reasons"])
    assert await stored(world) == before  # nothing written
