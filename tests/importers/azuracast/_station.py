"""The fixture stations of an AzuraCast backup, as SQL for AzuraCast's schema.

Two stations: ``grimnir_fm`` (America/Chicago) with mounts, a remote relay, eight
media rows (tags, cue points, fades, amplification, custom fields, album art, one
file left out of the zip, two rows with identical audio), a playlist of every
type and order, schedules (one over midnight, one with days and a date range), a
streamer, users with roles and permissions, webhooks; and ``night_owl``
(Europe/Berlin) with one of each, for the station filter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher

STREAMER_PASSWORD = "marla-live-2026"
USER_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Track:
    """One ``station_media`` row of the main station and where its audio comes from."""

    id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    length: float
    tone_hz: int | None
    """The sine the file plays; None: the file is left out of the zip."""
    extra: dict[str, float] | None = None
    isrc: str | None = None
    art: bool = False


# fmt: off
TRACKS = [
    Track(1, "Prairie Dawn.mp3", "Prairie Dawn", "The Open Fields", "Big Sky", "Folk", 3.0, 220,
          {"cue_in": 0.25, "cue_out": 2.75, "fade_in": 0.5, "fade_out": 1.25, "amplify": -1.5},
          isrc="USGR12600001", art=True),
    Track(2, "archive/Lost Signal.mp3", "Lost Signal", "Static Hearts", None, "Ambient", 3.0, None),
    Track(3, "night/Night Train.mp3", "Night Train", "Rail & Rye", "Late Lines", "Blues", 3.0, 330),
    Track(4, "night/Night Train (copy).mp3", "Night Train", "Rail & Rye", "Late Lines", "Blues",
          3.0, 330),
    Track(5, "jingles/Station ID.mp3", "Station ID", "Grimnir FM", None, None, 2.0, 880,
          {"fade_out": 0.2}),
    Track(6, "Rock 'n' Roll \\ Revival.mp3", "Rock 'n' Roll \\ Revival", 'The "Quoted" Band',
          "B-Sides;\nand more", "Rock", 3.0, 440, {"amplify": 2.0, "cross_start_next": 2.5}),
    Track(7, "Café Nocturne.mp3", "Café Nocturne", "Zoë Ångström", "Nuit", "Jazz", 3.0, 550),
    Track(8, "untagged_take_3.mp3", None, None, None, None, 3.0, 660),
]
"""The main station's media; track 4 gets track 3's bytes, track 2 no file."""
# fmt: on
NIGHT_OWL_TRACK = Track(9, "Owl Hoot.mp3", "Owl Hoot", "Night Owl", None, None, 2.0, 990)


def q(value: object) -> str:
    """``value`` as a MariaDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{text}'"


def insert(table: str, **row: object) -> str:
    cols = ", ".join(f"`{c}`" for c in row)
    values = ", ".join(q(v) for v in row.values())
    return f"INSERT INTO `{table}` ({cols}) VALUES ({values});\n"  # noqa: S608 (values quoted by q)


def unique_id(n: int) -> str:
    return f"{n:024x}"


def station_sql(
    sid: int, short: str, name: str, tz: str, description: str | None, locs: tuple[int, int, int]
) -> str:
    base = f"/var/azuracast/stations/{short}"
    sql = "".join(
        insert(
            "storage_location",
            id=lid,
            type=kind,
            adapter="local",
            path=f"{base}/{sub}",
            s3_version="latest",
            storage_used=0,
        )
        for lid, kind, sub in zip(
            locs,
            ("station_media", "station_recordings", "station_podcasts"),
            ("media", "recordings", "podcasts"),
            strict=True,
        )
    )
    return sql + insert(
        "station",
        id=sid,
        name=name,
        short_name=short,
        frontend_type="icecast",
        backend_type="liquidsoap",
        description=description,
        radio_base_dir=base,
        timezone=tz,
        frontend_config={
            "source_pw": f"{short}-source",
            "admin_pw": "hackme",
            "relay_pw": "relay",
            "streamer_pw": "stream",
            "port": 8000 + sid * 10,
            "max_listeners": 250,
        },
        backend_config={"crossfade_type": "normal", "crossfade": 2, "record_streams": False},
        is_enabled=True,
        enable_public_page=True,
        enable_public_api=True,
        enable_streamers=True,
        api_history_items=5,
        media_storage_location_id=locs[0],
        recordings_storage_location_id=locs[1],
        podcasts_storage_location_id=locs[2],
        branding_config={"default_album_art_url": None},
    )


