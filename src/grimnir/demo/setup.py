"""``ensure_demo``: everything ``grimnir up --demo`` needs before it goes on air.

Idempotent: a second run finds what the first made and adds only what is
missing (files, library items, the block, the playlist, the clock, the admin
login). The control plane plans the 48 h timeline right after; the clock and
library made here fill it without gaps.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.config.settings import Settings
from grimnir.demo import _programming as prog
from grimnir.demo.music import generate_fallback, generate_library
from grimnir.demo.voice import make_station_ids
from grimnir.domain import LibraryError, MediaState
from grimnir.library.analysis import AnalysisOptions
from grimnir.library.ingest import scan
from grimnir.library.pool import AnalysisPool
from grimnir.services.accounts import create_user, find_user, hash_password, verify_password
from grimnir.store.models import MediaItem

log = logging.getLogger("grimnir.demo")

ADMIN_USER = "admin"
CREDENTIALS_FILE = "demo-admin.txt"
_TARGET_LUFS = -16.0  # the demo config's loudness_normalize target
FALLBACK_TRACKS = 3
"""Tracks in the demo station's fallback folder."""


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the demo set up: the station, the admin login and the generated files."""

    station_id: uuid.UUID
    short_name: str
    admin_user: str
    admin_password: str
    files: tuple[Path, ...]
    listen_path: str = prog.LISTEN_PATH
    """The stream's path on the station's built-in server (``http://HOST:PORT`` + this)."""
    spoken_ids: bool = False
    """Whether the station IDs speak (espeak-ng was found) or are stings only."""
    fallback: tuple[Path, ...] = ()
    """The tracks the engine loops when nothing is queued (``failover.fallback_paths``)."""


def media_dir(settings: Settings) -> Path:
    """Where the demo's generated files live: ``<data_dir>/demo/media``."""
    return Path(settings.data_dir) / "demo" / "media"


def fallback_dir(settings: Settings) -> Path:
    """The demo station's fallback tracks: ``<data_dir>/demo/fallback`` (beside the
    library folder, not in it, so they are never scanned into the library)."""
    return Path(settings.data_dir) / "demo" / "fallback"


async def ensure_demo(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    tracks: int = 12,
    seconds: float = 150.0,
    seed: int = 0,
) -> DemoInfo:
    """Create the demo station, library, programming and admin login if missing.

    ``tracks`` music tracks of about ``seconds`` each are generated (once) into
    :func:`media_dir`, with spoken station IDs when espeak-ng is installed, and
    ingested and analysed through the library. ``FALLBACK_TRACKS`` more go to
    :func:`fallback_dir`, the station's ``failover.fallback_paths``: what its
    engine loops when nothing is queued, even with the control plane down.
    Raises ``LibraryError`` when a generated file does not become READY (the
    reason is in the message).
    """
    if tracks < 1:
        raise LibraryError("the demo needs at least one music track: pass tracks >= 1")
    beds = fallback_dir(settings)
    fallback = await asyncio.to_thread(
        generate_fallback, beds, FALLBACK_TRACKS, seconds=seconds, seed=seed
    )
    async with sessions() as session, session.begin():
        station = await prog.ensure_station(session, beds)
        station_id, short_name = station.id, station.short_name
    folder = media_dir(settings)
    music = await asyncio.to_thread(
        generate_library, folder / "music", tracks, seconds=seconds, seed=seed
    )
    ids = await asyncio.to_thread(make_station_ids, folder / "ids", prog.NAME, seed=seed)
    await _ingest(settings, sessions, station_id, folder, [*music, *ids.files])
    async with sessions() as session, session.begin():
        id_items = await _ready_items(session, station_id, ids.files)
        block = await prog.ensure_music_block(session, station_id)
        playlist = await prog.ensure_id_playlist(session, station_id, [i.id for i in id_items])
        shortest = min(_playable_ms(item) for item in id_items)
        await prog.ensure_clock(session, station_id, block, playlist, shortest)
    password = await _ensure_admin(settings, sessions)
    return DemoInfo(
        station_id=station_id,
        short_name=short_name,
        admin_user=ADMIN_USER,
        admin_password=password,
        files=(*music, *ids.files),
        spoken_ids=ids.spoken,
        fallback=tuple(fallback),
    )


async def _ingest(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    station_id: uuid.UUID,
    folder: Path,
    files: list[Path],
) -> None:
    """Scan the demo folder into the library unless every file is READY already."""
    async with sessions() as session:
        ready = set(
            await session.scalars(
                select(MediaItem.path).where(
                    MediaItem.station_id == station_id,
                    MediaItem.state == MediaState.READY,
                    MediaItem.path.in_([str(p.absolute()) for p in files]),
                )
            )
        )
    if len(ready) == len(files):
        return
    workers = max(1, min(2, os.cpu_count() or 1))
    async with AnalysisPool(workers=workers) as pool:
        report = await scan(
            sessions,
            station_id,
            folder,
            pool=pool,
            options=AnalysisOptions(target_lufs=_TARGET_LUFS),
            artwork_dir=Path(settings.data_dir) / "artwork",
        )
    log.info(
        "demo library: %d file(s) scanned in %.1f s, %d ready, %d failed",
        report.total,
        report.seconds,
        report.ready,
        report.failed,
    )
    if report.failed:
        reasons = "; ".join(f"{Path(path).name}: {why}" for path, why in report.failures[:3])
        if len(report.failures) > 3:
            reasons += f"; and {len(report.failures) - 3} more"
        raise LibraryError(
            f"{report.failed} demo file(s) could not be analysed ({reasons}); delete "
            f"{folder} to generate them again"
        )


async def _ready_items(
    session: AsyncSession, station_id: uuid.UUID, files: tuple[Path, ...]
) -> list[MediaItem]:
    """The READY library items of ``files``, in the files' order."""
    paths = [str(p.absolute()) for p in files]
    rows = await session.scalars(
        select(MediaItem).where(
            MediaItem.station_id == station_id,
            MediaItem.path.in_(paths),
            MediaItem.state == MediaState.READY,
        )
    )
    by_path = {item.path: item for item in rows}
    missing = [p for p in paths if p not in by_path]
    if missing:
        raise LibraryError(f"demo file(s) not in the library: {', '.join(missing)}")
    return [by_path[p] for p in paths]


def _playable_ms(item: MediaItem) -> int:
    end = item.cue_out_ms if item.cue_out_ms is not None else item.duration_ms or 0
    return max(0, end - item.cue_in_ms)


def _read_password(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "password" and value.strip():
            return value.strip()
    return None


def _write_password(path: Path, password: str) -> None:
    """Write the login to ``path``, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(
            "# Grimnir demo: the admin login made by `grimnir up --demo`\n"
            f"user: {ADMIN_USER}\npassword: {password}\n"
        )
    os.chmod(part, 0o600)  # NOTE: a umask may have narrowed it, never widened; be exact
    os.replace(part, path)


async def _ensure_admin(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> str:
    """The password of the ``admin`` account, creating the account the first time.

    The password lives in ``<data_dir>/demo-admin.txt`` (0600). When an ``admin``
    exists whose password that file does not hold, it gets a new one (written
    there), so the printed login always works.
    """
    file = Path(settings.data_dir) / CREDENTIALS_FILE
    known = _read_password(file)
    async with sessions() as session, session.begin():
        user = await find_user(session, ADMIN_USER)
        if user is None:
            password = known or secrets.token_urlsafe(12)
            await create_user(session, username=ADMIN_USER, password=password, is_admin=True)
        elif known is not None and await asyncio.to_thread(
            verify_password, user.password_hash, known
        ):
            return known
        else:
            password = secrets.token_urlsafe(12)
            user.password_hash = hash_password(password)
            log.warning("the admin account's password was unknown: set a new one in %s", file)
    _write_password(file, password)
    return password
