"""The database itself refuses bad rows, on every backend: unique keys, foreign
keys (SQLite included), CHECKs, enum values, NOT NULL, naive datetimes; and
deleting a parent cascades or clears references as designed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import (
    AudioFormat,
    EndReason,
    EntryKind,
    OutputKind,
    Priority,
    Role,
    SlotKind,
)
from grimnir.store import NaiveDatetimeError, describe_integrity_error
from grimnir.store.models import (
    ApiKey,
    AsRun,
    AuditLog,
    Clock,
    ClockSlot,
    LiveSession,
    MediaItem,
    Membership,
    Mount,
    Output,
    Playlist,
    PlaylistItem,
    Station,
    TimelineEntry,
    User,
)
from grimnir.store.types import UTCDateTime

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _refused(sessions: Sessions, *rows: Any) -> IntegrityError:
    """Add ``rows`` in one transaction and return the IntegrityError the flush raises."""
    async with sessions() as session:
        session.add_all(rows)
        with pytest.raises(IntegrityError) as caught:
            await session.flush()
        await session.rollback()
    return caught.value


def _statement(sql: str, params: dict[str, Any]) -> sa.TextClause:
    """``sql`` with UUID and datetime parameters bound through the column types."""
    binds: list[sa.BindParameter[Any]] = []
    for name, value in params.items():
        if isinstance(value, datetime):
            binds.append(sa.bindparam(name, type_=UTCDateTime()))
        elif isinstance(value, uuid.UUID):
            binds.append(sa.bindparam(name, type_=sa.Uuid()))
    return sa.text(sql).bindparams(*binds)


async def _refused_sql(sessions: Sessions, sql: str, **params: Any) -> IntegrityError:
    """Run raw ``sql`` (bypassing the ORM's own checks) and return its IntegrityError."""
    async with sessions() as session:
        with pytest.raises(IntegrityError) as caught:
            await session.execute(_statement(sql, params), params)
        await session.rollback()
    return caught.value


def _media(station: Station, sha: str = "a" * 64) -> MediaItem:
    return MediaItem(station_id=station.id, sha256=sha, path=f"/music/{sha[:8]}.flac", size_bytes=1)


# unique


async def test_username_is_unique(sessions: Sessions) -> None:
    name = _unique("dj")
    async with sessions() as session, session.begin():
        session.add(User(username=name, password_hash="x"))
    error = await _refused(sessions, User(username=name, password_hash="y"))
    assert describe_integrity_error(error) == "a users row with the same username already exists"


async def test_media_hash_is_unique_per_station_only(sessions: Sessions, station: Station) -> None:
    other = Station(short_name=_unique("other"), name="Other")
    async with sessions() as session, session.begin():
        session.add_all([other, _media(station)])
        await session.flush()
        session.add(_media(other))  # the same file in another station's library is fine
    error = await _refused(sessions, _media(station))
    assert "station_id, sha256" in describe_integrity_error(error)


async def test_timeline_seq_is_unique_per_station(sessions: Sessions, station: Station) -> None:
    def entry(seq: int) -> TimelineEntry:
        return TimelineEntry(
            station_id=station.id,
            seq=seq,
            starts_at=T0,
            ends_at=T0 + timedelta(minutes=3),
            kind=EntryKind.TRACK,
        )

    async with sessions() as session, session.begin():
        session.add(entry(1))
    error = await _refused(sessions, entry(1))
    assert "station_id, seq" in describe_integrity_error(error)


async def test_membership_is_unique_per_user_and_station(
    sessions: Sessions, station: Station
) -> None:
    user = User(username=_unique("u"), password_hash="x")
    async with sessions() as session, session.begin():
        session.add(user)
        await session.flush()
        session.add(Membership(user_id=user.id, station_id=station.id, role=Role.DJ))
    await _refused(sessions, Membership(user_id=user.id, station_id=station.id, role=Role.MANAGER))


# foreign keys


async def test_foreign_keys_are_enforced(sessions: Sessions) -> None:
    error = await _refused(sessions, Mount(station_id=uuid.uuid4(), key="main", name="Main"))
    assert "missing" in describe_integrity_error(error)


# CHECK constraints


async def test_priority_must_be_on_the_ladder(sessions: Sessions, station: Station) -> None:
    sql = (
        "INSERT INTO priority_sources"
        " (id, station_id, priority, kind, params, active, activated_at)"
        " VALUES (:id, :station_id, :priority, 'live', '{}', :active, :at)"
    )
    params = {"id": uuid.uuid4(), "station_id": station.id, "active": True, "at": T0}
    error = await _refused_sql(sessions, sql, priority=5, **params)
    assert "priority_range" in describe_integrity_error(error)
    await _refused_sql(sessions, sql, priority=-1, **params)


@pytest.mark.parametrize(
    ("offset_ms", "duration_ms", "rule"),
    [
        (-1, 1_000, "offset_nonneg"),
        (0, 0, "duration_positive"),
        (3_000_000, 600_001, "within_hour"),
    ],
)
async def test_clock_slot_stays_inside_the_hour(
    sessions: Sessions, station: Station, offset_ms: int, duration_ms: int, rule: str
) -> None:
    clock = Clock(station_id=station.id, name=_unique("clock"))
    async with sessions() as session, session.begin():
        session.add(clock)
        session.add(
            ClockSlot(
                clock_id=clock.id,
                position=0,
                offset_ms=0,
                duration_ms=3_600_000,
                kind=SlotKind.LIVE,
            )
        )  # exactly the hour is allowed
    slot = ClockSlot(
        clock_id=clock.id,
        position=1,
        offset_ms=offset_ms,
        duration_ms=duration_ms,
        kind=SlotKind.STOPSET,
    )
    error = await _refused(sessions, slot)
    assert f"ck_clock_slots_{rule}" in describe_integrity_error(error)


async def test_entry_must_end_after_it_starts(sessions: Sessions, station: Station) -> None:
    entry = TimelineEntry(
        station_id=station.id, seq=99, starts_at=T0, ends_at=T0, kind=EntryKind.JINGLE
    )
    error = await _refused(sessions, entry)
    assert "ends_after_starts" in describe_integrity_error(error)


@pytest.mark.parametrize(
    ("table", "column", "sql"),
    [
        (
            "outputs",
            "kind",
            "INSERT INTO outputs (id, mount_id, position, kind, format, settings)"
            " VALUES (:id, :parent, 0, :bad, 'mp3', '{}')",
        ),
        (
            "outputs",
            "format",
            "INSERT INTO outputs (id, mount_id, position, kind, format, settings)"
            " VALUES (:id, :parent, 0, 'icecast', :bad, '{}')",
        ),
        (
            "memberships",
            "role",
            "INSERT INTO memberships (id, user_id, station_id, role, created_at, updated_at)"
            " VALUES (:id, :user, :parent_station, :bad, :at, :at)",
        ),
    ],
)
async def test_enum_columns_refuse_unknown_values(
    sessions: Sessions, station: Station, table: str, column: str, sql: str
) -> None:
    mount = Mount(station_id=station.id, key=_unique("m"), name="Main")
    user = User(username=_unique("u"), password_hash="x")
    async with sessions() as session, session.begin():
        session.add_all([mount, user])
    params: dict[str, Any] = {"id": uuid.uuid4(), "bad": "Superuser"}
    if table == "outputs":
        params["parent"] = mount.id
    else:
        params.update(user=user.id, parent_station=station.id, at=T0)
    error = await _refused_sql(sessions, sql, **params)
    assert f"ck_{table}_{column}" in describe_integrity_error(error)
    # and the valid spelling of the same row goes in
    params["bad"] = {"kind": "icecast", "format": "mp3", "role": "dj"}[column]
    async with sessions() as session, session.begin():
        await session.execute(_statement(sql, params), params)


async def test_not_null_columns_refuse_null(sessions: Sessions) -> None:
    await _refused(sessions, User(username=None, password_hash="x"))
    await _refused(sessions, Station(short_name=_unique("s"), name=None))


# datetimes


async def test_naive_datetimes_are_refused(sessions: Sessions, station: Station) -> None:
    naive = datetime(2025, 1, 1, 12, 0)  # noqa: DTZ001 — the point of the test
    async with sessions() as session:
        session.add(LiveSession(station_id=station.id, mount="/live", connected_at=naive))
        with pytest.raises(StatementError) as caught:
            await session.flush()
        await session.rollback()
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    assert "naive datetime 2025-01-01T12:00:00" in str(caught.value.orig)
    assert "datetime.now(UTC)" in str(caught.value.orig)
    async with sessions() as session:
        query = sa.select(TimelineEntry).where(TimelineEntry.starts_at > naive)
        with pytest.raises(StatementError, match="naive datetime"):
            await session.execute(query)


# cascades


async def test_deletes_cascade_or_clear_references(sessions: Sessions) -> None:
    station = Station(short_name=_unique("doomed"), name="Doomed FM")
    user = User(username=_unique("host"), password_hash="x")
    mount = Mount(station_id=station.id, key="main", name="Main")
    output = Output(mount_id=mount.id, position=0, kind=OutputKind.ICECAST, format=AudioFormat.MP3)
    media = _media(station)
    keep = _media(station, sha="b" * 64)
    playlist = Playlist(station_id=station.id, name="Rotation")
    item = PlaylistItem(playlist_id=playlist.id, position=0, media_id=media.id)
    entry = TimelineEntry(
        station_id=station.id,
        seq=1,
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=4),
        kind=EntryKind.TRACK,
        media_id=media.id,
    )
    aired = AsRun(
        station_id=station.id,
        timeline_entry_id=entry.id,
        media_id=media.id,
        title="Jóga",
        started_at=T0,
        ended_at=T0 + timedelta(minutes=4),
        end_reason=EndReason.FINISHED,
        priority=Priority.AUTOMATION,
    )
    live = LiveSession(station_id=station.id, user_id=user.id, mount="/live")
    membership = Membership(user_id=user.id, station_id=station.id, role=Role.DJ)
    key = ApiKey(user_id=user.id, name="ci", prefix=_unique("gk"), key_hash="h")
    audit = AuditLog(user_id=user.id, station_id=station.id, action="station.create")
    async with sessions() as session, session.begin():
        session.add_all([station, user])
        await session.flush()
        session.add_all([mount, media, keep, playlist])
        await session.flush()
        session.add_all([output, item, entry])
        await session.flush()
        session.add_all([aired, live, membership, key, audit])

    async def count(model: Any, *where: Any) -> int:
        async with sessions() as session:
            n = await session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
            return int(n or 0)

    async def delete(model: Any, row_id: Any) -> None:
        async with sessions() as session, session.begin():
            await session.execute(sa.delete(model).where(model.id == row_id))

    # media gone: playlist entries go with it, history keeps the row without the link
    await delete(MediaItem, media.id)
    assert await count(PlaylistItem, PlaylistItem.id == item.id) == 0
    assert await count(AsRun, AsRun.id == aired.id, AsRun.media_id.is_(None)) == 1
    assert (
        await count(TimelineEntry, TimelineEntry.id == entry.id, TimelineEntry.media_id.is_(None))
        == 1
    )

    await delete(TimelineEntry, entry.id)
    assert await count(AsRun, AsRun.id == aired.id, AsRun.timeline_entry_id.is_(None)) == 1

    # user gone: memberships and keys go, live history and audit stay anonymous
    await delete(User, user.id)
    assert await count(Membership, Membership.id == membership.id) == 0
    assert await count(ApiKey, ApiKey.id == key.id) == 0
    assert await count(LiveSession, LiveSession.id == live.id, LiveSession.user_id.is_(None)) == 1
    assert await count(AuditLog, AuditLog.id == audit.id, AuditLog.user_id.is_(None)) == 1

    # station gone: everything it owns goes; the audit log remembers, unlinked
    await delete(Station, station.id)
    for model in (Mount, MediaItem, Playlist, AsRun, LiveSession):
        assert await count(model, model.station_id == station.id) == 0, model.__name__
    assert await count(Output, Output.id == output.id) == 0
    assert await count(AuditLog, AuditLog.id == audit.id, AuditLog.station_id.is_(None)) == 1
