"""Seeded libraries for the planner tests and benchmarks.

``make_library(n, seed)`` returns ``MediaItem`` column values (READY items
with tags, analysis, NULLs, unicode and LIKE wildcards in the text) that are
the same for the same arguments; ``store_library`` writes them for a station,
``track_library`` builds the in-memory ``TrackLibrary`` without a database.
The ``library_db`` fixture gives a migrated SQLite / PostgreSQL / MariaDB
database per test module (SQLite with ``register_sqlite_functions``).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import MediaState
from grimnir.planner import Track, TrackLibrary, register_sqlite_functions
from grimnir.store import create_engine, session_factory
from grimnir.store.models import MediaItem, Station
from tests._databases import migrated_database

MEDIA_TABLE: Table = MediaItem.__table__  # type: ignore[assignment]  # declared as FromClause

_FIRST = ["Åsa", "Björk", "Ελένη", "Жанна", "東京", "Zoë", "Mary", "DJ_Snake", "Straße",
          "José", "Ölaf", "Sigur", "Kraft", "Daft", "ΣΟΦΙΑ", "Ñandú", "100%", "back\\slash",
          "Ünal", "Émile"]  # fmt: skip
_LAST = ["Quartet", "Band", "Orchestra", "Punk", "Rós", "Werk", "Collective", "Ensemble",
         "& The Waves", "Trio", "_Crew", "50% Off", "Brothers", "Sisters", "🎸"]  # fmt: skip
_WORDS = ["love", "Night", "ÉTÉ", "dance", "Rain", "fire", "Straße", "ΚΑΛΗΜΕΡΑ", "ночь",
          "100%", "a_b", "Blue", "gold", "Run", "Home", "sky", "Ölfeld", "dream",
          "Zoë"]  # fmt: skip
GENRES = ["Rock", "Pop", "Jazz", "Hip_Hop", "Électro", "Folk", "Metal", "Soul", "50% Jazz",
          "Classical", "rock n roll", "Ambient", "Blues", "Reggae", "Country", "Funk"]  # fmt: skip
MOODS = ["happy", "Sad", "calm", "ENERGETIC", "dark", "Mélancolique"]
LABELS = ["Sub Pop", "Warp", "4AD", "Ninja_Tune", "Domino", "ECM", "100% Records"]
LANGUAGES = ["en", "de", "fr", "no", "es", "el", "ru", "ja"]
EPOCH_2020 = datetime(2020, 1, 1, tzinfo=UTC)


def _maybe(rng: random.Random, value: Any, null: float = 0.15) -> Any:
    return None if rng.random() < null else value


def make_library(n: int, seed: int = 1, *, artists: int | None = None) -> list[dict[str, Any]]:
    """``n`` READY media rows (no ``station_id``), the same for the same arguments."""
    rng = random.Random(seed)
    pool = artists or max(1, n // 10)
    names = [
        f"{'The ' if rng.random() < 0.1 else ''}{rng.choice(_FIRST)} {rng.choice(_LAST)} {i}"
        for i in range(pool)
    ]
    rows = []
    for i in range(n):
        artist = rng.choice(names)
        if rng.random() < 0.05:
            artist = f"{artist} feat. {rng.choice(names)}"
        length = rng.randint(90_000, 420_000)
        cue_in = rng.randint(0, 2_000)
        created = EPOCH_2020 + timedelta(seconds=rng.randint(0, 6 * 365 * 86_400))
        if rng.random() < 0.2:
            created += timedelta(microseconds=rng.randint(1, 999_999))
        played = EPOCH_2020 + timedelta(seconds=rng.randint(0, int(6.9 * 365 * 86_400)))
        custom: dict[str, Any] = {}
        if rng.random() < 0.6:
            custom["tempo"] = rng.choice(["fast", "Slow", "MID_tempo", "50%"])
        if rng.random() < 0.3:
            custom["rating"] = rng.choice([1, 2, 3, 4.5, True, "5", "★★★"])
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.05:
            title += " (Radio Edit)"
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "sha256": f"{seed:08x}{i:056x}",
                "path": f"/music/{i}.mp3",
                "size_bytes": length * 24,
                "format": "mp3",
                "title": _maybe(rng, title, 0.03),
                "artist": _maybe(rng, artist, 0.03),
                "album": _maybe(rng, f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {i % 97}", 0.2),
                "genre": _maybe(rng, rng.choice(GENRES)),
                "mood": _maybe(rng, rng.choice(MOODS), 0.4),
                "label": _maybe(rng, rng.choice(LABELS), 0.3),
                "language": _maybe(rng, rng.choice(LANGUAGES), 0.3),
                "year": _maybe(rng, rng.randint(1955, 2025)),
                "bpm": _maybe(rng, round(rng.uniform(60, 180), 1), 0.2),
                "isrc": _maybe(rng, f"{rng.choice(['US', 'GB', 'NO'])}RC1{i:07d}", 0.4),
                "duration_ms": length,
                "cue_in_ms": cue_in,
                "cue_out_ms": length - rng.randint(0, 3_000),
                "intro_end_ms": _maybe(rng, cue_in + rng.randint(0, 20_000), 0.5),
                "segue_ms": _maybe(rng, length - rng.randint(3_000, 10_000), 0.5),
                "gain_db": _maybe(rng, round(rng.uniform(-8, 4), 2), 0.1),
                "loudness_lufs": _maybe(rng, round(rng.uniform(-20, -6), 2), 0.1),
                "created_at": created,
                "last_played_at": _maybe(rng, played, 0.3),
                "play_count": rng.randint(0, 500),
                "custom_tags": custom,
                "state": MediaState.READY,
            }
        )
    return rows


async def store_library(
    session: AsyncSession, station_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows`` for the station (the caller commits)."""
    now = datetime.now(UTC)
    for start in range(0, len(rows), 2_000):
        batch = [
            {"updated_at": now, **row, "station_id": station_id}
            for row in rows[start : start + 2_000]
        ]
        # NOTE: a Core insert on the table: the ORM's bulk path costs ~20× as much
        # per row here, and these are plain rows with no relationships.
        await session.execute(insert(MEDIA_TABLE), batch)


def track_library(rows: list[dict[str, Any]]) -> TrackLibrary:
    """The in-memory library of ``rows`` (what ``TrackLibrary.load`` would give)."""
    return TrackLibrary(
        Track.from_media(SimpleNamespace(**row))
        for row in rows
        if row.get("state", MediaState.READY) == MediaState.READY
    )


# -- databases ----------------------------------------------------------------
# NOTE: the store suite's DatabaseServer makes the throwaway databases; its
# conftest is loaded under another name (pytest imported it as "conftest").


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
    ],
)
def library_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a fresh database migrated to head, per backend and test module."""
    with migrated_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}")) as url:
        yield url


@pytest.fixture
async def sessions(library_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(library_db)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", register_sqlite_functions)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def station_id(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    """A committed station with a unique short name."""
    short = f"st-{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        row = Station(short_name=short, name=f"Station {short}", timezone="Europe/Oslo")
        session.add(row)
    return row.id
