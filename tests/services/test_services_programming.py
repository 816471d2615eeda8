"""A station's programming through ``grimnir.services.programming`` (issue 16): its
own rows only, names unique per station, pages by name, items and slots replaced
in order; the routes over it are tests/api/test_api_programming.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConflictError, NotFoundError, ShowExceptionKind, SlotKind, Timing
from grimnir.services import programming
from grimnir.services.programming import clocks, exceptions, playlists, shows
from grimnir.store import repos
from grimnir.store.models import Clock, MediaItem, Playlist, ShowContent, SmartBlock
from tests._api import ApiWorld, api_world
from tests.api.test_api_programming import add_media


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path) as w:
        yield w


async def _new(session: AsyncSession, station_id: uuid.UUID, name: str) -> Playlist:
    return await playlists.create_playlist(
        session, station_id, name=name, description="", shuffle=False, rotation={}, jingle=False
    )


async def test_playlists_and_what_they_share(world: ApiWorld) -> None:
    ours = await add_media(world, n=3)
    theirs = await add_media(world, "other", n=1)
    async with world.ctx.sessions() as session:
        wgmr = await repos.get_station(session, "wgmr")
        other = await repos.get_station(session, "other")
        rows = [await _new(session, wgmr.id, name) for name in ("b", "a", "c")]
        with pytest.raises(ConflictError, match="already has a playlist named 'a': pick another"):
            await _new(session, wgmr.id, "a")
        await _new(session, other.id, "a")
        await session.flush()

        page, total = await playlists.list_playlists(session, wgmr.id, limit=2, offset=1)
        assert ([p.name for p in page], total) == (["b", "c"], 3)
        first = rows[0]
        assert await programming.owned(session, Playlist, first.id, wgmr) is first
        with pytest.raises(NotFoundError, match=f"no playlist {first.id} on station 'other'"):
            await programming.owned(session, Playlist, first.id, other)
        with pytest.raises(ConflictError, match="named 'a'"):
            await playlists.update_playlist(
                session, first, name="a", description="", shuffle=True, rotation={}, jingle=False
            )
        await playlists.update_playlist(
            session, first, name="b", description="d", shuffle=True, rotation={}, jingle=False
        )
        assert (first.description, first.shuffle) == ("d", True)

        missing = uuid.uuid4()
        bad = await programming.foreign_refs(
            session,
            wgmr.id,
            [
                ("x", MediaItem, theirs[0]),
                ("y", MediaItem, ours[0]),
                ("z", SmartBlock, missing),
                ("none", Clock, None),
            ],
        )
        assert bad == [("x", MediaItem, theirs[0]), ("z", SmartBlock, missing)]

        assert await playlists.station_media(session, wgmr.id, {*ours, *theirs}) == set(ours)
        assert await playlists.station_media(session, wgmr.id, set()) == set()
        order = [ours[2], ours[0], ours[2]]
        await playlists.replace_items(session, first, [(m, {"weight": 2.0}) for m in order])
        assert await playlists.item_count(session, first.id) == 3
        items = await playlists.playlist_items(session, first.id)
        assert [(i.position, m.id) for i, m in items] == list(enumerate(order))
        await playlists.replace_items(session, first, [(ours[1], {})])
        assert [m.id for _, m in await playlists.playlist_items(session, first.id)] == [ours[1]]

        await programming.remove(session, first)
        await session.flush()
        with pytest.raises(NotFoundError):
            await programming.owned(session, Playlist, first.id, wgmr)
        await session.rollback()


async def test_clocks_slots_are_replaced(world: ApiWorld) -> None:
    slot = {"offset_ms": 0, "duration_ms": 600_000, "kind": SlotKind.STOPSET}
    slot |= {"timing": Timing.SOFT, "name": None, "params": {}}
    slot |= {"smart_block_id": None, "playlist_id": None, "media_id": None, "webstream_id": None}
    async with world.ctx.sessions() as session:
        wgmr = await repos.get_station(session, "wgmr")
        clock = await clocks.create_clock(
            session,
            wgmr.id,
            name="hour",
            description="",
            slots=[slot, {**slot, "offset_ms": 600_000}],
        )
        await session.flush()
        loaded = await clocks.clock_with_slots(session, clock.id)
        assert [(s.position, s.offset_ms) for s in loaded.slots] == [(0, 0), (1, 600_000)]
        await clocks.update_clock(
            session, clock, name="hour 2", description="d", slots=[{**slot, "offset_ms": 60_000}]
        )
        await session.flush()
        loaded = await clocks.clock_with_slots(session, clock.id)
        assert loaded.name == "hour 2"
        assert [(s.position, s.offset_ms) for s in loaded.slots] == [(0, 60_000)]
        rows, total = await clocks.list_clocks(session, wgmr.id, limit=10, offset=0)
        assert ([c.name for c in rows], total) == (["hour 2"], 1)
        with pytest.raises(NotFoundError, match="was just deleted"):
            await clocks.clock_with_slots(session, uuid.uuid4())
        await session.rollback()


async def test_shows_hosts_and_exceptions(world: ApiWorld) -> None:
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2030, 1, 7, 10, tzinfo=plus_two)
    settings = {
        "name": "Morning",
        "description": "",
        "rrule": "  FREQ=DAILY ",
        "dtstart": start,
        "duration_ms": 3_600_000,
        "enabled": True,
        "host_user_id": None,
        "content": ShowContent.LIVE,
        "clock_id": None,
        "playlist_id": None,
        "smart_block_id": None,
        "webstream_id": None,
    }
    async with world.ctx.sessions() as session:
        wgmr = await repos.get_station(session, "wgmr")
        show = await shows.create_show(session, wgmr.id, settings)
        assert (show.rrule, show.dtstart) == ("FREQ=DAILY", start.astimezone(UTC))
        with pytest.raises(ConflictError, match="already has a show named 'Morning'"):
            await shows.create_show(session, wgmr.id, settings)
        await session.flush()

        assert await shows.may_host(session, world.users["dj"], wgmr.id)
        assert await shows.may_host(session, world.users["admin"], wgmr.id)
        assert not await shows.may_host(session, world.users["rival"], wgmr.id)
        assert not await shows.may_host(session, uuid.uuid4(), wgmr.id)

        at = start.astimezone(UTC)
        await exceptions.check_occurrence_free(session, show.id, at)
        row = await exceptions.add_exception(
            session,
            show,
            occurrence_start=start,
            kind=ShowExceptionKind.CANCEL,
            new_start=None,
            new_duration_ms=None,
            substitute={},
            note=None,
        )
        await session.flush()
        with pytest.raises(ConflictError, match="already has an exception: delete it first"):
            await exceptions.check_occurrence_free(session, show.id, at)
        assert await exceptions.show_exception(session, show, row.id) is row
        with pytest.raises(NotFoundError, match="show 'Morning' has no exception"):
            await exceptions.show_exception(session, show, uuid.uuid4())
        loaded = await shows.show_with_exceptions(session, show.id)
        assert [e.id for e in loaded.exceptions] == [row.id]
        assert [s.id for s in await shows.all_shows(session, wgmr.id)] == [show.id]
        await session.rollback()
