# ruff: noqa: S608 - fixture rows: SQL built from the constants below
"""The station in the LibreTime fixture: its rows as LibreTime writes them, and its
config.yml. ``make_dump`` loads these into LibreTime's real schema."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class FileSpec:
    """One ``cc_files`` row and the audio behind it."""

    key: str
    path: str
    title: str
    artist: str | None
    album: str | None
    genre: str | None
    mood: str | None
    year: str | None
    bpm: int | None
    length: str
    cuein: str
    cueout: str
    tone_hz: int
    seconds: float
    utime: str
    lptime: str | None = None
    missing: bool = False
    same_as: str | None = None
    hidden: bool = False
    track_type: int = 1
    language: str | None = None
    bit_rate: int = 64000


FILES = (
    FileSpec("1", "imported/1/Aurora Trio/Polar Nights/01 Northern Lights.mp3", "Northern Lights",
             "Aurora Trio", "Polar Nights", "Jazz", "Calm", "1997", 92, "00:00:06", "00:00:00.2",
             "00:00:05.8", 330, 6, "2025-11-02 10:00:00", "2026-01-02 08:00:00"),
    FileSpec("2", "imported/1/Aurora Trio/Polar Nights/02 Harbour Blues.mp3", "Harbour Blues",
             "Aurora Trio", "Polar Nights", "Blues", "Melancholic", "1997", 80, "00:00:05",
             "00:00:00", "00:00:05", 392, 5, "2025-11-02 10:05:00"),
    FileSpec("3", "imported/1/The Skerries/Fjord Rock/01 Rock the Fjord.mp3", "Rock the Fjord",
             "The Skerries", "Fjord Rock", "Rock", "Energetic", "2005", 128, "00:00:07",
             "00:00:00", "00:00:07", 440, 7, "2025-12-01 09:00:00", "2025-12-20 18:00:00"),
    FileSpec("4", "imported/1/The Skerries/Fjord Rock/02 Salt Water.mp3", "Salt Water",
             "The Skerries", "Fjord Rock", "Rock", "Energetic", "2006-03-01", 132, "00:00:04",
             "00:00:00", "00:00:04", 494, 4, "2025-12-01 09:01:00"),
    FileSpec("5", "imported/2/Mira Sund/Tidal Pop.mp3", "Tidal Pop", "Mira Sund", None, "Pop",
             "Happy", "2019", 118, "00:00:05", "00:00:00", "00:00:05", 523, 5,
             "2025-12-10 12:00:00"),
    FileSpec("6", "imported/2/Static Ghosts/Lost Signal.mp3", "Lost Signal", "Static Ghosts",
             "Interference", "Electronic", "Dark", "2021", 140, "00:00:06", "00:00:00",
             "00:00:06", 587, 6, "2025-12-11 12:00:00", missing=True),
    FileSpec("7", "imported/1/jingles/Station ID.mp3", "Station ID", None, None, None, None,
             None, None, "00:00:03", "00:00:00", "00:00:03", 659, 3, "2025-10-01 08:00:00",
             track_type=2),
    FileSpec("8", "imported/2/Mira Sund/Currents/Deep Current.mp3", "Deep Current", "Mira Sund",
             "Currents", "Electronic", "Dark", "2012", 124, "00:00:08", "00:00:00", "00:00:08",
             698, 8, "2025-12-15 20:00:00", "2026-01-03 21:00:00"),
    FileSpec("9", "imported/2/Mira Sund/Currents (Deluxe)/Deep Current.mp3", "Deep Current",
             "Mira Sund", "Currents (Deluxe)", "Electronic", "Dark", "2012", 124, "00:00:08",
             "00:00:00", "00:00:08", 698, 8, "2025-12-16 20:00:00", same_as="8"),
    FileSpec("10", "/srv/libretime/imported/1/Élodie Marchand/Café Nocturne.mp3", "Café Nocturne",
             "Élodie Marchand", "Nuits", "Jazz", "Romantic", "1988", 70, "00:00:05", "00:00:00",
             "00:00:05", 784, 5, "2025-09-01 07:00:00", language="French", bit_rate=128000),
    FileSpec("11", "imported/1/promos/Old Promo.mp3", "Old Promo", None, None, None, None, None,
             None, "00:00:03", "00:00:00", "00:00:03", 880, 3, "2024-01-01 08:00:00",
             hidden=True),
)  # fmt: skip

COMMENT = "live take at Harbour's end,\n\ttabbed (1) \\ a backslash; 100% 'quoted'"
"""A value with what COPY and INSERT must escape: quotes, newline, tab, backslash."""

PASSWORDS = {"admin": "admin", "manager": "m4nager!", "anna": "anna-dj", "guest": "guest"}

# Criteria rows of the dynamic blocks: (block, criteria, modifier, value, extra, group).
CRITERIA: tuple[tuple[int, str, str, str, str | None, int], ...] = (
    (1, "genre", "is", "Rock", None, 0),
    (1, "genre", "is", "Pop", None, 0),
    (1, "bpm", "is in the range", "100", "130", 1),
    (2, "artist_name", "contains", "trio", None, 0),
    (2, "artist_name", "starts with", "Élodie", None, 0),
    (2, "year", "is less than", "2000", None, 1),
    (2, "length", "is greater than", "00:00:04.5", None, 2),
    (3, "genre", "does not contain", "jazz", None, 0),
    (3, "mood", "is not", "Dark", None, 1),
    (3, "lptime", "before", "7 day ago", None, 2),
    (4, "genre", "is", "Pop", None, 0),
    (5, "bit_rate", "is greater than", "100", None, 0),
    (5, "filepath", "contains", "Fjord", None, 1),
    (6, "genre", "is", "Rock", None, 0),
    (6, "genre", "is", "Jazz", None, 0),
    (6, "genre", "is not", "Blues", None, 1),
    (6, "genre", "contains", "tron", None, 1),
    (7, "track_title", "ends with", "Current", None, 0),
    (7, "album_title", "is not", "Currents", None, 1),
    (7, "utime", "is greater than", "2025-12-01 00:00:00", None, 2),
    (8, "composer", "contains", "Sund", None, 0),
    (8, "track_type_id", "is", "1", None, 1),
    (8, "owner_id", "is", "admin", None, 2),
)

# Blocks: (id, name, type, limit modifier, limit value, sort, repeat, overflow).
BLOCKS = (
    (1, "Rock Block", "dynamic", "items", "3", "random", "0", "0"),
    (2, "Evening Jazz", "dynamic", "minutes", "30", "newest", "1", "1"),
    (3, "Not Jazz", "dynamic", "hours", "1", "leastrecentplay", "0", "0"),
    (4, "Static Picks", "static", "items", "3", "random", "0", "0"),
    (5, "Unmappable", "dynamic", "remaining", "", "mostrecentplay", "0", "0"),
    (6, "Quirky Groups", "dynamic", "items", "5", "oldest", "0", "0"),
    (7, "Recent Currents", "dynamic", "items", "5", "random", "0", "0"),
    (8, "Custom Fields", "dynamic", "items", "5", "random", "0", "0"),
)

CONFIG_YML = """\
general:
  public_url: https://radio.example.org
  api_key: some-api-key
  secret_key: some-secret-key
  timezone: Europe/Berlin
  auth: local
