"""Ingest of one file: it becomes a library item, pending → analyzing → ready | failed.

:func:`ingest_file` takes a file into a station's library; the scan
(``_scan.py`` walks folders with it) and the upload API both use it.
Content decides identity: the SHA-256 of the file's bytes is unique per
station, so a copy under another name is reported as a duplicate and a moved
file keeps its item. A file with no audio at all (empty, not audio, not one
frame decodes) is refused: it gets no item, as it can never play, and the
result says why. Every step commits its state, so an item never
hides: if the process dies mid-analysis the item stays ANALYZING with its
start time, and :func:`recover_stuck` (run before every scan and
reanalysis) sends it back to PENDING, or to FAILED after too many tries.
Only READY items are scheduled (``queries.ready_media``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ColumnElement

from grimnir.domain import LibraryError, MediaState
from grimnir.domain.titles import names_from_filename
from grimnir.library import queries
from grimnir.library._columns import apply_tags
from grimnir.library._errors import NoAudioError
from grimnir.library._tasks import FileTags, read_file_tags
from grimnir.observability import metrics as observed
from grimnir.store.models import MediaItem

if TYPE_CHECKING:
    from grimnir.library.analysis import AnalysisOptions, MediaAnalysis
    from grimnir.library.pool import AnalysisPool
    from grimnir.library.storage import Storage

Sessions = async_sessionmaker[AsyncSession]

MAX_ATTEMPTS = 3
"""Analyses an item may start before an interrupted one counts as failed."""
_HASH_CHUNK = 1024 * 1024
_TAGS_TIMEOUT_S = 60.0
_EMPTY = "empty file (0 bytes): nothing to play"


class Outcome(StrEnum):
    """What one ingest did with a file."""

    ADDED = "added"  # a new item
    UPDATED = "updated"  # the file at a known path changed: its item was re-read
    RESUMED = "resumed"  # a known item left pending (interrupted) was analysed now
    DUPLICATE = "duplicate"  # the station already has this content under another path
    SKIPPED = "skipped"  # already stored and unchanged (or moved: its item follows it)
    FAILED = "failed"  # the file could not be read; no item was made
    REFUSED = "refused"  # no audio that can play (empty, not audio, nothing decodes); no item


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file. ``state`` is the item's state afterwards (None
    when no item exists); ``reason`` says why it failed, was skipped or whose
    duplicate it is; ``warnings`` are problems the item can live with."""

    path: str
    outcome: Outcome
    item_id: uuid.UUID | None = None
    state: MediaState | None = None
    reason: str | None = None
    duplicate_of: uuid.UUID | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the file did not end up as a usable item."""
        refused = self.outcome in (Outcome.FAILED, Outcome.REFUSED)
        return refused or self.state is MediaState.FAILED


def _now() -> datetime:
    return datetime.now(UTC)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes, read in 1 MiB chunks (any size, little memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _unchanged(known: queries.KnownFile, st: os.stat_result) -> bool:
    # NOTE: the schema keeps no file mtime, so "not modified since the item was
    # made" stands in: a file retagged later is hashed again on every scan
    # (slower, never wrong, as the hash decides).
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return known.size_bytes == st.st_size and modified <= known.created_at


async def ingest_file(
    session_factory: Sessions,
    station_id: uuid.UUID,
    path: str | os.PathLike[str],
    *,
    pool: AnalysisPool,
    options: AnalysisOptions,
    storage: Storage | None = None,
    artwork_dir: Path | None = None,
    known: queries.KnownFile | None = None,
    named: str | None = None,
) -> IngestResult:
    """Take one file into the station's library and analyse it.

    A file whose tags give no title is named after ``named`` (the name the file
    goes by, such as an upload's own; by default its file name).

    Without ``storage`` the item refers to the file where it is (its absolute
    path); with one, the file is copied into the storage and the item keeps
    the storage key. Artwork thumbnails go to ``artwork_dir`` (or the
    storage). ``known`` is what a scan already knows about this path (it
    saves a query per file). Never raises for a bad file: the result says
    what happened; a new file with no audio at all is ``REFUSED`` and leaves
    nothing behind (no item, no stored copy, no artwork).
    """
    file = Path(path).absolute()
    name = str(file)
    try:
        st = file.stat()
    except OSError as e:
        return IngestResult(name, Outcome.FAILED, reason=f"cannot read the file: {e.strerror}")
    if not file.is_file():
        return IngestResult(name, Outcome.FAILED, reason="not a regular file")
    if storage is None:
        if known is None:
            async with session_factory() as session:
                previous = await queries.find_by_path(session, station_id, name)
                known = _known(previous) if previous is not None else None
        if known is not None and _unchanged(known, st):
            return await _already_stored(session_factory, known, file, pool, options)
    if st.st_size == 0:
        return await _empty(session_factory, name, known)
    try:
        sha256 = await asyncio.to_thread(sha256_of, file)
    except OSError as e:
        return IngestResult(name, Outcome.FAILED, reason=f"cannot read the file: {e.strerror}")

    async with session_factory() as session, session.begin():
        twin = await queries.find_by_sha256(session, station_id, sha256)
        same = None if twin is None else await _same_content(session, twin, file, storage is None)
    if same is not None:
        moved = (same.reason or "").startswith("moved from")
        emptied = known.id if known and (known.failed_reason or "").startswith(_EMPTY) else None
        retry = moved or (emptied is not None and same.item_id == emptied)
        if same.item_id is not None and same.state is MediaState.FAILED and retry:
            # NOTE: a failed file that was renamed or moved (given the right
            # extension, say), or one emptied and then restored, gets another
            # chance instead of staying failed.
            state, reason, warnings = await analyze_item(
                session_factory, same.item_id, file, pool=pool, options=options
            )
            return IngestResult(
                name, Outcome.RESUMED, same.item_id, state, reason, warnings=warnings
            )
        return same
    tags = await _read_tags(pool, file)
    stored_as = name
    if storage is not None:
        stored = await asyncio.to_thread(storage.put, file, file.name, str(station_id))
        stored_as = stored.key
    artwork = await _save_artwork(tags.thumbnail, sha256, station_id, artwork_dir, storage)

    async with session_factory() as session:
        outcome = Outcome.ADDED
        item: MediaItem | None = None
        if storage is None and known is not None:
            item = await session.get(MediaItem, known.id)
        if item is None:
            item = MediaItem(station_id=station_id, custom_tags={})
            session.add(item)
        else:
            outcome = Outcome.UPDATED
        item.sha256, item.path, item.size_bytes = sha256, stored_as, st.st_size
        apply_tags(item, tags.columns, tags.custom)
        called = file.name if named is None else named
        if called and not item.title:
            item.artist, item.title = names_from_filename(called, item.artist)
        item.artwork_path = artwork
        item.state, item.failed_reason = MediaState.PENDING, None
        too_big = tags.oversize
        if too_big is not None:
            item.state, item.failed_reason = MediaState.FAILED, too_big
        try:
            await session.commit()
        except IntegrityError:
            # another ingest stored the same content a moment ago
            await session.rollback()
            async with session_factory() as again:
                twin = await queries.find_by_sha256(again, station_id, sha256)
                if twin is None:
                    raise
                return await _same_content(again, twin, file, storage is None)
        item_id = item.id
    if too_big is not None:
        return IngestResult(name, outcome, item_id, MediaState.FAILED, too_big)
    source = storage.path(stored_as) if storage is not None else file
    done = await _analyze_item(session_factory, item_id, source, pool=pool, options=options)
    if done.no_audio and outcome is Outcome.ADDED:
        # NOTE: a new file with no audio is refused, not kept as a failed item
        # (it can never play); a known item whose file went bad stays failed,
        # to say so.
        await discard_item(session_factory, item_id, storage=storage)
        return IngestResult(name, Outcome.REFUSED, reason=done.reason)
    warnings = tags.warnings + done.warnings
    return IngestResult(name, outcome, item_id, done.state, done.reason, warnings=warnings)


async def _empty(
    session_factory: Sessions, name: str, known: queries.KnownFile | None
) -> IngestResult:
    """An empty file is refused without hashing it: every empty file has the same
    hash, so the second would pass for a duplicate of the first. A known item
    whose file became empty fails (it comes back when the file is restored)."""
    if known is None:
        return IngestResult(name, Outcome.REFUSED, reason=_EMPTY)
    reason = f"{_EMPTY}; restore the file or delete the item"
    async with session_factory() as session, session.begin():
        await session.execute(
            update(MediaItem)
            .where(MediaItem.id == known.id)
            .values(state=MediaState.FAILED, failed_reason=reason)
        )
    return IngestResult(name, Outcome.UPDATED, known.id, MediaState.FAILED, reason)


async def discard_item(
    session_factory: Sessions, item_id: uuid.UUID, *, storage: Storage | None = None
) -> None:
    """Delete an item that is not to be kept, with the files nothing else uses:
    its artwork and, when ``storage`` holds its audio, that stored copy. A
    file ingested where it is (no ``storage``) belongs to the station and stays."""
    async with session_factory() as session, session.begin():
        item = await session.get(MediaItem, item_id)
        if item is None:
            return
        audio, artwork = item.path, item.artwork_path
        await session.delete(item)
    if storage is not None:
        await _remove_unused(session_factory, MediaItem.path == audio, audio, storage)
    if artwork is not None:
        await _remove_unused(session_factory, MediaItem.artwork_path == artwork, artwork, storage)


async def _remove_unused(
    session_factory: Sessions,
    users: ColumnElement[bool],
    value: str,
    storage: Storage | None,
) -> None:
    """Delete the file ``value`` (a path, or a key of ``storage``) unless an item uses it."""
    async with session_factory() as session:
        used = await session.scalar(select(func.count()).select_from(MediaItem).where(users))
    if used:
        return
    if Path(value).is_absolute():
        await asyncio.to_thread(Path(value).unlink, missing_ok=True)
    elif storage is not None:
        await asyncio.to_thread(storage.delete, value)


def _known(item: MediaItem) -> queries.KnownFile:
    return queries.KnownFile(
        item.id,
        item.path,
        item.size_bytes,
        item.sha256,
        item.state,
        item.created_at,
        item.failed_reason,
    )


async def _already_stored(
    session_factory: Sessions,
    known: queries.KnownFile,
    file: Path,
    pool: AnalysisPool,
    options: AnalysisOptions,
) -> IngestResult:
    name = str(file)
    if known.state is MediaState.PENDING:
        state, reason, warnings = await analyze_item(
            session_factory, known.id, file, pool=pool, options=options
        )
        return IngestResult(name, Outcome.RESUMED, known.id, state, reason, warnings=warnings)
    why = known.failed_reason if known.state is MediaState.FAILED else None
    if known.state is MediaState.ANALYZING:
        why = "being analysed by another scan"
    return IngestResult(name, Outcome.SKIPPED, known.id, known.state, why)


async def _same_content(
    session: AsyncSession, twin: MediaItem, file: Path, local: bool
) -> IngestResult:
    name = str(file)
    if twin.path == name:  # touched, not changed
        return IngestResult(name, Outcome.SKIPPED, twin.id, twin.state)
    if local and not await asyncio.to_thread(Path(twin.path).exists):
        old = twin.path
        twin.path = name
        await session.commit()
        return IngestResult(name, Outcome.SKIPPED, twin.id, twin.state, f"moved from {old}")
    return IngestResult(
        name,
        Outcome.DUPLICATE,
        twin.id,
        twin.state,
        f"duplicate of {twin.id} ({twin.path})",
        duplicate_of=twin.id,
    )


async def _read_tags(pool: AnalysisPool, file: Path) -> FileTags:
    try:
        return await pool.call(
            read_file_tags,
            str(file),
            timeout_s=min(pool.timeout_s, _TAGS_TIMEOUT_S),
            label=f"tags of {file}",
        )
    except Exception as e:  # no tags is no reason to refuse the audio
        return FileTags(columns={}, custom={}, warnings=[f"the tags could not be read: {e}"])


async def _save_artwork(
    thumbnail: bytes | None,
    sha256: str,
    station_id: uuid.UUID,
    artwork_dir: Path | None,
    storage: Storage | None,
) -> str | None:
    if thumbnail is None:
        return None
    if artwork_dir is None and storage is None:
        return None

    def write() -> str:
        if artwork_dir is not None:
            folder = artwork_dir / str(station_id)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{sha256}.jpg"
            partial = target.with_suffix(".jpg.part")
            partial.write_bytes(thumbnail)
            partial.replace(target)
            return str(target)
        if storage is None:  # unreachable: checked above (keeps mypy sure of it)
            raise LibraryError("no place to keep artwork")
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / f"{sha256}.jpg"
            staged.write_bytes(thumbnail)
            key: str = storage.put(staged, staged.name, str(station_id)).key
            return key

    return await asyncio.to_thread(write)


async def analyze_item(
    session_factory: Sessions,
    item_id: uuid.UUID,
    source: Path,
    *,
    pool: AnalysisPool,
    options: AnalysisOptions,
) -> tuple[MediaState, str | None, list[str]]:
    """Analyse a stored item's file: ANALYZING, then READY or FAILED(reason).

    Returns the final state, the failure reason and the analysis warnings.
    """
    done = await _analyze_item(session_factory, item_id, source, pool=pool, options=options)
    return done.state, done.reason, done.warnings


@dataclass(frozen=True)
class _Analysed:
    state: MediaState
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    no_audio: bool = False
    """The file has no audio at all (``NoAudioError``)."""


async def _analyze_item(
    session_factory: Sessions,
    item_id: uuid.UUID,
    source: Path,
    *,
    pool: AnalysisPool,
    options: AnalysisOptions,
) -> _Analysed:
    """Analyse one item, timed and traced as an analysis job."""
    with observed.analysis_job(str(item_id)) as span:
        done = await _run_analysis(session_factory, item_id, source, pool=pool, options=options)
        span.set_attribute("state", done.state.value)
    observed.analysis_result(done.state is MediaState.READY)
    return done


async def _run_analysis(
    session_factory: Sessions,
    item_id: uuid.UUID,
    source: Path,
    *,
    pool: AnalysisPool,
    options: AnalysisOptions,
) -> _Analysed:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(MediaItem)
            .where(MediaItem.id == item_id)
            .values(
                state=MediaState.ANALYZING,
                analysis_started_at=_now(),
                analysis_attempts=MediaItem.analysis_attempts + 1,
                failed_reason=None,
            )
        )
    try:
        analysis = await pool.analyze(str(source), options)
    except LibraryError as e:
        state = await _mark_failed(session_factory, item_id, str(e))
        return _Analysed(state, str(e), no_audio=isinstance(e, NoAudioError))
    except Exception as e:  # a bug or a dead pool must not leave the item analysing
        reason = f"unexpected analysis error ({type(e).__name__}: {e})"
        return _Analysed(await _mark_failed(session_factory, item_id, reason), reason)
    try:
        async with session_factory() as session, session.begin():
            await session.execute(
                update(MediaItem)
                .where(MediaItem.id == item_id)
                .values(**_analysis_values(analysis))
            )
    except IntegrityError as e:
        reason = f"the analysis gave values the library refuses: {getattr(e, 'orig', e)}"
        state = await _mark_failed(session_factory, item_id, reason)
        return _Analysed(state, reason, analysis.warnings)
    return _Analysed(MediaState.READY, None, analysis.warnings)


def _analysis_values(a: MediaAnalysis) -> dict[str, object]:
    return {
        "state": MediaState.READY,
        "failed_reason": None,
        "format": a.format[:32],
        "sample_rate_hz": a.sample_rate_hz,
        "channels": a.channels,
        "bitrate_kbps": a.bitrate_kbps,
        "duration_ms": a.duration_ms,
        "loudness_lufs": a.loudness_lufs,
        "loudness_range_lu": a.loudness_range_lu,
        "true_peak_dbtp": a.true_peak_dbtp,
        "gain_db": a.gain_db,
        "cue_in_ms": a.cue_in_ms,
        "cue_out_ms": a.cue_out_ms,
        "intro_end_ms": a.intro_end_ms,
        "segue_ms": a.segue_ms,
        "waveform": a.waveform,
    }


async def _mark_failed(session_factory: Sessions, item_id: uuid.UUID, reason: str) -> MediaState:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(MediaItem)
            .where(MediaItem.id == item_id)
            .values(state=MediaState.FAILED, failed_reason=reason)
        )
    return MediaState.FAILED


async def recover_stuck(
    session_factory: Sessions,
    *,
    older_than_s: float,
    station_id: uuid.UUID | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[uuid.UUID]:
    """Send items stuck in ANALYZING (their analysis began more than
    ``older_than_s`` ago, so the process doing it died) back to PENDING, or
    to FAILED once they used ``max_attempts``; returns the ids moved."""
    cutoff = _now() - timedelta(seconds=older_than_s)
    async with session_factory() as session, session.begin():
        query = select(MediaItem.id, MediaItem.analysis_attempts).where(
            MediaItem.state == MediaState.ANALYZING,
            (MediaItem.analysis_started_at.is_(None)) | (MediaItem.analysis_started_at < cutoff),
        )
        if station_id is not None:
            query = query.where(MediaItem.station_id == station_id)
        rows = (await session.execute(query)).all()
        for item_id, attempts in rows:
            values: dict[str, object] = {"state": MediaState.PENDING}
            if attempts >= max_attempts:
                values = {
                    "state": MediaState.FAILED,
                    "failed_reason": (
                        f"analysis was interrupted {attempts} times (the process analysing "
                        "it stopped); run `grimnir library reanalyze` on it to try again"
                    ),
                }
            await session.execute(
                update(MediaItem)
                .where(MediaItem.id == item_id, MediaItem.state == MediaState.ANALYZING)
                .values(**values)
            )
    return [item_id for item_id, _ in rows]


__all__ = [
    "MAX_ATTEMPTS",
    "IngestResult",
    "Outcome",
    "analyze_item",
    "discard_item",
    "ingest_file",
    "recover_stuck",
    "sha256_of",
]
