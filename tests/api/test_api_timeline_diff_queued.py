"""POST …/timeline/diff compares the new plan with what a rebuild would replace:
planned and queued entries alike (the executor's queue is replanned too), so a
timeline the executor has started to queue is still "unchanged" (the timeline page's
preview of a rebuild)."""

from __future__ import annotations

from sqlalchemy import select

from grimnir.domain import EntryStatus
from grimnir.store.models import TimelineEntry
from tests._api import ApiWorld
from tests.api.test_api_programming import W, add_media
from tests.api.test_api_timeline import tomorrow


async def test_diff_counts_queued_entries_as_the_rebuild_does(world: ApiWorld) -> None:
    await add_media(world, n=30)
    window: dict[str, int | str] = {"hours": 2, "from": tomorrow().isoformat()}
    m = world.client("manager")
    assert (await m.post(f"{W}/timeline/rebuild", params=window)).status_code == 200
    async with world.ctx.sessions() as session:
        rows = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.station_id == world.stations["wgmr"])
            .order_by(TimelineEntry.starts_at)
            .limit(5)
        )
        queued = rows.all()
        assert len(queued) == 5
        for row in queued:
            row.status = EntryStatus.QUEUED  # as the executor does, an hour ahead
        await session.commit()

    r = await world.client("dj").post(f"{W}/timeline/diff", params=window)
    assert r.status_code == 200, r.text
    same = r.json()
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])
    assert same["unchanged"] is True

    # and what would change is still said: the queued entries are replaced as well
    async with world.ctx.sessions() as session:
        louder = await session.get(TimelineEntry, queued[0].id)
        assert louder is not None
        louder.gain_db += 3.0
        await session.commit()
    changed = (await world.client("dj").post(f"{W}/timeline/diff", params=window)).json()
    assert [c["old"]["id"] for c in changed["changed"]] == [str(queued[0].id)]
    assert any(reason.startswith("gain_db ") for reason in changed["changed"][0]["reasons"])
