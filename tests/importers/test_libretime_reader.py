"""The LibreTime reader on a backup made from LibreTime's real schema
(``tests/importers/libretime``): every mapped field, the live-database path, the
``--inserts`` dump, and each kind of bad input with its message."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grimnir.importers import BackupError, Finding
from grimnir.importers.libretime import read_database, read_dump
from grimnir.importers.model import (
    PlaylistItem,
    ScheduledItem,
    ShowInstance,
    Snapshot,
)
from tests.importers.libretime._backup import Backup, backup
from tests.importers.libretime._station import COMMENT, PASSWORDS
from tests.importers.libretime.make_dump import PG_DUMP

__all__ = ["backup"]

pytestmark = pytest.mark.postgres
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def snap(backup: Backup) -> Snapshot:
    return read_dump(backup.dump, backup.storage, config=backup.config)


def _media(snap: Snapshot, key: str):  # type: ignore[no-untyped-def]
    return next(m for m in snap.media if m.key == key)


def test_station(snap: Snapshot) -> None:
    assert (snap.product, snap.key, snap.schema_version) == ("libretime", "1", "46")
    assert (snap.name, snap.short_name) == ("Radio Nordlicht", "radio_nordlicht")
    assert (snap.timezone, snap.description) == ("Europe/Berlin", "Community radio from Kiel")
    assert snap.source == "libretime.sql"
    assert snap.webhooks == []


def test_outputs_come_from_config_yml(snap: Snapshot) -> None:
    main, relay, shoutcast = snap.outputs
    assert (main.key, main.kind, main.mount, main.format, main.bitrate_kbps) == (
        "icecast:0", "icecast", "/main", "mp3", 128,
    )  # fmt: skip
    assert (main.host, main.port, main.username, main.password) == (None, 8000, "source", "hackme")
    assert main.is_default
    assert main.name == "Radio Nordlicht"
    assert (relay.host, relay.port, relay.mount, relay.format, relay.bitrate_kbps) == (
        "relay.example.net", 8010, "/nordlicht.ogg", "ogg", 96,
    )  # fmt: skip
    assert (relay.username, relay.password, relay.is_default) == ("relay", "relay-secret", False)
    assert (shoutcast.kind, shoutcast.mount, shoutcast.host, shoutcast.format) == (
        "shoutcast", None, "sc.example.net", "aac",
    )  # fmt: skip
    assert Finding(
        "output", "icecast 2 (/main-low)", "disabled in LibreTime; not carried over"
    ) in (snap.findings)
    assert any(f.part == "output" and f.name == "system (pulseaudio)" for f in snap.findings)


def test_without_config_there_are_no_outputs_and_prefs_give_the_zone(backup: Backup) -> None:
    bare = read_dump(backup.dump, backup.storage)
    assert bare.outputs == []
    assert bare.timezone == "Europe/Berlin"
    # an absolute path under the storage path of config.yml cannot be placed without it
    assert _media(bare, "10").file is None


def test_media_fields(snap: Snapshot, backup: Backup) -> None:
    one = _media(snap, "1")
    assert one.file == (
        backup.storage / "imported/1/Aurora Trio/Polar Nights/01 Northern Lights.mp3"
    )
    assert one.file.is_file()
    assert one.original_path == "imported/1/Aurora Trio/Polar Nights/01 Northern Lights.mp3"
    assert (one.title, one.artist, one.album, one.genre, one.mood) == (
        "Northern Lights", "Aurora Trio", "Polar Nights", "Jazz", "Calm",
    )  # fmt: skip
    assert (one.year, one.bpm, one.label, one.track_number) == (1997, 92.0, "Polar Records", 1)
    assert (one.duration_ms, one.cue_in_ms, one.cue_out_ms) == (6000, 200, 5800)
    assert one.replay_gain_db == -3.2
    assert one.amplify_db is None
    assert one.custom == {
        "description": "Recorded in Tromsø",
        "owner": "admin",
        "track_type": "MUS",
    }
    assert one.added_at == datetime(2025, 11, 2, 10, 0, tzinfo=UTC)
    assert one.last_played_at == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    three = _media(snap, "3")
    assert (three.isrc, three.last_played_at) == (
        "NOX123456789",
        datetime(2025, 12, 20, 18, tzinfo=UTC),
    )
    assert _media(snap, "4").year == 2006  # LibreTime's year '2006-03-01'
    five = _media(snap, "5")
    assert (five.album, five.composer, five.custom["owner"]) == (None, "Mira Sund", "manager")
    assert _media(snap, "7").custom["track_type"] == "JIN"
    cafe = _media(snap, "10")
    assert cafe.file == backup.storage / "imported/1/Élodie Marchand/Café Nocturne.mp3"
    assert (cafe.language, cafe.custom["conductor"]) == ("French", "Ola Nordmann")
    assert _media(snap, "2").comment == COMMENT  # quotes, newline, tab, backslash


def test_a_missing_file_is_a_finding_and_a_hidden_one_is_skipped(snap: Snapshot) -> None:
    lost = _media(snap, "6")
    assert lost.file is None
    assert lost.title == "Lost Signal"
    assert str(next(f for f in snap.findings if f.name == "Lost Signal")) == (
        "media row 'Lost Signal': file missing from the backup (imported/2/Static Ghosts/"
        "Lost Signal.mp3 is not in the storage folder); copy it there and import again"
    )
    assert "11" not in {m.key for m in snap.media}
    assert any(f.name == "Old Promo" and f.skipped for f in snap.findings)


def test_identical_files_are_both_read(snap: Snapshot) -> None:
    a, b = _media(snap, "8"), _media(snap, "9")
    assert a.file is not None
    assert b.file is not None
    assert a.file != b.file
    assert (
        hashlib.sha256(a.file.read_bytes()).digest() == hashlib.sha256(b.file.read_bytes()).digest()
    )
    assert b.album == "Currents (Deluxe)"


def test_playlists(snap: Snapshot) -> None:
    mix, jazz = snap.playlists
    assert (mix.key, mix.name, mix.description, mix.kind, mix.order) == (
        "1", "Morning Mix", "Wake-up music", "default", "sequential",
    )  # fmt: skip
    assert mix.sequence == [
        PlaylistItem("media", "1"),
        PlaylistItem("block", "1"),
        PlaylistItem("media", "3"),
        PlaylistItem("webstream", "1"),
        PlaylistItem("media", "6"),
    ]
    assert [e.media_key for e in mix.entries] == ["1", "3", "6"]
    assert (mix.block_keys, mix.webstream_keys) == (["1"], ["1"])
    first = mix.entries[0]  # its own cue points and fades in this playlist
    assert (first.cue_in_ms, first.cue_out_ms, first.fade_in_ms, first.fade_out_ms) == (
        1000, 5000, 500, 1500,
    )  # fmt: skip
    assert (mix.entries[1].cue_in_ms, mix.entries[1].cue_out_ms) == (None, None)
    assert [e.media_key for e in jazz.entries] == ["1", "10", "2"]  # by position
    assert jazz.entries[0].cue_in_ms is None  # the track's own cue points


def test_smart_blocks(snap: Snapshot) -> None:
    blocks = {b.key: b for b in snap.smart_blocks}
    rock = blocks["1"]
    assert (rock.name, rock.description, rock.static) == ("Rock Block", "Guitars", False)
    assert [(c.field, c.modifier, c.value, c.extra, c.group) for c in rock.criteria] == [
        ("genre", "is", "Rock", None, 0),
        ("genre", "is", "Pop", None, 0),
        ("bpm", "is in the range", "100", "130", 1),
    ]
    assert (rock.limit_kind, rock.limit_value, rock.repeat_tracks, rock.overflow, rock.sort) == (
        "items", 3.0, False, False, "random",
    )  # fmt: skip
    jazz = blocks["2"]
    assert (jazz.limit_kind, jazz.limit_value, jazz.repeat_tracks, jazz.overflow, jazz.sort) == (
        "minutes", 30.0, True, True, "newest",
    )  # fmt: skip
    assert (blocks["3"].limit_kind, blocks["3"].sort) == ("hours", "least_played")
    assert (blocks["5"].limit_kind, blocks["5"].limit_value, blocks["5"].sort) == (
        "remaining", None, "most_played",
    )  # fmt: skip
    static = blocks["4"]
    assert static.static
    assert static.contents == ["3", "5", "8"]
    assert blocks["6"].sort == "oldest"
    custom = blocks["8"].criteria
    assert ("track_type_id", "is", "MUS") in [(c.field, c.modifier, c.value) for c in custom]


def test_webstreams(snap: Snapshot) -> None:
    relay, news = snap.webstreams
    assert (relay.key, relay.name, relay.url, relay.length_ms, relay.description) == (
        "1", "Nordic Jazz Relay", "http://relay.example.org:8000/jazz.mp3", 3_600_000,
        "Jazz from Oslo",
    )  # fmt: skip
    assert (news.length_ms, news.description) == (300_000, None)


def test_shows(snap: Snapshot) -> None:
    shows = {s.key: s for s in snap.shows}
    morning = shows["1"]
    assert (morning.name, morning.description, morning.timezone) == (
        "Morning Show", "Coffee and music", "Europe/Berlin",
    )  # fmt: skip
    assert morning.first_start == datetime(2026, 1, 5, 7, 0, tzinfo=BERLIN)
    assert (morning.duration_ms, morning.repeat, morning.days, morning.until) == (
        7_200_000, "weekly", [1, 3], None,
    )  # fmt: skip
    assert (morning.content_keys, morning.host_keys, morning.live) == (["1"], ["3"], False)
    assert morning.instances == [
        ShowInstance(
            datetime(2026, 1, 5, 6, tzinfo=UTC),
            scheduled=[
                ScheduledItem("media", "1", datetime(2026, 1, 5, 6, 0, 0, tzinfo=UTC)),
                ScheduledItem("media", "3", datetime(2026, 1, 5, 6, 0, 6, tzinfo=UTC)),
                ScheduledItem("webstream", "2", datetime(2026, 1, 5, 6, 0, 13, tzinfo=UTC)),
            ],
        ),
        ShowInstance(  # moved from 07:00 to 09:00 local, with the content moved along
            datetime(2026, 1, 12, 6, tzinfo=UTC),
            new_start=datetime(2026, 1, 12, 8, tzinfo=UTC),
            new_duration_ms=7_200_000,
            scheduled=[ScheduledItem("media", "5", datetime(2026, 1, 12, 8, tzinfo=UTC))],
        ),
        ShowInstance(datetime(2026, 1, 14, 6, tzinfo=UTC), cancelled=True),
    ]
    jazz = shows["2"]
    assert (jazz.repeat, jazz.days, jazz.content_keys, jazz.host_keys) == (
        "every_2_weeks", [5], ["2"], ["3", "2"],
    )  # fmt: skip
    assert jazz.first_start == datetime(2026, 1, 9, 20, tzinfo=BERLIN)
    assert jazz.instances == []
    review = shows["3"]
    assert (review.repeat, review.days, review.duration_ms) == ("monthly_by_date", [], 5_400_000)
    launch = shows["4"]
    assert (launch.repeat, launch.until, launch.duration_ms) == ("none", None, 10_800_000)
    assert launch.first_start == datetime(2026, 1, 10, 12, tzinfo=BERLIN)
    assert launch.instances == [
        ShowInstance(
            datetime(2026, 1, 10, 11, tzinfo=UTC),
            scheduled=[ScheduledItem("media", "8", datetime(2026, 1, 10, 11, tzinfo=UTC))],
        )
    ]
    winter = shows["5"]  # LibreTime's last_show is the day after the last occurrence
    assert (winter.repeat, winter.days, winter.until, winter.live) == (
        "weekly", [2], date(2026, 2, 3), True,
    )  # fmt: skip
    assert shows["6"].repeat == "monthly_by_weekday"


def test_users_keep_the_hash_libretime_stored(snap: Snapshot) -> None:
    users = {u.username: u for u in snap.users}
    assert {n: u.role for n, u in users.items()} == {
        "admin": "admin", "manager": "manager", "anna": "dj", "guest": "dj",
    }  # fmt: skip
    for name, password in PASSWORDS.items():  # LibreTime: md5 hex of the password, unsalted
        assert users[name].password_hash == hashlib.md5(password.encode()).hexdigest()  # noqa: S324
    admin = users["admin"]
    assert (admin.key, admin.email, admin.display_name) == ("1", "admin@example.org", "Ada Admin")
    assert users["guest"].display_name is None
    assert users["anna"].email is None


def test_users_of_an_ldap_station_get_no_hash(backup: Backup, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    text = backup.config.read_text(encoding="utf-8")
    config.write_text(text.replace("auth: local", "auth: LibreTime_Auth_Adaptor_FreeIpa"))
    snap = read_dump(backup.dump, backup.storage, config=config)
    assert all(u.password_hash is None for u in snap.users)
    assert any(f.part == "user" and "FreeIpa" in f.reason and not f.skipped for f in snap.findings)


def test_podcasts_are_a_finding(snap: Snapshot) -> None:
    assert any(f.name == "Station Talk" and "podcast" in f.reason for f in snap.findings)


def test_an_inserts_dump_reads_the_same(snap: Snapshot, backup: Backup) -> None:
    other = read_dump(backup.inserts_dump, backup.storage, config=backup.config)
    assert dataclasses.replace(other, source=snap.source) == snap


def test_a_gzipped_dump_reads_the_same(snap: Snapshot, backup: Backup, tmp_path: Path) -> None:
    packed = tmp_path / "libretime.sql.gz"
    packed.write_bytes(gzip.compress(backup.dump.read_bytes()))
    other = read_dump(packed, backup.storage, config=backup.config)
    assert dataclasses.replace(other, source=snap.source) == snap


async def test_the_live_database_reads_the_same(snap: Snapshot, backup: Backup) -> None:
    live = await read_database(backup.url, backup.storage, config=backup.config)
    assert live.source == f"127.0.0.1/{backup.database}"
    assert dataclasses.replace(live, source=snap.source) == snap


# -- bad input ------------------------------------------------------------------


def _bad(path: Path, storage: Path, match: str) -> None:
    with pytest.raises(BackupError, match=match):
        read_dump(path, storage)


def test_not_a_dump(backup: Backup, tmp_path: Path) -> None:
    text = tmp_path / "notes.sql"
    text.write_text("SELECT 1;\n", encoding="utf-8")
    _bad(text, backup.storage, r"notes\.sql is not a PostgreSQL dump .*pg_dump --no-owner")
    binary = tmp_path / "music.mp3"
    binary.write_bytes(bytes(range(256)) * 4)
    _bad(binary, backup.storage, r"music\.mp3 is not UTF-8 text")


def test_an_azuracast_mariadb_dump(backup: Backup, tmp_path: Path) -> None:
    dump = tmp_path / "db.sql"
    dump.write_text(
        "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n"
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
        "CREATE TABLE `station` (`id` int(11) NOT NULL) ENGINE=InnoDB;\n",
        encoding="utf-8",
    )
    _bad(dump, backup.storage, r"db\.sql is a MySQL/MariaDB dump .*grimnir import azuracast")


def _with_version(backup: Backup, tmp_path: Path, version: str) -> Path:
    text = backup.dump.read_text(encoding="utf-8")
    changed, count = re.subn(r"(\tschema_version\t)46\n", rf"\g<1>{version}\n", text)
    assert count == 1
    out = tmp_path / f"v{version}.sql"
    out.write_text(changed, encoding="utf-8")
    return out


def test_an_unsupported_schema_version(backup: Backup, tmp_path: Path) -> None:
    old = _with_version(backup, tmp_path, "2.5.2")
    _bad(old, backup.storage, r"schema version 2\.5\.2 is older than LibreTime 3\.0 .*upgrade")
    new = _with_version(backup, tmp_path, "47")
    _bad(new, backup.storage, r"schema version 47 is newer than this importer knows \(46\)")


def test_a_truncated_dump(backup: Backup, tmp_path: Path) -> None:
    text = backup.dump.read_text(encoding="utf-8")
    cut = tmp_path / "cut.sql"
    start = text.index("COPY public.cc_files")
    cut.write_text(text[: text.index("\n", start) + 300], encoding="utf-8")
    _bad(cut, backup.storage, r"rows of table cc_files are cut off .*truncated")
    cut.write_text(text[: start + 100], encoding="utf-8")
    _bad(cut, backup.storage, r"ends before pg_dump's closing line .*truncated")
    inserts = backup.inserts_dump.read_text(encoding="utf-8")
    cut.write_text(inserts[: inserts.index("INSERT INTO public.cc_files") + 60], encoding="utf-8")
    _bad(cut, backup.storage, r"line \d+: an unterminated string \(truncated dump\?\)")


def test_a_custom_format_dump_says_how_to_convert(backup: Backup, tmp_path: Path) -> None:
    archive = tmp_path / "libretime.dump"
    subprocess.run(
        [PG_DUMP, "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", str(archive),
         backup.database],
        check=True,
    )  # fmt: skip
    _bad(archive, backup.storage, r"custom-format archive; .*pg_restore -f libretime\.sql")


def test_a_dump_of_another_database(backup: Backup, tmp_path: Path) -> None:
    other = tmp_path / "other.sql"
    subprocess.run(
        [PG_DUMP, "-h", "127.0.0.1", "-U", "postgres", "-f", str(other), "postgres"], check=True
    )
    _bad(other, backup.storage, r"holds no LibreTime tables \(cc_files, cc_pref\)")


def test_a_storage_folder_that_does_not_exist(backup: Backup, tmp_path: Path) -> None:
    _bad(backup.dump, tmp_path / "nowhere", r"storage folder .*nowhere does not exist")


def test_a_config_that_is_not_libretimes(backup: Backup, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("stations: []\n", encoding="utf-8")
    with pytest.raises(BackupError, match=r"config\.yml is not a LibreTime config\.yml"):
        read_dump(backup.dump, backup.storage, config=config)


async def test_a_database_url_of_the_wrong_kind(backup: Backup) -> None:
    with pytest.raises(BackupError, match=r"must be LibreTime's PostgreSQL database"):
        await read_database("mysql://root@127.0.0.1/azuracast", backup.storage)
    with pytest.raises(BackupError, match=r"cannot connect to the LibreTime database"):
        await read_database("postgresql://postgres@127.0.0.1:5432/no_such_db_x", backup.storage)
