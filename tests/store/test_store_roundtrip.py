"""Every model survives a trip through every database unchanged.

Each model is filled in completely (every column, none left to its default),
stored, then read back in a fresh session and compared column by column:
aware datetimes with microseconds, JSON, binary, enums and Unicode included.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import EntryKind, Priority
from grimnir.store.models import (
    ApiKey,
    AsRun,
    AuditLog,
    Base,
    Clock,
    ClockSlot,
    ClusterNodeRecord,
    EasAiring,
    EasAlert,
    ExecutorStateRecord,
    Import,
    ImportRecord,
    LeaseRecord,
    LiveSession,
    LiveToken,
    MediaItem,
    Membership,
    Mount,
    Output,
    Playlist,
    PlaylistItem,
    PrioritySource,
    RefreshToken,
    Show,
    ShowException,
    SmartBlock,
    Station,
    TimelineEntry,
    User,
    Webstream,
    metadata,
)
from grimnir.store.types import PriorityType, UTCDateTime

UNICODE = "Björk – Jóga 🎵"
# An aware time in a non-UTC zone, with microseconds, on the night Europe goes to summer time.
BASE_TIME = datetime(
    2024, 3, 31, 1, 59, 58, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))
)
WAVEFORM = bytes(range(256)) * 300  # > 64 KiB: too big for MariaDB's plain BLOB


class Filler:
    """Makes fully populated model instances with a distinct value per column."""

    def __init__(self) -> None:
        self.n = 0

    def value(self, column: sa.Column[Any]) -> Any:
        self.n += 1
        n = self.n
        t = column.type
        if isinstance(t, UTCDateTime):
            return BASE_TIME + timedelta(hours=n, microseconds=n)
        if isinstance(t, PriorityType):
            return Priority.LIVE_SCHEDULED
        if isinstance(t, sa.Enum):
            assert t.enum_class is not None
            return list(t.enum_class)[-1]  # the last member is never the default
        if isinstance(t, sa.Boolean):
            default = getattr(column.default, "arg", False)
            return not default
        if isinstance(t, sa.Uuid):
            return uuid.uuid4()
        if isinstance(t, sa.JSON):
            return {"title": UNICODE, "n": n, "list": [1, 2.5, None, True], "nested": {"k": [n]}}
        if isinstance(t, sa.LargeBinary):
            return WAVEFORM
        if isinstance(t, sa.Double):
            return n + 0.25
        if isinstance(t, sa.Integer):
            return 1_000 + n
        if isinstance(t, sa.String):
            text = f"{UNICODE} {column.name} {n}"
            return text[: t.length] if t.length else text * 40
        raise AssertionError(f"no sample value for {column} of type {t!r}")

    def make(self, model: type[Base], **overrides: Any) -> Any:
        values: dict[str, Any] = {}
        for attr in inspect(model).column_attrs:
            column = attr.columns[0]
            assert isinstance(column, sa.Column)  # a mapped table column, no expression
            if attr.key in overrides:
                values[attr.key] = overrides[attr.key]
            elif column.primary_key and isinstance(column.type, sa.Integer):
                continue  # autoincrement: the database numbers it
            else:
                values[attr.key] = self.value(column)
        return model(**values)


def _columns(obj: Base) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).column_attrs}


def _table_name(model: type[Base]) -> str:
    table = inspect(model).local_table
    assert isinstance(table, sa.Table)
    return table.name


def _build(f: Filler) -> list[Base]:
    """One fully populated row of every model, parents first."""
    user = f.make(User)
    station = f.make(Station)
    mount = f.make(Mount, station_id=station.id)
    output = f.make(Output, mount_id=mount.id, position=0)
    webstream = f.make(Webstream, station_id=station.id, urls=["https://a.example/x", UNICODE])
    media = f.make(MediaItem, station_id=station.id, cue_in_ms=250, cue_out_ms=180_000)
    playlist = f.make(Playlist, station_id=station.id)
    item = f.make(PlaylistItem, playlist_id=playlist.id, media_id=media.id, position=3)
    fallback = f.make(SmartBlock, station_id=station.id, fallback_block_id=None)
    block = f.make(SmartBlock, station_id=station.id, fallback_block_id=fallback.id)
    clock = f.make(Clock, station_id=station.id)
    show = f.make(
        Show,
        station_id=station.id,
        host_user_id=user.id,
        clock_id=clock.id,
        playlist_id=playlist.id,
        smart_block_id=block.id,
        webstream_id=webstream.id,
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8",
    )
    exception = f.make(ShowException, show_id=show.id)
    slot = f.make(
        ClockSlot,
        clock_id=clock.id,
        offset_ms=600_000,
        duration_ms=3_000_000,
        smart_block_id=block.id,
        playlist_id=playlist.id,
        media_id=media.id,
        webstream_id=webstream.id,
    )
    entry = f.make(
        TimelineEntry,
        station_id=station.id,
        starts_at=BASE_TIME,
        ends_at=BASE_TIME + timedelta(minutes=3, microseconds=7),
        media_id=media.id,
        webstream_id=webstream.id,
        playlist_id=playlist.id,
        smart_block_id=block.id,
        show_id=show.id,
        seq=2**40,  # beyond 32 bits
        gain_db=-3.5,
    )
    imported = f.make(Import, station_id=station.id, report={"counts": {"media": {"created": 1}}})
    alert = f.make(EasAlert, station_id=station.id, original=b"<alert>\x00\xff</alert>")
    return [
        user,
        station,
        imported,
        f.make(ImportRecord, import_id=imported.id, row_id=media.id),
        f.make(Membership, user_id=user.id, station_id=station.id),
        f.make(ApiKey, user_id=user.id, scopes=["stations:read", "media:write"]),
        f.make(AuditLog, user_id=user.id, station_id=station.id),
        f.make(RefreshToken, user_id=user.id, family=station.id),
        f.make(LiveToken, station_id=station.id, user_id=user.id),
        mount,
        output,
        webstream,
        media,
        playlist,
        item,
        fallback,
        block,
        clock,
        slot,
        show,
        exception,
        entry,
        f.make(
            AsRun,
            station_id=station.id,
            timeline_entry_id=entry.id,
            media_id=media.id,
            priority=Priority.EMERGENCY,
        ),
        f.make(LiveSession, station_id=station.id, user_id=user.id),
        f.make(PrioritySource, station_id=station.id, priority=Priority.FALLBACK),
        f.make(ExecutorStateRecord, station_id=station.id, current_entry_id=entry.id),
        alert,
        f.make(EasAiring, alert_id=alert.id, station_id=station.id, outputs=[{"mount": "m"}]),
        f.make(ClusterNodeRecord),
        f.make(LeaseRecord),
    ]


async def test_every_model_round_trips(sessions: async_sessionmaker[AsyncSession]) -> None:
    rows = _build(Filler())
    fallback = next(r for r in rows if isinstance(r, SmartBlock) and r.fallback_block_id is None)
    rows_needing_value = [r for r in rows if r is not fallback]
    async with sessions() as session, session.begin():
        for row in rows:
            session.add(row)
            await session.flush()  # one at a time: self-references need their target first
    fallback_expected = _columns(fallback)
    fallback_expected["fallback_block_id"] = None

    assert {_table_name(type(r)) for r in rows} == set(metadata.tables)
    for row in rows_needing_value:
        empty = [k for k, v in _columns(row).items() if v is None]
        assert empty == [], f"{type(row).__name__} left {empty} unset"

    async with sessions() as session:
        for row in rows:
            expected = fallback_expected if row is fallback else _columns(row)
            model = type(row)
            key = inspect(row).identity
            assert key is not None
            session.expunge_all()
            loaded = await session.get(model, key)
            assert loaded is not None, f"{model.__name__} {key} not found"
            got = _columns(loaded)
            for name, value in expected.items():
                assert got[name] == value, f"{model.__name__}.{name}: {got[name]!r} != {value!r}"
                # NOTE: isinstance, not type identity: asyncpg returns its own uuid.UUID subclass
                assert isinstance(got[name], type(value)), f"{model.__name__}.{name} changed type"
                if isinstance(value, datetime):
                    assert got[name].tzinfo is UTC, f"{model.__name__}.{name} is not UTC"


async def test_datetimes_come_back_in_utc(
    sessions: async_sessionmaker[AsyncSession], station: Station
) -> None:
    local = datetime(2024, 10, 27, 2, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=-7)))
    async with sessions() as session, session.begin():
        entry = TimelineEntry(
            station_id=station.id,
            seq=1,
            starts_at=local,
            ends_at=local + timedelta(microseconds=1),
            kind=EntryKind.TRACK,
        )
        session.add(entry)
    async with sessions() as session:
        loaded = await session.get(TimelineEntry, entry.id)
        assert loaded is not None
        assert loaded.starts_at == local
        assert loaded.starts_at.tzinfo is UTC
        assert loaded.starts_at.isoformat() == "2024-10-27T09:30:00.999999+00:00"
        assert loaded.ends_at - loaded.starts_at == timedelta(microseconds=1)
        # a comparison in SQL sees the same instant, whatever zone the bound value has
        found = await session.scalar(
            sa.select(sa.func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.station_id == station.id, TimelineEntry.starts_at == local)
        )
        assert found == 1
