"""Media: each file copied into our content storage and taken in by the library's
ingest (hashed, tagged, analysed like any upload), then given the other product's
metadata. The same audio twice becomes one item with both keys recorded; a file
the analysis refuses is a finding and the rest go on.

Ingest commits file by file (an item is never lost half-way); should the part
fail as a whole, the items it created are discarded again, so the part still
comes out all or nothing.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from sqlalchemy import delete

from grimnir.domain.errors import GrimnirError
from grimnir.importers._run import Run
from grimnir.importers.model import Finding, Media
from grimnir.importers.plan import PlanRow
from grimnir.library.analysis import AnalysisOptions
from grimnir.library.ingest import Outcome, discard_item, ingest_file
from grimnir.library.pool import AnalysisPool
from grimnir.library.storage import LocalStorage
from grimnir.services import library
from grimnir.services.stations import find_station
from grimnir.store.models import ImportRecord, MediaItem

_DEFAULT_TARGET_LUFS = -16.0
_TAGS = (
    "title",
    "artist",
    "album",
    "album_artist",
    "genre",
    "mood",
    "year",
    "bpm",
    "isrc",
    "label",
    "composer",
    "language",
    "track_number",
    "comment",
)


async def _options(run: Run) -> AnalysisOptions:
    """The station's loudness target (its ``loudness_normalize`` node), else -16 LUFS."""
    async with run.sessions() as session:
        station = await find_station(session, run.station())
        graph = ((station.config if station else None) or {}).get("dsp_graph") or {}
    for node in graph.get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == "loudness_normalize":
            target = node.get("target_lufs")
            if isinstance(target, int | float) and -70.0 < target < 0.0:
                return AnalysisOptions(target_lufs=float(target))
    return AnalysisOptions(target_lufs=_DEFAULT_TARGET_LUFS)


def _apply_metadata(item: MediaItem, media: Media, artwork: str | None) -> None:
    """Their tags over what the file's tags gave, their cue points, gain and dates."""
    for name in _TAGS:
        value = getattr(media, name)
        if value is not None:
            setattr(item, name, value)
    cue_in = media.cue_in_ms if media.cue_in_ms is not None else item.cue_in_ms
    cue_out = media.cue_out_ms if media.cue_out_ms is not None else item.cue_out_ms
    if cue_in is not None and cue_in >= 0 and (cue_out is None or cue_out > cue_in):
        item.cue_in_ms, item.cue_out_ms = cue_in, cue_out
    if media.amplify_db is not None:
        item.gain_db = media.amplify_db
    if media.custom:
        item.custom_tags = {**(item.custom_tags or {}), **media.custom}
    if artwork is not None:
        item.artwork_path = artwork
    # NOTE: smart blocks select on these ("added in the last 30 days"): they keep
    # the other product's dates, so the same tracks are chosen
    if media.added_at is not None:
        item.created_at = media.added_at
    if media.last_played_at is not None:
        item.last_played_at = media.last_played_at


def _copy_artwork(media: Media, folder: Path, sha256: str) -> str | None:
    if media.artwork is None or not media.artwork.is_file():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha256}{media.artwork.suffix or '.jpg'}"
    shutil.copyfile(media.artwork, target)
    return str(target)


async def _forget_file(run: Run, path: Path) -> None:
    async with run.sessions() as session:
        used = await library.path_in_use(session, str(path))
    if not used:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def _discard(run: Run, item_id: uuid.UUID) -> None:
    """Delete an item this run made, with its stored file when nothing else uses it."""
    async with run.sessions() as session:
        item = await session.get(MediaItem, item_id)
        path = None if item is None else Path(item.path)
    await discard_item(run.sessions, item_id)
    if path is not None:
        await _forget_file(run, path)