storage:
  path: /srv/libretime
database:
  host: localhost
  port: 5432
  name: libretime
  user: libretime
  password: libretime
stream:
  outputs:
    .default_icecast_output: &default_icecast_output
      host: localhost
      port: 8000
      source_password: hackme
      admin_password: hackme
      name: Radio Nordlicht
      description: Community radio from Kiel
    icecast:
      - <<: *default_icecast_output
        enabled: true
        mount: main
        audio:
          format: mp3
          bitrate: 128
      - <<: *default_icecast_output
        enabled: false
        mount: main-low
        audio:
          format: ogg
          bitrate: 64
      - enabled: true
        host: relay.example.net
        port: 8010
        mount: nordlicht.ogg
        source_user: relay
        source_password: relay-secret
        audio:
          format: ogg
          bitrate: 96
    shoutcast:
      - enabled: true
        host: sc.example.net
        port: 8020
        source_password: sc-secret
        audio:
          format: aac
          bitrate: 64
    system:
      - enabled: true
        kind: pulseaudio
"""


def _q(value: object) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - LibreTime's own format


def station_sql() -> str:
    """INSERT statements for the whole station (LibreTime's own rows as it writes them)."""
    s: list[str] = [
        "INSERT INTO cc_pref (keystr, valstr) VALUES ('station_name', 'Radio Nordlicht'), "
        "('description', 'Community radio from Kiel'), ('timezone', 'Europe/Berlin'), "
        "('default_fade_in', '0.5'), ('default_fade_out', '0.5');",
        f"UPDATE cc_subjs SET first_name = 'Ada', last_name = 'Admin', "
        f"email = 'admin@example.org', pass = {_q(_md5(PASSWORDS['admin']))} WHERE id = 1;",
        "INSERT INTO cc_subjs (id, login, pass, type, first_name, last_name, email) VALUES "
        f"(2, 'manager', {_q(_md5(PASSWORDS['manager']))}, 'P', 'Max', 'Manager', "
        "'max@example.org'), "
        f"(3, 'anna', {_q(_md5(PASSWORDS['anna']))}, 'H', 'Anna', 'Andersen', NULL), "
        f"(4, 'guest', {_q(_md5(PASSWORDS['guest']))}, 'G', '', '', NULL);",
        "SELECT setval('cc_subjs_id_seq', 4);",
        "INSERT INTO cc_track_types (id, code, type_name) VALUES (1, 'MUS', 'Music'), "
        "(2, 'JIN', 'Jingle');",
    ]
    for f in FILES:
        owner = 2 if "/2/" in f.path else 1
        md5 = hashlib.md5(f"{f.same_as or f.key}".encode()).hexdigest()  # noqa: S324
        s.append(
            "INSERT INTO cc_files (id, name, mime, ftype, filepath, import_status, track_title, "
            "artist_name, album_title, genre, mood, year, bpm, length, cuein, cueout, "
            "replay_gain, isrc_number, label, composer, language, track_number, comments, "
            "owner_id, track_type_id, bit_rate, sample_rate, utime, mtime, lptime, md5, "
            "file_exists, hidden, filesize, description, conductor, copyright) VALUES ("
            f"{f.key}, {_q(f.path.rsplit('/', 1)[1])}, 'audio/mp3', 'audioclip', {_q(f.path)}, "
            f"0, {_q(f.title)}, {_q(f.artist)}, {_q(f.album)}, {_q(f.genre)}, {_q(f.mood)}, "
            f"{_q(f.year)}, {_q(f.bpm)}, {_q(f.length)}, {_q(f.cuein)}, {_q(f.cueout)}, "
            f"{-3.2 if f.key == '1' else 'NULL'}, {_q('NOX123456789' if f.key == '3' else None)}, "
            f"{_q('Polar Records' if f.album == 'Polar Nights' else None)}, "
            f"{_q('Mira Sund' if f.artist == 'Mira Sund' else None)}, {_q(f.language)}, "
            f"{_track_number(f.path)}, "
            f"{_q(COMMENT if f.key == '2' else None)}, {owner}, {f.track_type}, "
            f"{f.bit_rate}, 44100, {_q(f.utime)}, {_q(f.utime)}, {_q(f.lptime)}, {_q(md5)}, "
            f"{'false' if f.missing else 'true'}, {'true' if f.hidden else 'false'}, 40000, "
            f"{_q('Recorded in Tromsø' if f.key == '1' else None)}, "
            f"{_q('Ola Nordmann' if f.key == '10' else None)}, "
            f"{_q('CC-BY 4.0' if f.key == '5' else None)});"
        )
    s.append("SELECT setval('cc_files_id_seq', 11);")
    s += _programming()
    s += _shows()
    s.append(
        "INSERT INTO podcast (id, url, title, owner) VALUES "
        "(1, 'https://pod.example.org/feed.xml', 'Station Talk', 1);"
    )
    return "\n".join(s) + "\n"


def _track_number(path: str) -> str:
    """``01 Northern Lights.mp3`` → ``1``; NULL for a file name without a number."""
    name = path.rsplit("/", 1)[1]
    return str(int(name[:2])) if name[:2].isdigit() else "NULL"


def _programming() -> list[str]:
    s = [
        "INSERT INTO cc_webstream (id, name, description, url, length, creator_id, mtime, utime) "
        "VALUES (1, 'Nordic Jazz Relay', 'Jazz from Oslo', "
        "'http://relay.example.org:8000/jazz.mp3', '01:00:00', 1, now(), now()), "
        "(2, 'News Feed', '', 'https://news.example.org/live', "
        "'00:05:00', 2, now(), now());",
        "INSERT INTO cc_playlist (id, name, description, creator_id, length) VALUES "
        "(1, 'Morning Mix', 'Wake-up music', 1, '00:30:00'), "
        "(2, 'Jazz Hour', NULL, 3, '01:00:00');",
    ]
    for b in BLOCKS:
        block_id, name, kind, limit, value, sort, repeat, overflow = b
        s.append(
            f"INSERT INTO cc_block (id, name, type, creator_id, description) VALUES "
            f"({block_id}, {_q(name)}, {_q(kind)}, 1, {_q('Guitars' if block_id == 1 else None)});"
        )
        rows = [c for c in CRITERIA if c[0] == block_id]
        values = [
            f"({_q(c[1])}, {_q(c[2])}, {_q(c[3])}, {_q(c[4])}, {c[5]}, {block_id})" for c in rows
        ]
        values += [
            f"('sort', 'N/A', {_q(sort)}, NULL, NULL, {block_id})",
            f"('limit', {_q(limit)}, {_q(value)}, NULL, NULL, {block_id})",
            f"('repeat_tracks', 'N/A', {_q(repeat)}, NULL, NULL, {block_id})",
            f"('overflow_tracks', 'N/A', {_q(overflow)}, NULL, NULL, {block_id})",
        ]
        s.append(
            "INSERT INTO cc_blockcriteria (criteria, modifier, value, extra, criteriagroup, "
            f"block_id) VALUES {', '.join(values)};"
        )
    s.append(
        "INSERT INTO cc_blockcontents (block_id, file_id, position, cuein, cueout) VALUES "
        "(4, 5, 1, '00:00:00', '00:00:05'), (4, 3, 0, '00:00:00', '00:00:07'), "
        "(4, 8, 2, '00:00:00', '00:00:08'), (1, 3, 0, '00:00:00', '00:00:07');"
    )
    s += [
        # type: 0 file, 1 web stream, 2 block; file 1 with its own cue points and fades
        "INSERT INTO cc_playlistcontents (id, playlist_id, file_id, block_id, stream_id, type, "
        "position, cuein, cueout, fadein, fadeout) VALUES "
        "(1, 1, 1, NULL, NULL, 0, 0, '00:00:01', '00:00:05', '00:00:00.5', '00:00:01.5'), "
        "(2, 1, NULL, 1, NULL, 2, 1, '00:00:00', '00:00:00', '00:00:00', '00:00:00'), "
        "(3, 1, 3, NULL, NULL, 0, 2, '00:00:00', '00:00:07', '00:00:00.5', '00:00:00.5'), "
        "(4, 1, NULL, NULL, 1, 1, 3, '00:00:00', '01:00:00', '00:00:00', '00:00:00'), "
        "(5, 1, 6, NULL, NULL, 0, 4, '00:00:00', '00:00:06', '00:00:00.5', '00:00:00.5'), "
        "(6, 2, 10, NULL, NULL, 0, 1, '00:00:00', '00:00:05', '00:00:00.5', '00:00:00.5'), "
        "(7, 2, 1, NULL, NULL, 0, 0, '00:00:00.2', '00:00:05.8', '00:00:00.5', '00:00:00.5'), "
        "(8, 2, 2, NULL, NULL, 0, 2, '00:00:00', '00:00:05', '00:00:00.5', '00:00:00.5');",
    ]
    return s


# Shows: (id, name, description, autoplaylist, live).
SHOWS = (
    (1, "Morning Show", "Coffee and music", 1, False),
    (2, "Jazz Evening", None, 2, False),
    (3, "Monthly Review", None, None, False),
    (4, "Launch Special", "Our first day", None, False),
    (5, "Winter Series", None, None, True),
    (6, "Monthly Meetup", None, None, False),
)
# Rules: (show, first_show, last_show, start_time, duration, day (0 = Sunday), repeat_type).
DAYS = (
    (1, "2026-01-05", None, "07:00:00", "02:00", 1, 0),
    (1, "2026-01-07", None, "07:00:00", "02:00", 3, 0),
    (1, "2026-01-12", "2026-01-13", "09:00:00", "02:00", 1, -1),  # the moved occurrence
    (2, "2026-01-09", None, "20:00:00", "01:00", 5, 1),
    (3, "2026-01-15", None, "18:00:00", "01:30", None, 2),
    (4, "2026-01-10", "2026-01-11", "12:00:00", "03:00", 6, -1),
    (5, "2026-01-06", "2026-02-04", "21:00:00", "01:00", 2, 0),
    (6, "2026-01-08", None, "19:00:00", "01:00", None, 3),
)
# Instances: (id, show, starts UTC, ends UTC, modified).
INSTANCES = (
    (1, 1, "2026-01-05 06:00:00", "2026-01-05 08:00:00", False),
    (2, 1, "2026-01-07 06:00:00", "2026-01-07 08:00:00", False),
    (3, 1, "2026-01-12 06:00:00", "2026-01-12 08:00:00", True),  # moved to 09:00 local
    (4, 1, "2026-01-14 06:00:00", "2026-01-14 08:00:00", True),  # cancelled
    (5, 1, "2026-01-12 08:00:00", "2026-01-12 10:00:00", False),  # where it moved to
    (6, 2, "2026-01-09 19:00:00", "2026-01-09 20:00:00", False),
    (7, 2, "2026-01-23 19:00:00", "2026-01-23 20:00:00", False),
    (8, 3, "2026-01-15 17:00:00", "2026-01-15 18:30:00", False),
    (9, 4, "2026-01-10 11:00:00", "2026-01-10 14:00:00", False),
    (10, 5, "2026-01-06 20:00:00", "2026-01-06 21:00:00", False),
    (11, 6, "2026-01-08 18:00:00", "2026-01-08 19:00:00", False),
)


def _shows() -> list[str]:
    s = []
    for show_id, name, description, auto, live in SHOWS:
        s.append(
            "INSERT INTO cc_show (id, name, description, has_autoplaylist, autoplaylist_id, "
            "live_stream_using_airtime_auth) VALUES "
            f"({show_id}, {_q(name)}, {_q(description)}, {'true' if auto else 'false'}, "
            f"{auto or 'NULL'}, {'true' if live else 'false'});"
        )
    for show_id, first, last, start, duration, weekday, repeat in DAYS:
        s.append(
            "INSERT INTO cc_show_days (first_show, last_show, start_time, timezone, duration, "
            f"day, repeat_type, next_pop_date, show_id, record) VALUES ({_q(first)}, {_q(last)}, "
            f"{_q(start)}, 'Europe/Berlin', {_q(duration)}, {_q(weekday)}, {repeat}, "
            f"'2026-02-01', {show_id}, 0);"
        )
    for inst_id, show_id, starts, ends, modified in INSTANCES:
        s.append(
            "INSERT INTO cc_show_instances (id, starts, ends, show_id, record, rebroadcast, "
            f"created, modified_instance) VALUES ({inst_id}, {_q(starts)}, {_q(ends)}, "
            f"{show_id}, 0, 0, '2025-12-20 10:00:00', {'true' if modified else 'false'});"
        )
    s.append("INSERT INTO cc_show_hosts (show_id, subjs_id) VALUES (1, 3), (2, 3), (2, 2);")
    # scheduled content: the first morning show, the moved one, and the launch special
    s.append(
        "INSERT INTO cc_schedule (starts, ends, file_id, stream_id, clip_length, cue_in, "
        "cue_out, instance_id, position) VALUES "
        "('2026-01-05 06:00:00', '2026-01-05 06:00:06', 1, NULL, '00:00:06', '00:00:00', "
        "'00:00:06', 1, 0), "
        "('2026-01-05 06:00:06', '2026-01-05 06:00:13', 3, NULL, '00:00:07', '00:00:00', "
        "'00:00:07', 1, 1), "
        "('2026-01-05 06:00:13', '2026-01-05 06:05:13', NULL, 2, '00:05:00', '00:00:00', "
        "'00:05:00', 1, 2), "
        "('2026-01-12 08:00:00', '2026-01-12 08:00:05', 5, NULL, '00:00:05', '00:00:00', "
        "'00:00:05', 5, 0), "
        "('2026-01-10 11:00:00', '2026-01-10 11:00:08', 8, NULL, '00:00:08', '00:00:00', "
        "'00:00:08', 9, 0);"
    )
    return s
