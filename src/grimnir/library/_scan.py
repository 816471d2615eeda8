"""Scanning a folder into a station's library, and analysing items again.

A scan walks the folder, skips what is obviously not audio (hidden files,
pictures, playlists, cue sheets, text), and ingests everything else: a file
with the wrong extension still gets its chance, because FFmpeg goes by
content. A file with no audio at all (empty, not audio, nothing decodes) is
refused: it is counted and reported with its reason but gets no item, so it
is looked at again by the next scan. Audio the analysis will not put on air
(silent, too corrupt, named for another format) is kept as a failed item with
its reason. A scan can be stopped and run again at any time: files already
stored are skipped by path, size and modification time without being read
again.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import LibraryError, MediaState
from grimnir.library import queries
from grimnir.library._ingest import (
    MAX_ATTEMPTS,
    IngestResult,
    Outcome,
    Sessions,
    analyze_item,
    ingest_file,
    recover_stuck,
)
from grimnir.store.models import MediaItem

if TYPE_CHECKING:
    from grimnir.library.analysis import AnalysisOptions
    from grimnir.library.pool import AnalysisPool
    from grimnir.library.storage import Storage

# Extensions never worth decoding: pictures, documents, playlists, cue sheets, checksums.
_NOT_AUDIO_WORDS = (
    "txt nfo log cue m3u m3u8 pls xspf jpg jpeg png gif bmp webp tif tiff pdf doc docx rtf "
    "md html htm xml json yaml yml ini db sqlite sfv md5 sha1 sha256 accurip ffp par2 torrent "
    "url lnk ds_store lrc srt zip rar 7z exe py sh part tmp"
)
NOT_AUDIO = frozenset(f".{word}" for word in _NOT_AUDIO_WORDS.split())

T = TypeVar("T")

Progress = Callable[[int, int, IngestResult], None]
"""Called after each file: (files done, files in all, what happened to it)."""


@dataclass
class ScanReport:
    """What a scan or reanalysis did: counts per outcome and the failures with reasons.

    ``ready`` counts files whose item is READY at the end (new or already
    stored); ``failed`` files that are not usable, with ``failures`` saying why;
    ``refused`` those of them that got no item (no audio that can play).
    """

    total: int = 0
    added: int = 0
    updated: int = 0
    resumed: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: int = 0
    refused: int = 0
    ready: int = 0
    ignored: int = 0
    recovered: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    results: list[IngestResult] = field(default_factory=list)

    def count(self, result: IngestResult) -> None:
        self.results.append(result)
        outcome = result.outcome
        if outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        elif outcome is Outcome.SKIPPED:
            self.skipped += 1
        elif outcome is Outcome.ADDED:
            self.added += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        elif outcome is Outcome.RESUMED:
            self.resumed += 1
        if result.failed:
            self.failed += 1
            reason = result.reason or "unknown reason"
            if outcome is Outcome.REFUSED:
                self.refused += 1
                reason += " (refused: not added to the library)"
            self.failures.append((result.path, reason))
        elif result.state is MediaState.READY and outcome is not Outcome.DUPLICATE:
            self.ready += 1
        self.warnings.extend((result.path, w) for w in result.warnings)

    def counts(self) -> dict[str, int]:
        """The counts by name, for printing and JSON."""
        names = ("total", "added", "updated", "resumed", "duplicates", "skipped", "failed")
        return {n: getattr(self, n) for n in (*names, "refused", "ready", "ignored", "recovered")}


def stuck_after_s(pool: AnalysisPool) -> float:
    """How long an item may stay ANALYZING before it counts as stuck: longer than
    any analysis can take in ``pool`` (deadline × attempts, plus queueing)."""
    return pool.timeout_s * (pool.max_attempts + 2) + 60.0


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def audio_candidates(directory: Path) -> tuple[list[Path], int]:
    """Files under ``directory`` worth trying, sorted, and how many were left out."""
    files, ignored = [], 0
    for path in _walk(directory):
        if path.suffix.lower() in NOT_AUDIO or not path.is_file():
            ignored += 1
        else:
            files.append(path)
    return files, ignored


async def scan(
    session_factory: Sessions,
    station_id: uuid.UUID,
    directory: str | os.PathLike[str],
    *,
    pool: AnalysisPool,
    options: AnalysisOptions,
    progress: Progress | None = None,
    storage: Storage | None = None,
    artwork_dir: Path | None = None,
) -> ScanReport:
    """Ingest every audio-looking file under ``directory`` into the station.

    Items stuck in ANALYZING are recovered first. Files are ingested as fast
    as the pool takes them; the report counts what happened to each.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise LibraryError(f"{folder} is not a folder: give the folder to scan")
    started = time.monotonic()
    report = ScanReport()
    report.recovered = len(
        await recover_stuck(
            session_factory, older_than_s=stuck_after_s(pool), station_id=station_id
        )
    )
    files, report.ignored = await asyncio.to_thread(audio_candidates, folder.absolute())
    report.total = len(files)
    async with session_factory() as session:
        known = await queries.known_files(session, station_id)

    async def one(path: Path) -> IngestResult:
        return await ingest_file(
            session_factory,
            station_id,
            path,
            pool=pool,
            options=options,
            storage=storage,
            artwork_dir=artwork_dir,
            known=known.get(str(path)),
        )

    await _run_all(files, one, pool.max_in_flight, report, progress)
    report.seconds = time.monotonic() - started
    return report


