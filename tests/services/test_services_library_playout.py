"""The store access behind the media, web stream, timeline and playout routes
(issue 16): ``grimnir.services.library``, ``webstreams``, ``timeline`` and
``playout``. Each keeps to its station, never commits and answers with domain
errors; the routes over them are tests/api/test_api_{media,webstreams,timeline,playout}.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import (
    ConfigError,
    ConflictError,
    EntryKind,
    EntryStatus,
    NotFoundError,
    Priority,
)
from grimnir.services import library, playout, timeline, webstreams
from grimnir.store import repos
from grimnir.store.models import AsRun, MediaItem, PrioritySource, TimelineEntry
from tests._api import ApiWorld, api_world
from tests.api.test_api_programming import add_media

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        yield w


async def _entry(
    session: AsyncSession,
    station_id: uuid.UUID,
    minute: int,
    status: EntryStatus = EntryStatus.PLANNED,
    media_id: uuid.UUID | None = None,
) -> TimelineEntry:
    row = TimelineEntry(
        station_id=station_id,
        seq=await repos.allocate_timeline_seq(session, station_id),
        starts_at=T0 + timedelta(minutes=minute),
        ends_at=T0 + timedelta(minutes=minute + 3),
        kind=EntryKind.TRACK,
        status=status,
        media_id=media_id,
        title=f"at {minute}",
    )
    session.add(row)
    await session.flush()
    return row


async def test_timeline_windows_entries_and_planned_plays(world: ApiWorld) -> None:
    wgmr, other = world.stations["wgmr"], world.stations["other"]
    [song] = await add_media(world, n=1)
    async with world.ctx.sessions() as session:
        first = await _entry(session, wgmr, 0, EntryStatus.AIRED, song)
        await _entry(session, wgmr, 3, EntryStatus.ON_AIR, song)
        await _entry(session, wgmr, 6, EntryStatus.QUEUED)
        await _entry(session, wgmr, 9, media_id=song)
        await _entry(session, wgmr, 12, EntryStatus.SKIPPED, song)
        theirs = await _entry(session, other, 3)

        rows, total = await timeline.entries_overlapping(
            session, wgmr, T0 + timedelta(minutes=1), T0 + timedelta(minutes=10), limit=2, offset=1
        )
        assert ([r.title for r in rows], total) == (["at 3", "at 6"], 4)
        assert (await timeline.get_entry(session, wgmr, first.id)).id == first.id
        for station, entry_id in ((wgmr, theirs.id), (wgmr, uuid.uuid4())):
            with pytest.raises(NotFoundError, match="no timeline entry"):
                await timeline.get_entry(session, station, entry_id)
        since = T0 + timedelta(minutes=5)
        assert [r.title for r in await timeline.planned_from(session, wgmr, since)] == ["at 9"]
        upcoming = await timeline.next_entries(session, wgmr, T0 + timedelta(minutes=4), 5)
        assert [r.title for r in upcoming] == ["at 6", "at 9"]
        assert len(await timeline.next_entries(session, wgmr, T0, 1)) == 1
        assert await timeline.planned_plays(session, song) == 2  # on air + planned


async def test_library_edits_and_deletes_items(world: ApiWorld) -> None:
    wgmr = world.stations["wgmr"]
    kept, planned = await add_media(world, n=2)
    async with world.ctx.sessions() as session:
        await _entry(session, wgmr, 0, media_id=planned)
        item = await session.get(MediaItem, kept)
        assert item is not None
        edited = await library.update_tags(session, item, {"title": "Vísur", "year": None})
        assert (edited.title, edited.year) == ("Vísur", None)
        assert await library.path_in_use(session, item.path)
        assert await library.delete_item(session, item) == 0
        assert not await library.path_in_use(session, item.path)

        busy = await session.get(MediaItem, planned)
        assert busy is not None
        with pytest.raises(ConflictError, match=r"plans to air this item 1 time\(s\).*force=true"):
            await library.delete_item(session, busy)
        assert await library.delete_item(session, busy, force=True) == 1
        await session.flush()
        assert await session.get(MediaItem, planned) is None
        await session.rollback()  # the caller owns the transaction: nothing was committed
    async with world.ctx.sessions() as session:
        assert await session.get(MediaItem, kept) is not None


async def test_webstreams_per_station_with_unique_names_and_urls(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        wgmr = await repos.get_station(session, "wgmr")
        other = await repos.get_station(session, "other")

        async def add(station_id: uuid.UUID, name: str, urls: list[str]) -> uuid.UUID:
            row = await webstreams.add_webstream(
                session,
                station_id,
                name=name,
                urls=urls,
                stall_timeout_ms=5_000,
                grace_ms=2_000,
                pass_metadata=True,
            )
            return row.id

        ids = [await add(wgmr.id, name, [f"https://{name}.example/a"]) for name in "bac"]
        theirs = await add(other.id, "a", ["https://a.example/a"])
        with pytest.raises(ConfigError, match="same URL twice: give each URL once"):
            await add(wgmr.id, "d", ["https://x.example/s", "https://x.example/s"])
        rows, total = await webstreams.list_webstreams(session, wgmr.id, limit=2, offset=1)
        assert ([r.name for r in rows], total) == (["b", "c"], 3)
        with pytest.raises(NotFoundError, match=f"no web stream {theirs} on station wgmr"):
            await webstreams.get_webstream(session, wgmr, theirs)

        row = await webstreams.get_webstream(session, wgmr, ids[0])
        await webstreams.edit_webstream(session, row, {"grace_ms": 0, "urls": ["https://b.x/1"]})
        assert (row.grace_ms, row.urls) == (0, ["https://b.x/1"])
        await webstreams.record_failover(session, row, "https://b.x/1", T0)
        assert (row.active_url, row.checked_at) == ("https://b.x/1", T0)
        await webstreams.clear_health(session, row)
        assert (row.health, row.active_url, row.checked_at) == ("unknown", None, None)
        await webstreams.delete_webstream(session, row)
        await session.flush()
        assert [
            r.name for r in (await webstreams.list_webstreams(session, wgmr.id, limit=9))[0]
        ] == [
            "a",
            "c",
        ]
        await session.commit()

    async with world.ctx.sessions() as session:
        row = await webstreams.get_webstream(session, wgmr, ids[1])
        with pytest.raises(ConflictError, match="named 'c' exists on this station: pick another"):
            await webstreams.edit_webstream(session, row, {"name": "c"})


async def test_asrun_pages_and_active_claims(world: ApiWorld) -> None:
    wgmr, other = world.stations["wgmr"], world.stations["other"]
    async with world.ctx.sessions() as session:
        for minute in (0, 10, 20, 30):
            session.add(
                AsRun(
                    station_id=wgmr, title=f"at {minute}", started_at=T0 + timedelta(minutes=minute)
                )
            )
        session.add(AsRun(station_id=other, title="theirs", started_at=T0))
        claims = [
            (Priority.AUTOMATION, "automation", T0, True),
            (Priority.EMERGENCY, "emergency", T0 + timedelta(minutes=1), True),
            (Priority.LIVE_OVERRIDE, "live_override", T0, False),
        ]
        for priority, kind, at, active in claims:
            session.add(
                PrioritySource(
                    station_id=wgmr, priority=priority, kind=kind, activated_at=at, active=active
                )
            )
        await session.flush()

        rows, total = await playout.asrun_page(session, wgmr, limit=2, offset=1)
        assert ([r.title for r in rows], total) == (["at 20", "at 10"], 4)
        since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=30)
        rows, total = await playout.asrun_page(session, wgmr, since, until, limit=9)
        assert ([r.title for r in rows], total) == (["at 20", "at 10"], 2)
        assert [c.kind for c in await playout.active_claims(session, wgmr)] == [
            "emergency",
            "automation",
        ]
        assert await playout.active_claims(session, other) == []
