"""The import core (issue 19): a Snapshot planned (dry run), applied part by part
under an import id, applied again (nothing new), rolled back; on SQLite and
PostgreSQL, with real audio made by ffmpeg and real password hashes."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bcrypt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import ConflictError, MediaState, Role, ShowExceptionKind
from grimnir.importers import ImportReport, apply, list_imports, plan, rollback
from grimnir.importers.model import (
    Criterion,
    Media,
    Output,
    Playlist,
    PlaylistEntry,
    Schedule,
    Show,
    ShowInstance,
    SmartBlock,
    Snapshot,
    User,
    Webhook,
    Webstream,
)
from grimnir.planner.builder import simulate
from grimnir.services.authentication import sign_in
from grimnir.services.library import rules_clause
from grimnir.services.programming.playlists import playlist_items
from grimnir.store import create_engine
from grimnir.store.db import session_factory
from grimnir.store.models import (
    Clock,
    ClockSlot,
    Import,
    ImportRecord,
    MediaItem,
    Membership,
    Station,
)
from grimnir.store.models import (
    Playlist as PlaylistRow,
)
from grimnir.store.models import (
    Show as ShowRow,
)
from grimnir.store.models import (
    SmartBlock as SmartBlockRow,
)
from grimnir.store.models import (
    User as UserRow,
)
from grimnir.store.models import (
    Webstream as WebstreamRow,
)
from tests._databases import migrated_database
from tests._require import FFMPEG_PATH, require_peer

PASSWORD = "old secret 1234"
BACKENDS = ["sqlite", "postgresql"]


def tone(path: Path, hz: int, seconds: float = 2.0) -> Path:
    """A short MP3 sine made by ffmpeg."""
    require_peer("ffmpeg")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            FFMPEG_PATH,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={hz}:duration={seconds}",
            "-ac",
            "2",
            "-b:a",
            "128k",
            str(path),
        ],
        check=True,
    )
    return path


def django_pbkdf2(password: str, salt: str = "abcdefgh", iterations: int = 1000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


_AUDIO: dict[str, Path] = {}


def audio_files(folder: Path) -> dict[str, Path]:
    """Three tones, a copy of the first (same bytes) and a file that is no audio."""
    if not _AUDIO:
        cache = folder / "audio-cache"
        for name, hz in (("a", 440), ("b", 550), ("c", 660)):
            _AUDIO[name] = tone(cache / f"{name}.mp3", hz)
    out = folder / "backup"
    out.mkdir(parents=True, exist_ok=True)
    files = {name: Path(shutil.copy(path, out / f"{name}.mp3")) for name, path in _AUDIO.items()}
    files["a2"] = Path(shutil.copy(_AUDIO["a"], out / "a-copy.mp3"))
    broken = out / "broken.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 64 + b"this is not audio at all" * 40)
    files["broken"] = broken
    art = out / "cover.jpg"
    art.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files["art"] = art
    return files


def azuracast_snapshot(folder: Path) -> Snapshot:
    """A station as AzuraCast had it: every part the mapper knows."""
    f = audio_files(folder)
    fast_argon2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    return Snapshot(
        product="azuracast",
        source="backup.zip",
        schema_version="Version20240101000000",
        key="1",
        short_name="lost_fm",
        name="Lost FM",
        timezone="Europe/Oslo",
        description="Songs nobody found",
        outputs=[
            Output(
                key="1",
                name="Main MP3",
                kind="icecast",
                mount="/radio.mp3",
                bitrate_kbps=128,
                is_default=True,
            ),
            Output(
                key="r1",
                name="Relay",
                kind="icecast",
                mount="/relay",
                host="relay.example.org",
                port=8010,
                username="source",
                password="hackme",
                bitrate_kbps=130,
            ),
            Output(key="f1", name="Archive", kind="file"),
        ],
        media=[
            Media(
                key="10",
                file=f["a"],
                original_path="a.mp3",
                title="Alpha",
                artist="Ann",
                genre="Rock",
                cue_in_ms=100,
                cue_out_ms=1800,
                amplify_db=-2.5,
                custom={"mood_code": "x1"},
                artwork=f["art"],
                fade_in_ms=50,
                added_at=datetime(2019, 5, 1, 12, 0, tzinfo=UTC),
                last_played_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            ),
            Media(key="11", file=f["b"], original_path="b.mp3", title="Beta", artist="Bob"),
            Media(key="12", file=f["c"], original_path="c.mp3", title="Gamma", artist="Cid"),
            Media(key="13", file=f["a2"], original_path="dup/a.mp3", title="Alpha again"),
            Media(key="14", file=f["broken"], original_path="broken.mp3", title="Broken"),
            Media(key="15", file=None, original_path="lost.mp3", title="Lost Signal"),
        ],
        playlists=[
            Playlist(
                key="1",
                name="Rock",
                kind="default",
                order="sequential",
                weight=5,
                entries=[PlaylistEntry("10"), PlaylistEntry("11", weight=2.0)],
            ),
            Playlist(
                key="2",
                name="Pop",
                kind="default",
                order="shuffle",
                weight=1,
                entries=[PlaylistEntry("12"), PlaylistEntry("13"), PlaylistEntry("15")],
            ),
            Playlist(
                key="3",
                name="IDs",
                kind="once_per_n_songs",
                every=4,
                jingle=True,
                entries=[PlaylistEntry("11")],
            ),
            Playlist(
                key="4",
                name="Morning",
                kind="default",
                order="random",
                entries=[PlaylistEntry("12")],
                schedules=[
                    Schedule(
                        key="7",
                        start=time(6),
                        end=time(9),
                        days=[1, 2, 3, 4, 5],
                        start_date=date(2026, 1, 5),
                        end_date=date(2027, 6, 30),
                    )
                ],
            ),
            Playlist(
                key="5",
                name="Night",
                kind="default",
                entries=[PlaylistEntry("11")],
                schedules=[Schedule(key="8", start=time(23), end=time(2))],
            ),
        ],
        webstreams=[Webstream(key="1", name="Partner", url="http://partner.example.org/live")],
        users=[
            User(
                key="1",
                username="boss",
                email="boss@example.org",
                password_hash=bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4))
                .decode()
                .replace("$2b$", "$2y$", 1),
                role="admin",
            ),
            User(key="2", username="deejay", password_hash=fast_argon2, role="dj", streamer=True),
            User(key="3", username="nopass", role="manager"),
            User(key="5", username="django", password_hash="argon2" + fast_argon2),
            User(key="4", username="bad name!", password_hash=fast_argon2),
        ],
        webhooks=[
            Webhook(
                key="1", name="Tell Discord", kind="discord", url="https://discord.example/hook"
            )
        ],
    )


def libretime_snapshot(folder: Path) -> Snapshot:
    """A station as LibreTime had it: a weekly show with edited occurrences."""
    f = audio_files(folder)
    tz = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 2, 18, 0, tzinfo=tz)  # a Monday
    week = timedelta(days=7)
    return Snapshot(
        product="libretime",
        source="libretime.sql",
        schema_version="0040",
        key="libretime",
        short_name="wlt",
        name="WLT Radio",
        timezone="America/New_York",
        media=[
            Media(key="1", file=f["b"], original_path="b.mp3", title="Beta", genre="Jazz"),
            Media(key="2", file=f["a"], original_path="a.mp3", title="Alpha", genre="Rock"),
            Media(key="3", file=f["c"], original_path="c.mp3", title="Gamma", genre="Rock"),
        ],
        smart_blocks=[
            SmartBlock(
                key="sb1",
                name="Rock block",
                criteria=[Criterion("genre", "is", "Rock")],
                limit_kind="items",
                limit_value=2,
            ),
            SmartBlock(key="sb2", name="Fixed", static=True, contents=["3", "1"]),
        ],
        playlists=[
            Playlist(
                key="p1",
                name="Evening",
                kind="default",
                order="sequential",
                entries=[PlaylistEntry("1", cue_in_ms=100, cue_out_ms=1500, fade_out_ms=30)],
                block_keys=["b9"],
            )
        ],
        webstreams=[Webstream(key="w1", name="Relay", url="http://relay.example.org/s")],
        shows=[
            Show(
                key="s1",
                name="Evening Show",
                first_start=first,
                duration_ms=3_600_000,
                timezone="America/New_York",
                repeat="weekly",
                days=[1],
                until=date(2027, 3, 1),
                content_keys=["p1", "w1"],
                host_keys=["u1"],
                instances=[
                    ShowInstance(occurrence_start=(first + week).astimezone(UTC), cancelled=True),
                    ShowInstance(
                        occurrence_start=(first + 2 * week).astimezone(UTC),
                        new_start=(first + 2 * week + timedelta(hours=1)).astimezone(UTC),
                        new_duration_ms=1_800_000,
                    ),
                    ShowInstance(
                        occurrence_start=(first + 3 * week).astimezone(UTC), content_keys=["w1"]
                    ),
                ],
            ),
            Show(
                key="s3",
                name="Block hour",
                first_start=datetime(2026, 11, 3, 12, 0, tzinfo=tz),
                duration_ms=3_600_000,
                timezone="America/New_York",
                repeat="every_2_weeks",
                content_keys=["sb1"],
            ),
            Show(
                key="s4",
                name="Fixed hour",
                first_start=datetime(2026, 11, 10, 12, 0, tzinfo=tz),
                duration_ms=3_600_000,
                timezone="America/New_York",
                repeat="monthly_by_date",
                content_keys=["sb2"],
            ),
            Show(
                key="s2",
                name="Special",
                first_start=datetime(2026, 12, 24, 20, 0, tzinfo=ZoneInfo("Europe/Oslo")),
                duration_ms=7_200_000,
                timezone="Europe/Oslo",
                repeat="monthly_by_weekday",
                live=True,
            ),
        ],
        users=[User(key="u1", username="host", password_hash=django_pbkdf2(PASSWORD), role="dj")],
    )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path / "db") as url:
        yield url


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def run(
    snapshot: Snapshot, sessions: async_sessionmaker[AsyncSession], folder: Path
) -> ImportReport:
    return await apply(
        snapshot, sessions, media_dir=folder / "media", artwork_dir=folder / "artwork", workers=1
    )


def row(report: ImportReport, part: str, key: str) -> str:
    return next(r.action for r in report.rows if r.part == part and r.key == key)


async def test_dry_run_writes_nothing_and_reports_row_by_row(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    snapshot = azuracast_snapshot(tmp_path)
    async with sessions() as session:
        planned = await plan(snapshot, session)
    assert planned.short_name == "lost-fm"
    assert not planned.station_exists
    counts = planned.counts()
    assert counts["media"] == {"found": 6, "create": 4, "exists": 1, "skip": 1}
    assert counts["output"]["create"] == 2
    assert counts["output"]["skip"] == 1
    assert counts["user"] == {"found": 5, "create": 4, "exists": 0, "skip": 1}
    messages = [str(f) for f in planned.findings]
    assert "media row 'Lost Signal': file missing from the backup" in messages
    assert any(
        m.startswith("webhook row 'Tell Discord': Grimnir has no webhooks") for m in messages
    )
    assert any(
        m.startswith("user row 'nopass': no password that can be carried over")
        and "an administrator must set one for them" in m
        for m in messages
    )
    assert any(
        m.startswith("clock row 'default'") and "Rock 47 min (weight 5)" in m for m in messages
    )
    # the once-per playlist slips into the general rotation: a slot of the clock, no
    # "add it by hand"
    assert any(
        m.startswith("playlist row 'IDs'") and "1-min slot at :00 :15 :30 :45" in m
        for m in messages
    )
    assert not [m for m in messages if "add it to the 'default' clock" in m]
    assert planned.to_json()["counts"] == counts
    for model in (Station, MediaItem, UserRow, Import, ImportRecord):
        assert await count(sessions, model) == 0
    assert not (tmp_path / "media").exists()


async def test_every_mapping_then_idempotent_then_rollback(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    snapshot = azuracast_snapshot(tmp_path)
    events: list[tuple[str, int, int]] = []

    async def progress(part: str, done: int, total: int) -> None:
        events.append((part, done, total))

    report = await apply(
        snapshot,
        sessions,
        media_dir=tmp_path / "media",
        artwork_dir=tmp_path / "artwork",
        workers=1,
        progress=progress,
    )
    assert report.state == "done", report.parts
    assert ("media", 6, 6) in events
    assert ("station", 2 + 3 - 2, 4) not in events
    assert row(report, "media", "14") == "skipped"
    assert any(
        str(f).startswith("media row 'Broken': the file failed analysis") for f in report.findings
    )
    assert row(report, "media", "13") == "exists"
    async with sessions() as session:
        station = await session.scalar(select(Station).where(Station.short_name == "lost-fm"))
        assert station is not None
        assert (station.name, station.timezone, station.description) == (
            "Lost FM",
            "Europe/Oslo",
            "Songs nobody found",
        )
        outputs = [o for m in station.mounts for o in m.outputs]
        kinds = sorted(
            (o.kind.value, o.settings.get("path") or o.settings.get("url")) for o in outputs
        )
        assert kinds == [
            ("http", "/radio.mp3"),
            ("icecast", "icecast://source:hackme@relay.example.org:8010/relay"),
        ]
        items = {str(i.title): i for i in await session.scalars(select(MediaItem))}
        assert sorted(items) == ["Alpha", "Beta", "Gamma"]
        alpha = items["Alpha"]
        assert alpha.state is MediaState.READY
        assert alpha.duration_ms
        assert alpha.loudness_lufs is not None
        assert (alpha.artist, alpha.genre, alpha.cue_in_ms, alpha.cue_out_ms, alpha.gain_db) == (
            "Ann",
            "Rock",
            100,
            1800,
            -2.5,
        )
        assert alpha.custom_tags["mood_code"] == "x1"
        assert alpha.created_at == datetime(2019, 5, 1, 12, 0, tzinfo=UTC)
        assert alpha.last_played_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert alpha.artwork_path
        assert Path(alpha.artwork_path).is_file()
        assert Path(alpha.path).is_file()
        assert Path(alpha.path).is_relative_to(tmp_path / "media")
        records = {(r.part, r.foreign_key): r for r in await session.scalars(select(ImportRecord))}
        assert records[("media", "13")].row_id == alpha.id
        assert not records[("media", "13")].created

        lists = {p.name: p for p in await session.scalars(select(PlaylistRow))}
        assert not lists["Rock"].shuffle
        assert lists["Pop"].shuffle
        assert lists["Morning"].shuffle
        assert lists["IDs"].jingle
        assert lists["IDs"].rotation == {"type": "once_per_n_songs", "n": 4}
        rock = await playlist_items(session, lists["Rock"].id)
        assert [(m.title, i.overrides) for i, m in rock] == [
            ("Alpha", {"fade_in_ms": 50}),
            ("Beta", {"weight": 2.0}),
        ]
        pop = await playlist_items(session, lists["Pop"].id)
        assert [m.title for _, m in pop] == ["Gamma", "Alpha"]

        clock = await session.scalar(select(Clock).where(Clock.station_id == station.id))
        assert clock is not None
        assert clock.name == "default"
        slots = list(
            await session.scalars(
                select(ClockSlot)
                .where(ClockSlot.clock_id == clock.id)
                .order_by(ClockSlot.offset_ms)
            )
        )
        minute = 60_000
        assert [(s.name, s.offset_ms // minute, s.duration_ms // minute) for s in slots] == [
            ("IDs", 0, 1),
            ("Rock", 1, 14),
            ("IDs", 15, 1),
            ("Rock", 16, 14),
            ("IDs", 30, 1),
            ("Rock", 31, 14),
            ("IDs", 45, 1),
            ("Rock", 46, 5),
            ("Pop", 51, 9),
        ]

        shows = {s.name: s for s in await session.scalars(select(ShowRow))}
        morning = shows["Morning"]
        oslo = ZoneInfo("Europe/Oslo")
        assert morning.rrule == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20270630T215959Z"
        assert morning.dtstart.astimezone(oslo) == datetime(2026, 1, 5, 6, 0, tzinfo=oslo)
        assert morning.duration_ms == 3 * 3_600_000
        assert morning.playlist_id == lists["Morning"].id
        night = shows["Night"]
        assert (night.rrule, night.duration_ms) == ("FREQ=DAILY", 3 * 3_600_000)
        station_id, morning_list = station.id, lists["Morning"].id
        rock_id, pop_id, night_list = lists["Rock"].id, lists["Pop"].id, lists["Night"].id
        ids_list = lists["IDs"].id
        morning_show, night_show = morning.id, night.id

        stream = await session.scalar(select(WebstreamRow))
        assert stream is not None
        assert stream.urls == ["http://partner.example.org/live"]
        users = {u.username: u for u in await session.scalars(select(UserRow))}
        assert sorted(users) == ["boss", "deejay", "django", "nopass"]
        assert users["boss"].is_admin
        roles = {
            u: r for u, r in await session.execute(select(Membership.user_id, Membership.role))
        }
        assert roles[users["deejay"].id] == Role.DJ
        assert roles[users["nopass"].id] == Role.MANAGER
        imported = await session.get(Import, report.import_id)
        assert imported is not None
        assert imported.state == "done"
        assert imported.station_id == station.id
        assert imported.report["counts"]["media"]["created"] == 3

    # the planner puts it on air: the schedules at their local times, the general
    # rotation's clock in the hours between
    monday = datetime(2026, 3, 2, tzinfo=oslo)

    async def first_hour(hour: int) -> list[Any]:
        start = monday.replace(hour=hour).astimezone(UTC)
        built = await simulate(sessions, station_id, start, 1, now=start)
        return [e for e in built.entries if e.starts_at >= start]

    # NOTE: the tones are 2 s long: each slot starts with its playlist, and the
    # planner's default rotation fills the rest of it
    morning_hour = await first_hour(6)
    assert morning_hour[0].starts_at == monday.replace(hour=6)
    assert morning_hour[0].playlist_id == morning_list
    assert {e.show_id for e in morning_hour} == {morning_show}
    night_hour = await first_hour(23)
    assert (night_hour[0].playlist_id, night_hour[0].show_id) == (night_list, night_show)
    noon = await first_hour(12)
    # the once-per IDs' slot at :00 plays its one jingle, then Rock's share starts
    assert [e.playlist_id for e in noon[:2]] == [ids_list, rock_id]
    assert {e.show_id for e in noon} == {None}
    slot_names = {e.meta["slot"].split(" (")[0] for e in noon}
    assert slot_names == {"'Rock'", "'Pop'", "'IDs'"}
    assert {e.playlist_id for e in noon if e.meta["slot"].startswith("'Pop'")} >= {pop_id}

    before = {
        m.__name__: await count(sessions, m)
        for m in (MediaItem, PlaylistRow, ShowRow, UserRow, Clock)
    }
    again = await run(snapshot, sessions, tmp_path)
    assert again.state == "done"
    assert not [r for r in again.rows if r.action == "created"], [
        r for r in again.rows if r.action == "created"
    ]
    assert {
        m.__name__: await count(sessions, m)
        for m in (MediaItem, PlaylistRow, ShowRow, UserRow, Clock)
    } == before
    assert again.counts()["media"] == {"created": 0, "exists": 4, "skipped": 2, "failed": 0}

    stored = sorted(p for p in (tmp_path / "media").rglob("*") if p.is_file())
    assert len(stored) == 3
    removed = await rollback(sessions, report.import_id)
    assert removed["media_items"] == 3
    assert removed["stations"] == 1
    assert removed["users"] == 4
    for model in (Station, MediaItem, UserRow, PlaylistRow, ShowRow, ImportRecord):
        assert await count(sessions, model) == 0, model
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    with pytest.raises(ConflictError, match="rolled back already"):
        await rollback(sessions, report.import_id)
    async with sessions() as session:
        states = {i.id: i.state for i in await list_imports(session)}
    assert states[report.import_id] == "rolled_back"


async def test_rollback_keeps_what_was_there_before(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    snapshot = azuracast_snapshot(tmp_path)
    snapshot.media, snapshot.playlists, snapshot.users = snapshot.media[:2], [], []
    first = await run(snapshot, sessions, tmp_path)
    bigger = azuracast_snapshot(tmp_path)
    bigger.playlists, bigger.users = [], []
    second = await run(bigger, sessions, tmp_path)
    assert row(second, "station", "1") == "exists"
    assert row(second, "media", "12") == "created"
    await rollback(sessions, second.import_id)
    async with sessions() as session:
        titles = sorted(str(t) for t in await session.scalars(select(MediaItem.title)))
    assert titles == ["Alpha", "Beta"]
    assert await count(sessions, Station) == 1
    await rollback(sessions, first.import_id)
    assert await count(sessions, Station) == 0


async def test_a_failing_part_is_rolled_back_alone(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    snapshot = azuracast_snapshot(tmp_path)
    snapshot.users = []
    # NOTE: a show of no length passes the mapper and is refused by the database's check
    good = Show(
        key="ok",
        name="Fine",
        first_start=datetime(2026, 1, 1, 9, tzinfo=UTC),
        duration_ms=60_000,
        timezone="UTC",
    )
    bad = Show(
        key="bad",
        name="Zero",
        first_start=datetime(2026, 1, 1, 10, tzinfo=UTC),
        duration_ms=0,
        timezone="UTC",
    )
    snapshot.shows = [good, bad]
    report = await run(snapshot, sessions, tmp_path)
    assert report.state == "partial"
    assert report.parts["show"]["state"] == "failed"
    assert "the show part failed and was rolled back" in report.parts["show"]["error"]
    assert row(report, "show", "ok") == "failed"
    assert row(report, "show", "bad") == "failed"
    async with sessions() as session:
        names = sorted(await session.scalars(select(ShowRow.name)))
    assert names == ["Morning", "Night"]
    assert report.parts["playlist"]["state"] == "done"
    assert await count(sessions, PlaylistRow) == 5
    assert await count(sessions, WebstreamRow) == 1
    again = await run(snapshot, sessions, tmp_path)
    assert row(again, "show", "ok") == "failed"
    assert row(again, "playlist", "1") == "exists"


async def test_libretime_shows_exceptions_and_hashes(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    report = await run(libretime_snapshot(tmp_path), sessions, tmp_path)
    assert report.state == "done", report.parts
    async with sessions() as session:
        shows = {s.name: s for s in await session.scalars(select(ShowRow))}
        evening, special = shows["Evening Show"], shows["Special"]
        assert evening.rrule == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270302T045959Z"
        assert evening.content.value == "playlist"
        assert evening.host_user_id is not None
        from grimnir.services.programming.shows import show_with_exceptions

        full = await show_with_exceptions(session, evening.id)
        kinds = [(e.kind, e.new_duration_ms, e.substitute.get("content")) for e in full.exceptions]
        assert kinds == [
            (ShowExceptionKind.CANCEL, None, None),
            (ShowExceptionKind.MOVE, 1_800_000, None),
            (ShowExceptionKind.SUBSTITUTE, None, "webstream"),
        ]
        assert special.content.value == "live"
        assert special.rrule == "FREQ=MONTHLY;BYDAY=4TH"
        block = await session.scalar(
            select(SmartBlockRow).where(SmartBlockRow.name == "Rock block")
        )
        assert block is not None
        assert shows["Block hour"].smart_block_id == block.id
        assert shows["Block hour"].rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
        assert block.rules["limit"] == {"items": 2}
        rules = json.dumps({"groups": block.rules["groups"]})
        picked = await session.scalars(
            select(MediaItem.title).where(rules_clause(rules, datetime.now(UTC)))
        )
        assert sorted(str(t) for t in picked) == ["Alpha", "Gamma"]
        fixed = await session.scalar(select(PlaylistRow).where(PlaylistRow.name == "Fixed"))
        assert fixed is not None
        assert shows["Fixed hour"].playlist_id == fixed.id
        assert shows["Fixed hour"].rrule == "FREQ=MONTHLY;BYMONTHDAY=10"
        fixed_items = await playlist_items(session, fixed.id)
        assert [m.title for _, m in fixed_items] == ["Gamma", "Beta"]
        evening_list = await session.scalar(
            select(PlaylistRow).where(PlaylistRow.name == "Evening")
        )
        assert evening_list is not None
        entries = await playlist_items(session, evening_list.id)
        assert [i.overrides for i, _ in entries] == [
            {"cue_in_ms": 100, "cue_out_ms": 1500, "fade_out_ms": 30}
        ]
        ny = ZoneInfo("America/New_York")
        assert special.dtstart.astimezone(ny).hour == 14
    messages = [str(f) for f in report.findings]
    assert any("show row 'Special': repeats in Europe/Oslo" in m for m in messages)
    assert any("show row 'Evening Show': is filled by 2" in m for m in messages)
    assert any("playlist row 'Evening': holds 1 smart block(s)" in m for m in messages)
    assert any(m.startswith("smart_block row 'Fixed': a static block") for m in messages)

    async with sessions() as session, session.begin():
        assert await sign_in(session, "host", "wrong password") is None
        user = await sign_in(session, "host", PASSWORD)
        assert user is not None
    async with sessions() as session:
        stored = await session.scalar(
            select(UserRow.password_hash).where(UserRow.username == "host")
        )
    assert stored is not None
    assert stored.startswith("$argon2id$")


async def test_imported_bcrypt_and_argon2_sign_in_and_are_rehashed(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    snapshot = azuracast_snapshot(tmp_path)
    snapshot.media, snapshot.playlists = [], []
    await run(snapshot, sessions, tmp_path)
    async with sessions() as session:
        before = {
            n: h for n, h in await session.execute(select(UserRow.username, UserRow.password_hash))
        }
    assert before["boss"].startswith("$2y$")
    assert before["nopass"] == "!no-password"
    for name in ("boss", "deejay", "django"):
        async with sessions() as session, session.begin():
            assert await sign_in(session, name, PASSWORD) is not None
        async with sessions() as session:
            after = await session.scalar(
                select(UserRow.password_hash).where(UserRow.username == name)
            )
        assert after is not None
        assert after != before[name]
        assert after.startswith("$argon2id$v=19$m=65536")
        async with sessions() as session, session.begin():
            assert await sign_in(session, name, PASSWORD) is not None
    async with sessions() as session, session.begin():
        assert await sign_in(session, "nopass", "") is None
        assert await sign_in(session, "nopass", "!no-password") is None


def test_unknown_import_id_is_a_clear_error(tmp_path: Path) -> None:
    from tests._databases import run_async

    with migrated_database("sqlite", tmp_path / "db") as url:

        async def go() -> None:
            engine = create_engine(url)
            try:
                with pytest.raises(Exception, match=r"no import .*grimnir import list"):
                    await rollback(session_factory(engine), uuid.uuid4())
            finally:
                await engine.dispose()

        run_async(go)
