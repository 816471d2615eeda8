"""The AzuraCast reader on a backup made from AzuraCast's real schema.

``make_backup`` loads ``schema.sql`` (derived from AzuraCast's migrations) into
MariaDB, inserts two stations, dumps and zips them the way ``azuracast:backup``
does; the reader then parses that dump without any database server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import bcrypt
import pytest
from argon2 import PasswordHasher

from grimnir.importers import BackupError, Snapshot
from grimnir.importers._azuracast_sql import read_dump
from grimnir.importers.azuracast import DUMP_PATH, OLDEST, read_backup
from tests._require import skip_or_fail
from tests.importers.azuracast import _station as station
from tests.importers.azuracast import make_backup as mb

pytestmark = [pytest.mark.mariadb]


@pytest.fixture(scope="module")
def snapshots(backup: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Snapshot]:
    return read_backup(backup, tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="module")
def grimnir(snapshots: list[Snapshot]) -> Snapshot:
    return next(s for s in snapshots if s.short_name == "grimnir_fm")


def _dump_text(backup: Path) -> str:
    with zipfile.ZipFile(backup) as zf:
        return zf.read(DUMP_PATH).decode()


def _zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# -- the station -------------------------------------------------------------------------


def test_both_stations_are_read(snapshots: list[Snapshot]) -> None:
    assert [(s.key, s.short_name, s.name) for s in snapshots] == [
        ("1", "grimnir_fm", "Grimnir FM"),
        ("2", "night_owl", "Night Owl Radio"),
    ]


def test_station_fields(grimnir: Snapshot, backup: Path) -> None:
    assert grimnir.product == "azuracast"
    assert grimnir.source == backup.name
    assert grimnir.timezone == "America/Chicago"
    assert grimnir.description == "Community radio from the river's bend.\nFolk, blues & jazz."
    assert grimnir.schema_version == mb.newest_migration()


# -- outputs -----------------------------------------------------------------------------


def test_mounts_and_remote_relay(grimnir: Snapshot) -> None:
    by_key = {o.key: o for o in grimnir.outputs}
    assert set(by_key) == {"mount-1", "mount-2", "remote-1"}
    mp3, aac, relay = by_key["mount-1"], by_key["mount-2"], by_key["remote-1"]
    assert (mp3.kind, mp3.mount, mp3.format, mp3.bitrate_kbps) == (
        "icecast",
        "/radio.mp3",
        "mp3",
        128,
    )
    assert (mp3.is_default, mp3.public, mp3.host) == (True, True, None)
    assert (mp3.port, mp3.username, mp3.password) == (8010, "source", "grimnir_fm-source")
    assert (aac.mount, aac.format, aac.bitrate_kbps, aac.is_default, aac.public) == (
        "/mobile.aac",
        "aac",
        64,
        False,
        False,
    )
    assert (relay.kind, relay.host, relay.port, relay.mount) == (
        "icecast",
        "relay.example.org",
        8010,
        "/grimnir.mp3",
    )
    assert (relay.username, relay.password, relay.format, relay.bitrate_kbps) == (
        "source",
        "relay-secret",
        "mp3",
        192,
    )
    assert relay.name == "Example relay"


# -- media -------------------------------------------------------------------------------


def test_media_tags_cues_fades_amplify_custom_fields(grimnir: Snapshot) -> None:
    media = {m.key: m for m in grimnir.media}
    assert set(media) == {str(t.id) for t in station.TRACKS}
    dawn = media["1"]
    assert (dawn.title, dawn.artist, dawn.album, dawn.genre, dawn.isrc) == (
        "Prairie Dawn",
        "The Open Fields",
        "Big Sky",
        "Folk",
        "USGR12600001",
    )
    assert (dawn.duration_ms, dawn.cue_in_ms, dawn.cue_out_ms) == (3000, 250, 2750)
    assert (dawn.fade_in_ms, dawn.fade_out_ms, dawn.amplify_db) == (500, 1250, -1.5)
    assert dawn.custom == {"mood": "Bright", "record_label": "Prairie Records"}
    assert dawn.original_path == "Prairie Dawn.mp3"
    assert media["7"].custom == {"mood": "Smoky"}
    assert (media["5"].fade_out_ms, media["5"].duration_ms) == (200, 2000)
    assert media["6"].amplify_db == 2.0


def test_quotes_backslashes_newlines_and_unicode_survive(grimnir: Snapshot) -> None:
    media = {m.key: m for m in grimnir.media}
    rock = media["6"]
    assert rock.title == "Rock 'n' Roll \\ Revival"
    assert rock.artist == 'The "Quoted" Band'
    assert rock.album == "B-Sides;\nand more"
    assert (media["7"].title, media["7"].artist) == ("Café Nocturne", "Zoë Ångström")
    assert (media["8"].title, media["8"].artist) == (None, None)


def test_media_files_are_extracted(grimnir: Snapshot) -> None:
    media = {m.key: m for m in grimnir.media}
    for key in ("1", "3", "4", "5", "6", "7", "8"):
        file = media[key].file
        assert file is not None, key
        assert file.is_file(), key
        assert file.as_posix().endswith("grimnir_fm/media/" + media[key].original_path)
    three, four = media["3"].file, media["4"].file
    assert three is not None
    assert four is not None
    assert three.read_bytes() == four.read_bytes()  # identical audio at two paths, both kept
    assert media["1"].file is not None
    assert media["1"].file.read_bytes()[:3] in (b"ID3", b"\xff\xfb")


def test_album_art_is_extracted(grimnir: Snapshot) -> None:
    media = {m.key: m for m in grimnir.media}
    art = media["1"].artwork
    assert art is not None
    assert art.read_bytes()[:2] == b"\xff\xd8"
    assert all(m.artwork is None for m in grimnir.media if m.key != "1")


def test_missing_file_is_a_finding(grimnir: Snapshot) -> None:
    lost = next(m for m in grimnir.media if m.key == "2")
    assert lost.file is None
    finding = next(f for f in grimnir.findings if f.part == "media" and f.name == "Lost Signal")
    assert finding.skipped
    assert str(finding) == (
        "media row 'Lost Signal': file missing from the backup (archive/Lost Signal.mp3)"
    )


# -- playlists and schedules -------------------------------------------------------------


def test_playlist_types_orders_weights_jingles(grimnir: Snapshot) -> None:
    p = {pl.name: pl for pl in grimnir.playlists}
    assert (p["Daytime Rotation"].kind, p["Daytime Rotation"].weight) == ("default", 5)
    assert p["Daytime Rotation"].order == "shuffle"
    jingles = p["Jingles every 4"]
    assert (jingles.kind, jingles.every, jingles.jingle, jingles.order) == (
        "once_per_n_songs",
        4,
        True,
        "random",
    )
    assert (p["Half-hourly Features"].kind, p["Half-hourly Features"].every) == (
        "once_per_n_minutes",
        30,
    )
    assert p["Half-hourly Features"].order == "sequential"
    assert (p["Top of the Hour"].kind, p["Top of the Hour"].every) == ("once_per_hour", 5)
    assert (p["Disabled Oldies"].kind, p["Disabled Oldies"].enabled) == ("custom", False)
    assert p["Late Night Blues"].description == "After ten."
    assert all(not pl.jingle for name, pl in p.items() if name != "Jingles every 4")
    assert "Owl Mix" not in p  # the other station's


def test_entries_in_order(grimnir: Snapshot) -> None:
    p = {pl.name: pl for pl in grimnir.playlists}
    assert [e.media_key for e in p["Daytime Rotation"].entries] == ["1", "3", "4", "6", "7", "8"]
    assert [e.media_key for e in p["Half-hourly Features"].entries] == ["7", "6"]
    assert [e.media_key for e in p["Late Night Blues"].entries] == ["3", "2", "4"]
    assert all(e.weight == 1.0 for pl in p.values() for e in pl.entries)


def test_schedules_over_midnight_and_with_days_and_dates(grimnir: Snapshot) -> None:
    p = {pl.name: pl for pl in grimnir.playlists}
    [late] = p["Late Night Blues"].schedules
    assert (late.start, late.end, late.days, late.loop_once) == (time(22), time(2), [], False)
    assert (late.start_date, late.end_date) == (None, None)
    [weekend] = p["Weekend Special"].schedules
    assert (weekend.start, weekend.end, weekend.days) == (time(9, 30), time(12), [6, 7])
    assert (weekend.start_date, weekend.end_date) == (date(2026, 12, 1), date(2027, 1, 31))
    assert weekend.loop_once
    assert p["Daytime Rotation"].schedules == []


def test_unreadable_schedule_is_a_finding(backup: Path, tmp_path: Path) -> None:
    text = _dump_text(backup).replace("'2027-01-31','6,7'", "'2027-02-31','6,7'", 1)
    edited = _zip_with(tmp_path / "edited.zip", {DUMP_PATH: text.encode()})
    [snap] = read_backup(edited, tmp_path / "work", station="grimnir_fm")
    weekend = next(pl for pl in snap.playlists if pl.name == "Weekend Special")
    assert weekend.schedules == []
    finding = next(f for f in snap.findings if f.part == "schedule" and f.name == "Weekend Special")
    assert (
        finding.reason
        == "schedule row 2 has times, days or dates we cannot read: add it again here"
    )


def test_remote_stream_playlist_becomes_a_web_stream(grimnir: Snapshot) -> None:
    partner = next(pl for pl in grimnir.playlists if pl.name == "Partner Stream")
    [stream] = grimnir.webstreams
    assert partner.webstream_keys == [stream.key]
    assert (stream.name, stream.url) == ("Partner Stream", "https://partner.example.org/live.mp3")


# -- people ------------------------------------------------------------------------------


def test_user_roles_from_permissions(snapshots: list[Snapshot]) -> None:
    grimnir, owl = snapshots
    roles = {u.username: u.role for u in grimnir.users if not u.streamer}
    assert roles == {
        "admin@example.org": "admin",
        "manager@example.org": "manager",
        "dj@example.org": "dj",
    }
    assert {u.username: u.role for u in owl.users} == {
        "admin@example.org": "admin",
        "owl@example.org": "manager",
    }
    ada = next(u for u in grimnir.users if u.key == "1")
    assert (ada.email, ada.display_name, ada.disabled) == ("admin@example.org", "Ada Admin", False)
    dj = next(f for f in grimnir.findings if f.part == "user" and f.name == "dj@example.org")
    assert not dj.skipped
    assert "manage station media" in dj.reason
    assert "'dj'" in dj.reason


def test_password_hashes_pass_through(grimnir: Snapshot) -> None:
    users = {u.username: u for u in grimnir.users}
    argon = users["admin@example.org"].password_hash
    assert argon is not None
    assert argon.startswith("$argon2id$")
    assert PasswordHasher().verify(argon, station.USER_PASSWORD)
    bc = users["manager@example.org"].password_hash
    assert bc is not None
    assert bc.startswith("$2y$")
    assert bcrypt.checkpw(station.USER_PASSWORD.encode(), ("$2b$" + bc[4:]).encode())


def test_streamer_is_a_dj_account_with_its_hash(grimnir: Snapshot) -> None:
    [marla] = [u for u in grimnir.users if u.streamer]
    assert (marla.key, marla.username, marla.display_name, marla.role) == (
        "streamer-1",
        "dj_marla",
        "DJ Marla",
        "dj",
    )
    assert marla.password_hash is not None
    assert marla.password_hash.startswith("$2y$")
    assert bcrypt.checkpw(
        station.STREAMER_PASSWORD.encode(), ("$2b$" + marla.password_hash[4:]).encode()
    )
    slot = next(f for f in grimnir.findings if f.part == "schedule" and f.name == "dj_marla")
    assert "Fri 18:00–20:00" in slot.reason


# -- webhooks ----------------------------------------------------------------------------


def test_webhooks(grimnir: Snapshot) -> None:
    hooks = {w.key: w for w in grimnir.webhooks}
    cms, tunein = hooks["1"], hooks["2"]
    assert (cms.name, cms.kind, cms.url, cms.enabled) == (
        "Now playing to CMS",
        "generic",
        "https://cms.example.org/hooks/np",
        True,
    )
    assert cms.triggers == ["song_changed", "live_connect"]
    assert (tunein.kind, tunein.url, tunein.enabled, tunein.triggers) == (
        "tunein",
        None,
        False,
        ["song_changed"],
    )
    left = next(
        f for f in grimnir.findings if f.part == "webhook" and f.name == "Now playing to CMS"
    )
    assert "basic_auth_password" in left.reason
    assert "s3cret" not in left.reason


def test_findings_row_by_row(grimnir: Snapshot) -> None:
    assert sorted((f.part, f.name, f.skipped) for f in grimnir.findings) == [
        ("media", "Lost Signal", True),
        ("media", "Rock 'n' Roll \\ Revival", False),
        ("schedule", "dj_marla", True),
        ("user", "dj@example.org", False),
        ("webhook", "Now playing to CMS", False),
        ("webhook", "TuneIn", False),
    ]


def test_damaged_media_file_is_a_finding(backup: Path, tmp_path: Path) -> None:
    """A member whose bytes fail their CRC: that row loses its file, the rest is read."""
    data = bytearray(backup.read_bytes())
    with zipfile.ZipFile(backup) as zf:
        info = zf.getinfo("var/azuracast/stations/grimnir_fm/media/Prairie Dawn.mp3")
    # the local header: 30 bytes, then the name and extra field (their lengths at 26 and 28)
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    [snap] = read_backup(damaged, tmp_path / "work", station="grimnir_fm")
    media = {m.key: m for m in snap.media}
    assert media["1"].file is None
    assert media["3"].file is not None
    finding = next(f for f in snap.findings if f.name == "Prairie Dawn" and f.skipped)
    assert finding.reason.startswith("file damaged in the backup (Prairie Dawn.mp3)")


# -- the station filter ------------------------------------------------------------------


def test_station_filter_reads_and_extracts_one_station(backup: Path, tmp_path: Path) -> None:
    [owl] = read_backup(backup, tmp_path, station="night_owl")
    assert (owl.short_name, owl.timezone, owl.description) == ("night_owl", "Europe/Berlin", None)
    assert [m.title for m in owl.media] == ["Owl Hoot"]
    assert [o.mount for o in owl.outputs] == ["/owl.ogg"]
    assert [p.name for p in owl.playlists] == ["Owl Mix"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night_owl"]


def test_unknown_station_lists_the_present_ones(backup: Path, tmp_path: Path) -> None:
    with pytest.raises(
        BackupError, match=r"no station 'jazz_fm'; its stations are: grimnir_fm, night_owl"
    ):
        read_backup(backup, tmp_path, station="jazz_fm")
    assert list(tmp_path.iterdir()) == []


def test_generated_size(tmp_path: Path) -> None:
    """``size`` adds tracks with distinct bytes from one encoded tone."""
    if not mb.reachable():
        skip_or_fail("needs MariaDB on 127.0.0.1:3306 (root, no password)")
    zipped = mb.make_backup(tmp_path / "big.zip", size=40)
    [snap] = read_backup(zipped, tmp_path / "work", station="grimnir_fm")
    generated = [m for m in snap.media if int(m.key) > 100]
    assert len(generated) == 40
    assert all(m.file is not None and m.file.is_file() for m in generated)
    assert len({m.file.read_bytes() for m in generated if m.file is not None}) == 40


# -- bad input ---------------------------------------------------------------------------


def test_truncated_zip(backup: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.zip"
    cut.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    with pytest.raises(BackupError, match=r"cut\.zip is not a readable zip .*truncated or damaged"):
        read_backup(cut, tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_truncated_dump(backup: Path, tmp_path: Path) -> None:
    text = _dump_text(backup)
    half = _zip_with(tmp_path / "half.zip", {DUMP_PATH: text[: len(text) // 2].encode()})
    with pytest.raises(BackupError, match=r"ends early .*truncated"):
        read_backup(half, tmp_path / "work")


def test_zip_without_a_dump(tmp_path: Path) -> None:
    media_only = _zip_with(tmp_path / "media.zip", {"var/azuracast/stations/x/media/a.mp3": b"x"})
    with pytest.raises(
        BackupError, match=r"holds no MariaDB dump \(tmp/azuracast_backup_mariadb/db\.sql\)"
    ):
        read_backup(media_only, tmp_path / "work")


def test_old_schema(backup: Path, tmp_path: Path) -> None:
    text = re.sub(r"Version\d{14}", "Version20230102192033", _dump_text(backup))
    old = _zip_with(tmp_path / "old.zip", {DUMP_PATH: text.encode()})
    with pytest.raises(
        BackupError, match=rf"schema Version20230102192033 is older than .*{OLDEST}"
    ):
        read_backup(old, tmp_path / "work")


@pytest.fixture
def pg_dump_text() -> Iterator[str]:
    """A real pg_dump of a small LibreTime-like database."""
    psql, pg_dump = shutil.which("psql"), shutil.which("pg_dump")
    if psql is None or pg_dump is None:
        skip_or_fail(
            "needs the PostgreSQL client (psql, pg_dump): apt-get install postgresql-client"
        )
    name = f"lt_{uuid.uuid4().hex[:10]}"
    base = ["-h127.0.0.1", "-Upostgres"]
    try:
        subprocess.run(
            [psql, *base, "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True
        )
    except subprocess.CalledProcessError as exc:
        skip_or_fail(f"PostgreSQL not reachable on 127.0.0.1:5432: {exc.stderr.decode().strip()}")
    try:
        subprocess.run(
            [psql, *base, "-d", name, "-c",
             "CREATE TABLE cc_files (id serial PRIMARY KEY, track_title text);"
             "INSERT INTO cc_files (track_title) VALUES ('Lost Signal');"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield subprocess.run(
            [pg_dump, *base, name], check=True, capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run(
            [psql, *base, "-c", f"DROP DATABASE {name}"], check=True, capture_output=True
        )


def test_libretime_pg_dump_is_the_wrong_product(pg_dump_text: str, tmp_path: Path) -> None:
    wrong = _zip_with(tmp_path / "libretime.zip", {"libretime.sql": pg_dump_text.encode()})
    with pytest.raises(BackupError, match=r"is a PostgreSQL dump .*grimnir import libretime"):
        read_backup(wrong, tmp_path / "work")


def test_another_mariadb_dump_is_the_wrong_product(backup: Path, tmp_path: Path) -> None:
    database = f"blog_{uuid.uuid4().hex[:10]}"
    mb.mariadb(f"CREATE DATABASE `{database}`")
    try:
        mb.mariadb("CREATE TABLE wp_posts (id INT PRIMARY KEY, post_title TEXT);"
                    "INSERT INTO wp_posts VALUES (1, 'Hello world');", database)  # fmt: skip
        text = subprocess.run(
            [mb.tool("mariadb-dump"), *mb.HOST, "--add-drop-table", database],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        mb.mariadb(f"DROP DATABASE `{database}`")
    wrong = _zip_with(tmp_path / "blog.zip", {DUMP_PATH: text.encode()})
    with pytest.raises(BackupError, match=r"is not AzuraCast's database dump"):
        read_backup(wrong, tmp_path / "work")


# -- the dump parser ---------------------------------------------------------------------


def test_parser_values_escapes_binary_and_long_lines() -> None:
    rows = ",".join(f"({n},'r{n}')" for n in range(20000))
    lines = [
        b"CREATE TABLE `t` (\n",
        b"  `id` int(11) NOT NULL,\n",
        b"  `v` longtext,\n",
        b"  `b` blob,\n",
        b"  `f` double\n",
        b") ENGINE=InnoDB;\n",
        b"INSERT INTO `t` VALUES (1,'a\\'b''c\\\\d\\ne\\0\\Z',_binary 'x\\0y',-1.5e3),"
        b"(2,NULL,0x00ff,.5),(3,'(),;',b'101',-7);\n",
        b"CREATE TABLE `u` (\n",
        b"  `id` int(11) NOT NULL,\n",
        b"  `name` text\n",
        b") ENGINE=InnoDB;\n",
        b"INSERT INTO `u` VALUES " + rows.encode() + b";\n",
        b"INSERT INTO `skipped` VALUES\n",
        b"(1,'not parsed ;'),\n",
        b"(2,'x');\n",
        b"-- Dump completed on 2026-12-07\n",
    ]
    dump = read_dump(iter(lines), {"t", "u"}, "test")
    assert dump.complete
    assert "skipped" not in dump.tables
    assert dump.tables["t"].columns == ["id", "v", "b", "f"]
    assert dump.tables["t"].rows == [
        (1, "a'b'c\\d\ne\0\x1a", b"x\0y", -1500.0),
        (2, None, b"\x00\xff", 0.5),
        (3, "(),;", 5, -7),
    ]
    assert len(dump.tables["u"].rows) == 20000
    assert dump.tables["u"].rows[-1] == (19999, "r19999")


def test_parser_reports_a_damaged_line() -> None:
    lines = [
        b"CREATE TABLE `t` (\n",
        b"  `id` int\n",
        b");\n",
        b"INSERT INTO `t` VALUES (1,'a'x);\n",
    ]
    dump = read_dump(iter(lines), {"t"}, "test")
    assert dump.error is not None
    assert "test: line 4 of the database dump cannot be read" in str(dump.error)


def test_damaged_dump(backup: Path, tmp_path: Path) -> None:
    text = _dump_text(backup).replace("'Lost Signal'", "'Lost Signal'x", 1)
    damaged = _zip_with(tmp_path / "damaged.zip", {DUMP_PATH: text.encode()})
    with pytest.raises(
        BackupError, match=r"line \d+ of the database dump cannot be read .*damaged"
    ):
        read_backup(damaged, tmp_path / "work")