class _MediaPart:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.store = LocalStorage(run.media_dir, "content")
        self.by_sha: dict[str, uuid.UUID] = {}
        self.made: list[uuid.UUID] = []
        self.mark = run.ledger.checkpoint()

    async def record(self, key: str, item_id: uuid.UUID, *, created: bool) -> None:
        async with self.run.sessions() as session, session.begin():
            self.run.ledger.add(session, "media", key, "media_items", item_id, created=created)

    async def one(self, media: Media, pool: AnalysisPool, options: AnalysisOptions) -> PlanRow:
        run, name = self.run, media.title or media.original_path
        action = run.action("media", media.key)
        if action == "skip" or action is None or media.file is None:
            return run.done("media", media.key, name, "skip")
        if run.ledger.find("media", media.key) is not None:
            return run.done("media", media.key, name, "exists")
        station_id, digest = run.station(), run.plan.sha256[media.key]
        # NOTE: audio already in the library is found by the ingest itself (by its
        # hash, with the same query): only this run's own twins are known here first
        twin = self.by_sha.get(digest)
        if twin is not None:
            await self.record(media.key, twin, created=False)
            return run.done("media", media.key, name, "exists", f"same audio as item {twin}")
        # NOTE: content storage names the file by its hash; only the suffix counts
        called = f"import{media.file.suffix.lower()}"
        try:
            stored = await asyncio.to_thread(self.store.put, media.file, called, str(station_id))
        except (GrimnirError, OSError, ValueError) as e:
            reason = f"the file cannot be copied into the library: {e}"
            run.findings.append(Finding("media", name, reason))
            return run.done("media", media.key, name, "skip", reason)
        result = await ingest_file(
            run.sessions,
            station_id,
            stored.path,
            pool=pool,
            options=options,
            artwork_dir=run.artwork_dir,
            named=media.title or Path(media.original_path).name,
        )
        if result.failed or result.item_id is None:
            if result.item_id is not None and result.outcome is Outcome.ADDED:
                await discard_item(run.sessions, result.item_id)
            await _forget_file(run, stored.path)
            reason = f"the file failed analysis: {result.reason or result.outcome.value}"
            run.findings.append(Finding("media", name, reason))
            return run.done("media", media.key, name, "skip", reason)
        if result.outcome is not Outcome.ADDED:
            # NOTE: the library had this audio already (elsewhere, if it was scanned
            # in place): the copy made for the ingest goes unless that item uses it
            await _forget_file(run, stored.path)
            await self.record(media.key, result.item_id, created=False)
            self.by_sha[digest] = result.item_id
            return run.done(
                "media", media.key, name, "exists", f"same audio as item {result.item_id}"
            )
        self.made.append(result.item_id)
        self.by_sha[digest] = result.item_id
        folder = run.artwork_dir / str(station_id)
        artwork = await asyncio.to_thread(_copy_artwork, media, folder, digest)
        async with run.sessions() as session, session.begin():
            item = await session.get(MediaItem, result.item_id)
            if item is not None:
                _apply_metadata(item, media, artwork)
            run.ledger.add(session, "media", media.key, "media_items", result.item_id, created=True)
        return run.done(
            "media", media.key, name, "create", result.state.value if result.state else ""
        )

    async def undo(self) -> None:
        """Discard what this part made (it failed as a whole)."""
        async with self.run.sessions() as session, session.begin():
            await session.execute(
                delete(ImportRecord).where(
                    ImportRecord.import_id == self.run.ledger.import_id,
                    ImportRecord.part == "media",
                )
            )
        for item_id in self.made:
            await _discard(self.run, item_id)
        self.run.ledger.restore(self.mark)


async def media_part(run: Run) -> list[PlanRow]:
    """Every media row: copied, ingested, given their metadata (or found here).

    The new files go through the analysis pool as many at a time as it takes (as
    a library scan does); the rows that are found here or repeat audio of another
    row follow, once every new item exists to be pointed at."""
    part = _MediaPart(run)
    rows = run.snapshot.media
    new = [m for m in rows if run.action("media", m.key) == "create"]
    others = [m for m in rows if run.action("media", m.key) != "create"]
    outcome: dict[str, PlanRow] = {}
    options = await _options(run)

    async def one(media: Media, pool: AnalysisPool) -> None:
        outcome[media.key] = await part.one(media, pool, options)
        await run.tell("media", len(outcome), len(rows))

    try:
        async with AnalysisPool(workers=run.workers) as pool:
            queue = iter(new)

            async def worker() -> None:
                for media in queue:  # NOTE: one shared iterator: each row is taken once
                    await one(media, pool)

            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(max(1, min(pool.max_in_flight, len(new)))):
                        group.create_task(worker())
            except BaseExceptionGroup as e:
                raise e.exceptions[0] from None
            for media in others:
                await one(media, pool)
    except BaseException:
        await part.undo()
        raise
    return [outcome[m.key] for m in rows]