async def _run_all(
    jobs: list[T],
    work: Callable[[T], Awaitable[IngestResult]],
    concurrency: int,
    report: ScanReport,
    progress: Progress | None,
) -> None:
    """Run ``work`` on every job, ``concurrency`` at a time, counting results in order
    of completion."""
    pending = iter(jobs)

    async def worker() -> None:
        for job in pending:  # NOTE: one shared iterator: each job is taken once
            result = await work(job)
            report.count(result)
            if progress is not None:
                progress(len(report.results), report.total, result)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(jobs))))))


async def items_to_reanalyze(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    ids: Iterable[uuid.UUID | str] = (),
    failed_only: bool = False,
    all_items: bool = False,
) -> list[tuple[uuid.UUID, str]]:
    """(id, stored path) of the items ``reanalyze`` should take."""
    wanted = list(ids)
    if bool(wanted) + failed_only + all_items != 1:
        raise LibraryError("say which items to reanalyse: ids, failed only, or all")
    if wanted:
        items = [await queries.get_media(session, i, station_id) for i in wanted]
        return [(item.id, item.path) for item in items]
    query = select(MediaItem.id, MediaItem.path).where(MediaItem.station_id == station_id)
    if failed_only:
        query = query.where(MediaItem.state == MediaState.FAILED)
    rows = await session.execute(query.order_by(MediaItem.path))
    return [(item_id, path) for item_id, path in rows]


async def reanalyze(
    session_factory: Sessions,
    station_id: uuid.UUID,
    *,
    pool: AnalysisPool,
    options: AnalysisOptions,
    ids: Iterable[uuid.UUID | str] = (),
    failed_only: bool = False,
    all_items: bool = False,
    storage: Storage | None = None,
    progress: Progress | None = None,
) -> ScanReport:
    """Analyse items again (by id, only the failed ones, or all of them).

    Tags are kept; analysis fields and the state are renewed. An item whose
    file is gone fails with a reason saying where it was expected.
    """
    started = time.monotonic()
    report = ScanReport()
    report.recovered = len(
        await recover_stuck(
            session_factory, older_than_s=stuck_after_s(pool), station_id=station_id
        )
    )
    async with session_factory() as session:
        items = await items_to_reanalyze(
            session, station_id, ids=ids, failed_only=failed_only, all_items=all_items
        )
    report.total = len(items)

    async def one(job: tuple[uuid.UUID, str]) -> IngestResult:
        item_id, stored = job
        source = storage.path(stored) if storage is not None else Path(stored)
        if not await asyncio.to_thread(Path(source).is_file):
            gone = f"the file is gone: nothing at {source}; restore it or delete the item"
            async with session_factory() as session, session.begin():
                item = await queries.get_media(session, item_id)
                item.state, item.failed_reason = MediaState.FAILED, gone
            return IngestResult(stored, Outcome.RESUMED, item_id, MediaState.FAILED, gone)
        state, reason, warnings = await analyze_item(
            session_factory, item_id, Path(source), pool=pool, options=options
        )
        return IngestResult(stored, Outcome.RESUMED, item_id, state, reason, warnings=warnings)

    await _run_all(items, one, pool.max_in_flight, report, progress)
    report.seconds = time.monotonic() - started
    return report


__all__ = ["MAX_ATTEMPTS", "NOT_AUDIO", "ScanReport", "audio_candidates", "reanalyze", "scan"]