def media_sql(t: Track, location: int, mtime: int) -> str:
    return insert(
        "station_media",
        id=t.id,
        song_id=f"{t.id:032x}",
        title=t.title,
        artist=t.artist,
        album=t.album,
        genre=t.genre,
        isrc=t.isrc,
        length=t.length,
        path=t.path,
        mtime=mtime,
        uploaded_at=mtime,
        unique_id=unique_id(t.id),
        art_updated_at=mtime if t.art else 0,
        text=f"{t.artist} - {t.title}" if t.title else None,
        storage_location_id=location,
        extra_metadata=t.extra,
    )


def fixture_sql(tracks: list[Track], migration: str) -> str:
    """Both stations and everything around them, as INSERT statements; ``migration``
    is the newest migration the schema has (``Version20260807193430``)."""
    mtime = 1_780_000_000
    s = "SET FOREIGN_KEY_CHECKS=0;\nSET SESSION sql_mode='';\n"
    s += insert(
        "app_migrations",
        version="App\\Entity\\Migration\\" + migration,
        executed_at="2026-08-08 12:00:00",
        execution_time=42,
    )
    s += insert(
        "storage_location",
        id=1,
        type="backup",
        adapter="local",
        path="/var/azuracast/backups",
        s3_version="latest",
    )
    s += station_sql(
        1,
        "grimnir_fm",
        "Grimnir FM",
        "America/Chicago",
        "Community radio from the river's bend.\nFolk, blues & jazz.",
        (2, 3, 4),
    )
    s += station_sql(2, "night_owl", "Night Owl Radio", "Europe/Berlin", None, (5, 6, 7))
    # outputs
    s += insert(
        "station_mounts",
        id=1,
        station_id=1,
        name="/radio.mp3",
        display_name="MP3 128",
        is_default=True,
        is_public=True,
        enable_autodj=True,
        autodj_format="mp3",
        autodj_bitrate=128,
        is_visible_on_public_pages=True,
    )
    s += insert(
        "station_mounts",
        id=2,
        station_id=1,
        name="/mobile.aac",
        display_name="AAC 64",
        is_default=False,
        is_public=False,
        enable_autodj=True,
        autodj_format="aac",
        autodj_bitrate=64,
        is_visible_on_public_pages=True,
    )
    s += insert(
        "station_mounts",
        id=3,
        station_id=2,
        name="/owl.ogg",
        display_name="Owl OGG",
        is_default=True,
        is_public=True,
        enable_autodj=True,
        autodj_format="ogg",
        autodj_bitrate=96,
        is_visible_on_public_pages=True,
    )
    s += insert(
        "station_remotes",
        id=1,
        station_id=1,
        type="icecast",
        enable_autodj=True,
        autodj_format="mp3",
        autodj_bitrate=192,
        url="http://relay.example.org:8000",
        mount="/grimnir.mp3",
        source_username="source",
        source_password="relay-secret",
        source_port=8010,
        source_mount="/grimnir.mp3",
        is_public=True,
        display_name="Example relay",
        is_visible_on_public_pages=True,
    )
    # media and custom fields
    s += insert("custom_field", id=1, name="Mood", short_name="mood")
    s += insert("custom_field", id=2, name="Record Label", short_name="record_label")
    for t in tracks:
        s += media_sql(t, 2, mtime)
    s += media_sql(NIGHT_OWL_TRACK, 5, mtime)
    s += insert("station_media_custom_field", id=1, media_id=1, field_id=1, field_value="Bright")
    s += insert(
        "station_media_custom_field", id=2, media_id=1, field_id=2, field_value="Prairie Records"
    )
    s += insert("station_media_custom_field", id=3, media_id=7, field_id=1, field_value="Smoky")
    # playlists
    playlists: list[tuple[int, str, str, str, dict[str, object]]] = [
        (1, "Daytime Rotation", "default", "shuffle", {"weight": 5}),
        (
            2,
            "Jingles every 4",
            "once_per_x_songs",
            "random",
            {"play_per_songs": 4, "is_jingle": True},
        ),
        (3, "Half-hourly Features", "once_per_x_minutes", "sequential", {"play_per_minutes": 30}),
        (4, "Top of the Hour", "once_per_hour", "sequential", {"play_per_hour_minute": 5}),
        (5, "Late Night Blues", "default", "sequential", {"description": "After ten."}),
        (6, "Weekend Special", "default", "random", {}),
        (
            7,
            "Partner Stream",
            "default",
            "shuffle",
            {
                "source": "remote_url",
                "remote_url": "https://partner.example.org/live.mp3",
                "remote_type": "stream",
            },
        ),
        (8, "Disabled Oldies", "custom", "shuffle", {"is_enabled": False}),
        (9, "Owl Mix", "default", "shuffle", {"station_id": 2}),
    ]
    for pid, name, kind, order, extra in playlists:
        row: dict[str, object] = {
            "id": pid,
            "station_id": 1,
            "name": name,
            "type": kind,
            "playback_order": order,
            "is_enabled": True,
            "weight": 3,
            "source": "songs",
            "include_in_requests": True,
            "avoid_duplicates": True,
        }
        row.update(extra)
        s += insert("station_playlists", **row)
    daytime = [t.id for t in tracks if t.id not in (2, 5)]
    entries = [(1, m, w) for w, m in enumerate(daytime)] + [(2, 5, 0)]
    entries += [(3, 7, 0), (3, 6, 1), (4, 1, 0), (5, 4, 2), (5, 3, 0), (5, 2, 1), (6, 6, 0)]
    entries += [(9, NIGHT_OWL_TRACK.id, 0)]
    for n, (pid, mid, weight) in enumerate(entries, start=1):
        s += insert(
            "station_playlist_media",
            id=n,
            playlist_id=pid,
            media_id=mid,
            weight=weight,
            last_played=0,
            is_queued=True,
        )
    s += insert(
        "station_schedules",
        id=1,
        playlist_id=5,
        start_time=2200,
        end_time=200,
        days=None,
        loop_once=False,
    )
    s += insert(
        "station_schedules",
        id=2,
        playlist_id=6,
        start_time=930,
        end_time=1200,
        days="6,7",
        start_date="2026-12-01",
        end_date="2027-01-31",
        loop_once=True,
    )
    s += insert(
        "station_schedules",
        id=3,
        streamer_id=1,
        start_time=1800,
        end_time=2000,
        days="5",
        loop_once=False,
    )
    # people
    streamer_hash = bcrypt.hashpw(STREAMER_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    s += insert(
        "station_streamers",
        id=1,
        station_id=1,
        streamer_username="dj_marla",
        streamer_password="$2y$" + streamer_hash[4:],
        display_name="DJ Marla",
        comments="Fridays",
        is_active=True,
        enforce_schedule=True,
        art_updated_at=0,
    )
    argon = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(USER_PASSWORD)
    user_bcrypt = "$2y$" + bcrypt.hashpw(USER_PASSWORD.encode(), bcrypt.gensalt(4)).decode()[4:]
    users = [
        (1, "admin@example.org", "Ada Admin", argon),
        (2, "manager@example.org", "Manny Manager", user_bcrypt),
        (3, "dj@example.org", "Dee Jay", argon),
        (4, "owl@example.org", "Olive Owl", user_bcrypt),
    ]
    for uid, email, name, pw in users:
        s += insert(
            "users",
            id=uid,
            email=email,
            name=name,
            auth_password=pw,
            created_at=mtime,
            updated_at=mtime,
        )
    roles = [
        (1, "Super Administrator"),
        (2, "Grimnir Managers"),
        (3, "Media Helpers"),
        (4, "Owl Crew"),
    ]
    for rid, name in roles:
        s += insert("role", id=rid, name=name)
    perms = [
        (1, None, "administer all"),
        (2, 1, "administer all"),
        (3, 1, "view station management"),
        (3, 1, "manage station media"),
        (4, 2, "manage station broadcasting"),
    ]
    for n, (rid, sid, action) in enumerate(perms, start=1):
        s += insert("role_permissions", id=n, role_id=rid, station_id=sid, action_name=action)
    for uid, rid in [(1, 1), (2, 2), (3, 3), (4, 4)]:
        s += insert("user_has_role", user_id=uid, role_id=rid)
    # webhooks
    s += insert(
        "station_webhooks",
        id=1,
        station_id=1,
        name="Now playing to CMS",
        type="generic",
        is_enabled=True,
        triggers=["song_changed", "live_connect"],
        config={
            "webhook_url": "https://cms.example.org/hooks/np",
            "basic_auth_username": "cms",
            "basic_auth_password": "s3cret",
            "timeout": 5,
        },
        metadata={"last_message_sent": 1_780_000_100},
    )
    s += insert(
        "station_webhooks",
        id=2,
        station_id=1,
        name="TuneIn",
        type="tunein",
        is_enabled=False,
        triggers=["song_changed"],
        config={"station_id": "s12345", "partner_id": "p1", "partner_key": "k"},
    )
    return s + "SET FOREIGN_KEY_CHECKS=1;\n"


def generated_tracks(size: int) -> list[Track]:
    """``size`` plain tracks (ids from 101) for a benchmark-sized station."""
    return [
        Track(
            100 + n,
            f"library/{n // 100:02d}/Track {n:05d}.mp3",
            f"Track {n:05d}",
            f"Artist {n % 37:02d}",
            f"Album {n % 91:02d}",
            "Pop",
            2.0,
            1000,
        )
        for n in range(1, size + 1)
    ]
