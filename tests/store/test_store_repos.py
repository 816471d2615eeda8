"""Repositories: users, stations (lookup and upsert from config) and timeline numbering."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import AudioFormat, ConfigError, ConflictError, NotFoundError, OutputKind
from grimnir.store import repos
from grimnir.store.models import MediaItem, Mount, Output, Playlist, Station
from grimnir.store.repos import MountSpec, OutputSpec, StationSpec

Sessions = async_sessionmaker[AsyncSession]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _spec(station_id: uuid.UUID, short_name: str, mounts: list[MountSpec]) -> StationSpec:
    return StationSpec(
        id=station_id,
        short_name=short_name,
        name="Radio Jóga",
        timezone="Atlantic/Reykjavik",
        description="Björk all day",
        config={"station": {"name": "Radio Jóga"}, "mounts": [m.key for m in mounts]},
        mounts=mounts,
    )


# users


async def test_create_get_and_list_users(sessions: Sessions) -> None:
    name = _unique("björk")
    async with sessions() as session, session.begin():
        user = await repos.create_user(
            session, username=name, password_hash="$argon2id$x", email="b@example.is"
        )
        assert user.id is not None
        assert not user.is_admin
    async with sessions() as session:
        found = await repos.get_user(session, name)
        assert (found.id, found.email, found.created_at.tzinfo) == (
            user.id,
            "b@example.is",
            user.created_at.tzinfo,
        )
        assert name in [u.username for u in await repos.list_users(session)]


async def test_duplicate_username_is_a_conflict(sessions: Sessions) -> None:
    name = _unique("dup")
    async with sessions() as session, session.begin():
        await repos.create_user(session, username=name, password_hash="x")
    async with sessions() as session:
        with pytest.raises(ConflictError, match=f"a user named '{name}' already exists"):
            await repos.create_user(session, username=name, password_hash="y", is_admin=True)


async def test_unknown_user_is_not_found(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFoundError, match="no user named 'nobody-at-all'"):
            await repos.get_user(session, "nobody-at-all")


# stations: lookup


async def test_get_station_by_id_and_by_short_name(sessions: Sessions, station: Station) -> None:
    async with sessions() as session:
        assert (await repos.get_station(session, str(station.id))).short_name == station.short_name
        assert (await repos.get_station(session, station.short_name)).id == station.id
        assert station.id in [s.id for s in await repos.list_stations(session)]


async def test_unknown_station_message_lists_the_stations(
    sessions: Sessions, station: Station
) -> None:
    async with sessions() as session:
        with pytest.raises(NotFoundError) as caught:
            await repos.get_station(session, "no-such-station")
        with pytest.raises(NotFoundError, match="no station with id or short name"):
            await repos.get_station(session, str(uuid.uuid4()))
    message = str(caught.value)
    assert message.startswith("no station with id or short name 'no-such-station'; stations: ")
    # the list is alphabetical and capped, so our station is named unless 20 sort before it
    async with sessions() as session:
        names = sorted(s.short_name for s in await repos.list_stations(session))
    if names.index(station.short_name) < 20:
        assert station.short_name in message


async def test_no_stations_at_all_says_so(empty_url: str) -> None:
    from grimnir.store import create_engine, session_factory, upgrade

    engine = create_engine(empty_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            with pytest.raises(NotFoundError, match="there are no stations yet"):
                await repos.get_station(session, "main")
    finally:
        await engine.dispose()


# stations: upsert


async def test_upsert_creates_then_updates_mounts_and_outputs_exactly(
    sessions: Sessions,
) -> None:
    station_id = uuid.uuid4()
    short = _unique("jóga")
    first = _spec(
        station_id,
        short,
        [
            MountSpec(
                key="main",
                name="Main",
                outputs=[
                    OutputSpec(
                        OutputKind.ICECAST, AudioFormat.MP3, 128, {"host": "ice", "port": 8000}
                    ),
                    OutputSpec(OutputKind.HLS, AudioFormat.AAC, 96),
                ],
            ),
            MountSpec(
                key="low", name="Low", outputs=[OutputSpec(OutputKind.HTTP, AudioFormat.OPUS, 32)]
            ),
        ],
    )
    async with sessions() as session, session.begin():
        station, created = await repos.upsert_station(session, first)
        assert created
        main_id = next(m.id for m in station.mounts if m.key == "main")
        # things the station owns besides mounts, which an update must not touch
        session.add(MediaItem(station_id=station_id, sha256="c" * 64, path="/a.flac", size_bytes=9))
        session.add(Playlist(station_id=station_id, name="Rotation"))

    second = _spec(
        station_id,
        short + "-renamed",
        [
            MountSpec(
                key="main",
                name="Main (stereo)",
                outputs=[
                    OutputSpec(OutputKind.RECORDING, AudioFormat.FLAC, None, {"path": "/rec"})
                ],
            ),
            MountSpec(key="hq", name="HQ", outputs=[OutputSpec(OutputKind.FILE, AudioFormat.WAV)]),
        ],
    )
    async with sessions() as session, session.begin():
        station, created = await repos.upsert_station(session, second)
        assert not created

    async with sessions() as session:
        station = await repos.get_station(session, str(station_id))
        assert (station.short_name, station.name, station.timezone, station.description) == (
            short + "-renamed",
            "Radio Jóga",
            "Atlantic/Reykjavik",
            "Björk all day",
        )
        assert station.config == {"station": {"name": "Radio Jóga"}, "mounts": ["main", "hq"]}
        mounts = {m.key: m for m in station.mounts}
        assert sorted(mounts) == ["hq", "main"]
        assert mounts["main"].id == main_id  # matched by key, so the id survives
        assert mounts["main"].name == "Main (stereo)"
        assert [
            (o.position, o.kind, o.format, o.bitrate_kbps, o.settings)
            for o in mounts["main"].outputs
        ] == [(0, OutputKind.RECORDING, AudioFormat.FLAC, None, {"path": "/rec"})]
        assert [(o.kind, o.format) for o in mounts["hq"].outputs] == [
            (OutputKind.FILE, AudioFormat.WAV)
        ]
        # the dropped mount and its output are gone, the rest of the station stays
        assert (
            await session.scalar(
                sa.select(sa.func.count()).select_from(Mount).where(Mount.station_id == station_id)
            )
            == 2
        )
        assert (
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(Output)
                .join(Mount)
                .where(Mount.station_id == station_id)
            )
            == 2
        )
        for model in (MediaItem, Playlist):
            n = await session.scalar(
                sa.select(sa.func.count()).select_from(model).where(model.station_id == station_id)
            )
            assert n == 1, model.__name__


async def test_upsert_again_with_the_same_spec_changes_nothing(sessions: Sessions) -> None:
    spec = _spec(
        uuid.uuid4(),
        _unique("same"),
        [MountSpec("main", "Main", [OutputSpec(OutputKind.NULL, AudioFormat.MP3, 64)])],
    )
    async with sessions() as session, session.begin():
        station, _ = await repos.upsert_station(session, spec)
        output_id = station.mounts[0].outputs[0].id
    async with sessions() as session, session.begin():
        station, created = await repos.upsert_station(session, spec)
    assert not created
    assert station.mounts[0].outputs[0].id == output_id


async def test_upsert_of_a_station_made_earlier_in_the_same_session(sessions: Sessions) -> None:
    station = Station(short_name=_unique("hand"), name="By hand")
    async with sessions() as session, session.begin():
        session.add(station)
        session.add(Mount(station_id=station.id, key="old", name="Old"))
        await session.flush()
        spec = _spec(station.id, station.short_name, [MountSpec("main", "Main")])
        same, created = await repos.upsert_station(session, spec)
    assert same is station
    assert not created
    async with sessions() as session:
        keys = (
            await session.scalars(sa.select(Mount.key).where(Mount.station_id == station.id))
        ).all()
    assert keys == ["main"]


async def test_upsert_renumbers_outputs_with_gaps(sessions: Sessions) -> None:
    outputs = [OutputSpec(OutputKind.NULL, AudioFormat.MP3, 64 * (i + 1)) for i in range(3)]
    spec = _spec(uuid.uuid4(), _unique("gaps"), [MountSpec("main", "Main", outputs)])
    async with sessions() as session, session.begin():
        station, _ = await repos.upsert_station(session, spec)
        mount_id = station.mounts[0].id
    async with sessions() as session, session.begin():  # someone edits the table by hand
        await session.execute(
            sa.update(Output)
            .where(Output.mount_id == mount_id)
            .values(position=Output.position * 10)
        )
    async with sessions() as session, session.begin():
        await repos.upsert_station(session, spec)
    async with sessions() as session:
        rows = (
            await session.execute(
                sa.select(Output.position, Output.bitrate_kbps)
                .where(Output.mount_id == mount_id)
                .order_by(Output.position)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(0, 64), (1, 128), (2, 192)]


async def test_upsert_short_name_clash_with_another_station_is_a_conflict(
    sessions: Sessions, station: Station
) -> None:
    spec = _spec(uuid.uuid4(), station.short_name, [])
    async with sessions() as session:
        with pytest.raises(ConflictError) as caught:
            await repos.upsert_station(session, spec)
    message = str(caught.value)
    assert f"short name '{station.short_name}' already belongs to station" in message
    assert str(station.id) in message
    assert str(spec.id) in message


def test_station_spec_refuses_duplicate_mount_keys() -> None:
    with pytest.raises(ConfigError, match="mount key\\(s\\) more than once: main"):
        _spec(uuid.uuid4(), "x", [MountSpec("main", "A"), MountSpec("main", "B")])


# timeline numbering


async def test_allocate_timeline_seq_is_consecutive_and_per_station(
    sessions: Sessions, station: Station
) -> None:
    other = Station(short_name=_unique("other"), name="Other")
    async with sessions() as session, session.begin():
        session.add(other)
    async with sessions() as session, session.begin():
        assert await repos.allocate_timeline_seq(session, station.id) == 1
        assert await repos.allocate_timeline_seq(session, station.id, count=5) == 2
    async with sessions() as session, session.begin():
        assert await repos.allocate_timeline_seq(session, station.id) == 7
        assert await repos.allocate_timeline_seq(session, other.id, count=3) == 1
        assert await repos.allocate_timeline_seq(session, other.id) == 4
    # a rolled-back transaction hands its numbers back
    async with sessions() as session:
        assert await repos.allocate_timeline_seq(session, station.id) == 8
        await session.rollback()
    async with sessions() as session, session.begin():
        assert await repos.allocate_timeline_seq(session, station.id) == 8
    # numbering is not an edit of the station
    async with sessions() as session:
        fresh = await repos.get_station(session, str(station.id))
        assert fresh.updated_at == station.updated_at
        assert fresh.timeline_seq == 8


async def test_allocate_timeline_seq_is_safe_under_concurrency(
    sessions: Sessions, station: Station
) -> None:
    async def allocate(count: int) -> range:
        async with sessions() as session, session.begin():
            first = await repos.allocate_timeline_seq(session, station.id, count)
            await asyncio.sleep(0.01)  # hold the row lock while others queue up
            return range(first, first + count)

    ranges = await asyncio.gather(*(allocate(n) for n in (3, 1, 4, 1, 5, 9, 2, 6)))
    numbers = sorted(n for r in ranges for n in r)
    assert numbers == list(range(1, 32))


async def test_allocate_timeline_seq_checks_its_arguments(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFoundError, match="no station with id"):
            await repos.allocate_timeline_seq(session, uuid.uuid4())
        with pytest.raises(ValueError, match="count must be at least 1"):
            await repos.allocate_timeline_seq(session, uuid.uuid4(), count=0)
