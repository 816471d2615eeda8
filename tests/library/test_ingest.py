"""Ingest on real files, real worker processes and real databases (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import struct
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mutagen.flac import FLAC
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.domain import MediaState
from grimnir.library import queries
from grimnir.library.analysis import AnalysisOptions
from grimnir.library.ingest import (
    IngestResult,
    Outcome,
    ingest_file,
    reanalyze,
    recover_stuck,
    scan,
)
from grimnir.library.pool import AnalysisPool
from grimnir.observability import metrics as observed
from grimnir.store.models import MediaItem
from tests._tagging import open_audio
from tests.library import _fixtures as fx
from tests.library._fixtures import library_db, pool, sessions, station_id  # noqa: F401  (fixtures)

Sessions = async_sessionmaker[AsyncSession]
OPTIONS = AnalysisOptions(target_lufs=-16.0)
HARD_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six formats, 4 s each: 0.5 s silence, a -12 dBFS tone, 0.5 s silence, tagged."""
    root = tmp_path_factory.mktemp("corpus")
    for n, fmt in enumerate(fx.FORMATS):
        fx.make_audio(
            root / ("sub" if n % 2 else "") / f"song{n}.{fmt}",
            seconds=4.0,
            freq_hz=440.0 + 110 * n,
            head_s=0.5,
            tail_s=0.5,
            metadata={"title": f"Song {n}", "artist": "The Testers", "album": "Corpus"},
        )
    (root / "cover.jpg").write_bytes(b"\xff\xd8not really")
    (root / ".hidden.mp3").write_bytes(b"hidden")
    return root


async def _items(sessions: Sessions, station: uuid.UUID) -> list[MediaItem]:  # noqa: F811
    async with sessions() as session:
        return list(await queries.list_media(session, station, limit=None))


async def test_scan_corpus_resumes_and_finds_duplicates(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    corpus: Path,
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S):
        seen: list[tuple[int, int]] = []
        report = await scan(
            sessions,
            station_id,
            corpus,
            pool=pool,
            options=OPTIONS,
            artwork_dir=tmp_path / "art",
            progress=lambda done, total, _r: seen.append((done, total)),
        )
        assert report.failures == []
        assert (report.total, report.added, report.ready, report.failed) == (6, 6, 6, 0)
        assert report.ignored == 1  # cover.jpg; the hidden file is not even looked at
        assert seen[-1] == (6, 6)
        items = await _items(sessions, station_id)
        assert len(items) == 6
        for item in items:
            assert item.state is MediaState.READY, (item.path, item.failed_reason)
            assert item.artist == "The Testers"
            assert item.title is not None
            assert item.title.startswith("Song ")
            assert item.duration_ms is not None, item.path
            assert abs(item.duration_ms - 4000) <= 60, item.path
            assert abs(item.cue_in_ms - 500) <= 50, item.path
            assert item.cue_out_ms is not None, item.path
            assert abs(item.cue_out_ms - 3500) <= 50, item.path
            assert item.loudness_lufs is not None
            assert item.gain_db == pytest.approx(-16.0 - item.loudness_lufs, abs=0.01)
            assert item.true_peak_dbtp is not None
            assert item.true_peak_dbtp == pytest.approx(-12.0, abs=1.5)
            assert item.waveform
            assert item.analysis_attempts == 1
            assert item.analysis_started_at is not None
            assert len(item.sha256) == 64
            assert Path(item.path).is_absolute()
        async with sessions() as session:
            ready = await queries.ready_media(session, station_id)
        assert {i.id for i in ready} == {i.id for i in items}

        # a second run reads nothing again: every file is skipped
        again = await scan(sessions, station_id, corpus, pool=pool, options=OPTIONS)
        assert (again.added, again.skipped, again.failed, again.ready) == (0, 6, 0, 6)
        assert len(await _items(sessions, station_id)) == 6

        # a copy under another name is a duplicate, and stays out of the library
        copy = corpus / "sub" / "copy-of-song0.mp3"
        shutil.copy(corpus / "song0.mp3", copy)
        try:
            third = await scan(sessions, station_id, corpus, pool=pool, options=OPTIONS)
        finally:
            copy.unlink()
        (dup,) = [r for r in third.results if r.outcome is Outcome.DUPLICATE]
        assert dup.path == str(copy)
        original = next(i for i in items if i.path.endswith("song0.mp3"))
        assert dup.duplicate_of == original.id
        assert dup.reason is not None
        assert f"duplicate of {original.id}" in dup.reason
        assert (third.duplicates, third.skipped, third.added) == (1, 6, 0)
        assert len(await _items(sessions, station_id)) == 6


async def test_wrong_extension_moved_file_and_changed_file(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S):
        # an Ogg file named .mp3 is refused with what to do about it
        ogg = fx.make_audio(tmp_path / "a.ogg", seconds=2.0, metadata={"title": "Ogg"})
        wrong = tmp_path / "really-ogg.mp3"
        ogg.rename(wrong)
        refused = await ingest_file(sessions, station_id, wrong, pool=pool, options=OPTIONS)
        assert refused.state == MediaState.FAILED
        assert refused.reason is not None
        assert "wrong extension" in refused.reason
        assert "rename the file" in refused.reason
        # renamed to match its content, the same file is taken (the item is read again)
        wrong.rename(tmp_path / "a.ogg")
        wrong = tmp_path / "a.ogg"
        result = await ingest_file(sessions, station_id, wrong, pool=pool, options=OPTIONS)
        assert result.state == MediaState.READY

        # a moved file keeps its item
        moved = tmp_path / "moved.ogg"
        wrong.rename(moved)
        result2 = await ingest_file(sessions, station_id, moved, pool=pool, options=OPTIONS)
        assert (result2.outcome, result2.item_id) == (Outcome.SKIPPED, result.item_id)
        assert result2.reason == f"moved from {wrong}"

        # the file at a known path changes: the same item is read again
        path = fx.make_audio(tmp_path / "take.mp3", seconds=2.0, metadata={"title": "Take 1"})
        first = await ingest_file(sessions, station_id, path, pool=pool, options=OPTIONS)
        fx.make_audio(tmp_path / "new.mp3", seconds=3.0, metadata={"title": "Take 2"})
        os.replace(tmp_path / "new.mp3", path)
        future = datetime.now(UTC).timestamp() + 5
        os.utime(path, (future, future))
        result3 = await ingest_file(sessions, station_id, path, pool=pool, options=OPTIONS)
        assert (result3.outcome, result3.item_id) == (Outcome.UPDATED, first.item_id)
        assert first.item_id is not None
        async with sessions() as session:
            item = await queries.get_media(session, first.item_id)
        assert (item.title, item.state) == ("Take 2", MediaState.READY)
        assert item.duration_ms is not None
        assert abs(item.duration_ms - 3000) <= 60


REFUSED = {"empty.mp3", "not-audio.mp3", "truncated.mp3", "corrupt-header.wav"}
"""The broken files with no audio at all: refused, no item (the others fail as items)."""


def _bad_corpus(root: Path) -> dict[str, str]:
    """Broken files and the words their failure reason must contain."""
    root.mkdir()
    (root / "empty.mp3").write_bytes(b"")
    (root / "not-audio.mp3").write_text("this is a shopping list, not a song\n" * 50)
    good = fx.make_audio(root / "src.mp3", seconds=6.0, freq_hz=1000.0)
    data = good.read_bytes()
    good.unlink()
    (root / "truncated.mp3").write_bytes(data[: len(data) // 50])  # ~0.1 s of 6 s
    wav = fx.make_audio(root / "src.wav", seconds=2.0)
    header = bytearray(wav.read_bytes())
    wav.unlink()
    header[:12] = b"RIFX\x00\x00\x00\x00WAVQ"  # a header no reader knows
    (root / "corrupt-header.wav").write_bytes(bytes(header))
    stuffed = fx.make_audio(root / "oversize-tags.flac", seconds=2.0)
    tags = open_audio(FLAC, stuffed)
    tags["comment"] = "spam " * 1_000_000  # 5 MB of text
    tags.save()
    fx.make_audio(root / "silent.flac", seconds=3.0, silent=True)
    return {
        "empty.mp3": "empty file",
        "not-audio.mp3": "not an audio file",
        "corrupt-header.wav": "header",
        "truncated.mp3": "too little to air",
        "oversize-tags.flac": "oversize tags",
        "silent.flac": "silent",
    }


def _jobs(result: str) -> float:
    jobs = observed.REGISTRY.get_sample_value("grimnir_analysis_jobs_total", {"result": result})
    return jobs or 0.0


def _jobs_timed() -> float:
    count = "grimnir_analysis_job_duration_seconds_count"
    return observed.REGISTRY.get_sample_value(count, {}) or 0.0


async def test_bad_files_fail_with_reasons_and_keep_the_library(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    corpus: Path,
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S):
        first = await scan(sessions, station_id, corpus, pool=pool, options=OPTIONS)
        assert first.ready == 6
        expected = _bad_corpus(corpus / "bad")
        jobs = {r: _jobs(r) for r in ("ready", "failed")}
        timed = _jobs_timed()
        try:
            report = await scan(sessions, station_id, corpus, pool=pool, options=OPTIONS)
        finally:
            shutil.rmtree(corpus / "bad")
        # every analysis is counted by its result and timed (/metrics); files refused
        # before analysis (empty, too big) are failures but no analysis jobs
        failed_jobs = _jobs("failed") - jobs["failed"]
        assert 1 <= failed_jobs <= report.failed
        assert _jobs("ready") == jobs["ready"]  # the good files were known already
        assert _jobs_timed() - timed == failed_jobs
        reasons = {Path(path).name: reason for path, reason in report.failures}
        assert set(reasons) == set(expected), reasons
        for name, words in expected.items():
            assert words in reasons[name], (name, reasons[name])
        assert (report.total, report.failed, report.skipped, report.ready) == (12, 6, 6, 6)
        assert (report.refused, report.added) == (len(REFUSED), 6 - len(REFUSED))
        refused = {Path(r.path).name for r in report.results if r.outcome is Outcome.REFUSED}
        assert refused == REFUSED
        assert all(r.item_id is None for r in report.results if r.outcome is Outcome.REFUSED)
        items = await _items(sessions, station_id)
        by_state = {s: sorted(Path(i.path).name for i in items if i.state is s) for s in MediaState}
        assert len(by_state[MediaState.READY]) == 6  # nothing stored before was lost
        assert sorted(by_state[MediaState.FAILED]) == sorted(set(expected) - REFUSED)
        for item in items:
            if item.state is MediaState.FAILED:
                assert item.failed_reason == reasons[Path(item.path).name]
        async with sessions() as session:
            ready = await queries.ready_media(session, station_id)
        assert all(i.state is MediaState.READY for i in ready)
        assert len(ready) == 6


async def test_empty_files_are_reported_as_empty_not_as_duplicates(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S):
        root = tmp_path / "drop"
        song = fx.make_audio(root / "song.wav", seconds=2.0)
        empties = {"a.mp3", "b.mp3", "sub/c.flac"}  # one hash for all: the old "duplicates"
        for name in empties:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(b"")

        def by_name(results: list[IngestResult]) -> dict[str, IngestResult]:
            return {Path(r.path).relative_to(root).as_posix(): r for r in results}

        for _ in range(2):  # the second scan skips the song and refuses the same files
            report = await scan(sessions, station_id, root, pool=pool, options=OPTIONS)
            results = by_name(report.results)
            assert (report.total, report.ready, report.duplicates) == (4, 1, 0)
            assert (report.failed, report.refused) == (3, 3)
            for name in empties:
                empty = results[name]
                assert empty.outcome is Outcome.REFUSED, empty
                assert empty.reason is not None
                assert empty.reason.startswith("empty file (0 bytes)")
                assert (empty.item_id, empty.duplicate_of) == (None, None)
            assert sorted(Path(p).name for p, _ in report.failures) == ["a.mp3", "b.mp3", "c.flac"]
            assert all(why.startswith("empty file") for _, why in report.failures)
            (item,) = await _items(sessions, station_id)
            assert (Path(item.path).name, item.state) == ("song.wav", MediaState.READY)

        # a file the library has that becomes empty fails as empty (not as a duplicate
        # of the other empty files), and is ready again once it is restored
        data = song.read_bytes()
        song.write_bytes(b"")
        emptied = await scan(sessions, station_id, root, pool=pool, options=OPTIONS)
        gone = by_name(emptied.results)["song.wav"]
        assert (gone.outcome, gone.item_id, gone.state) == (
            Outcome.UPDATED,
            item.id,
            MediaState.FAILED,
        )
        assert gone.reason is not None
        assert gone.reason.startswith("empty file (0 bytes)")
        assert (emptied.duplicates, emptied.refused, emptied.failed) == (0, 3, 4)
        song.write_bytes(data)
        restored = await ingest_file(sessions, station_id, song, pool=pool, options=OPTIONS)
        assert (restored.item_id, restored.state) == (item.id, MediaState.READY)
        assert len(await _items(sessions, station_id)) == 1


async def test_stuck_item_is_recovered_by_the_next_scan(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S):
        song = fx.make_audio(tmp_path / "music" / "stuck.wav", seconds=2.0)
        first = await scan(sessions, station_id, song.parent, pool=pool, options=OPTIONS)
        (item_id,) = [r.item_id for r in first.results]
        assert item_id is not None
        # as if the process analysing it had died an hour ago
        async with sessions() as session, session.begin():
            await session.execute(
                update(MediaItem)
                .where(MediaItem.id == item_id)
                .values(
                    state=MediaState.ANALYZING,
                    analysis_started_at=datetime.now(UTC) - timedelta(hours=1),
                )
            )
        report = await scan(sessions, station_id, song.parent, pool=pool, options=OPTIONS)
        assert (report.recovered, report.resumed, report.ready) == (1, 1, 1)
        async with sessions() as session:
            item = await queries.get_media(session, item_id)
        assert item.state is MediaState.READY
        assert item.analysis_attempts == 2

        # after too many interrupted attempts it fails instead of looping
        async with sessions() as session, session.begin():
            await session.execute(
                update(MediaItem)
                .where(MediaItem.id == item_id)
                .values(
                    state=MediaState.ANALYZING,
                    analysis_attempts=3,
                    analysis_started_at=datetime.now(UTC) - timedelta(hours=1),
                )
            )
        moved = await recover_stuck(sessions, older_than_s=60, station_id=station_id)
        assert moved == [item_id]
        async with sessions() as session:
            item = await queries.get_media(session, item_id)
        assert item.state is MediaState.FAILED
        assert item.failed_reason is not None
        assert "interrupted 3 times" in item.failed_reason

        # and reanalyze brings it back
        again = await reanalyze(sessions, station_id, pool=pool, options=OPTIONS, failed_only=True)
        assert (again.total, again.ready) == (1, 1)


async def test_killed_worker_mid_analysis_item_ends_ready(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    tmp_path: Path,
) -> None:
    long = fx.make_audio(tmp_path / "long.flac", seconds=600.0, rate=48000)
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=1, timeout_s=120) as own:
        task = asyncio.ensure_future(
            ingest_file(sessions, station_id, long, pool=own, options=OPTIONS)
        )
        victim = None
        while victim is None:
            busy = [b for b in own.busy() if b.label == str(long)]
            victim = busy[0].pid if busy else None
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # well inside the decode of ten minutes of audio
        os.kill(victim, signal.SIGKILL)
        result = await task
        assert result.state is MediaState.READY, result.reason
        assert own.stats.crashes == 1
        assert own.stats.retries == 1
        async with sessions() as session:
            item = await queries.get_media(session, result.item_id or uuid.uuid4())
        assert item.duration_ms is not None
        assert abs(item.duration_ms - 600_000) <= 30


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.choice(["flip", "truncate", "insert", "zero", "splice"])
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        buf = buf[: rng.randrange(len(buf))]
    elif kind == "insert":
        at = rng.randrange(len(buf))
        buf[at:at] = rng.randbytes(rng.randint(1, 4096))
    elif kind == "zero":
        at = rng.randrange(len(buf))
        buf[at : at + rng.randint(1, 2048)] = bytes(min(2048, len(buf) - at))
    else:
        at = rng.randrange(len(buf))
        buf[at : at + 4] = struct.pack("<I", rng.getrandbits(32))
    return bytes(buf)


async def test_fuzzed_files_never_crash_or_hang_the_pool(tmp_path: Path) -> None:
    sources = [
        fx.make_audio(tmp_path / "src" / f"seed.{fmt}", seconds=1.5, metadata={"title": "x"})
        for fmt in fx.FORMATS
    ]
    rng = random.Random(20240605)
    fuzzed = tmp_path / "fuzz"
    fuzzed.mkdir()
    paths = []
    for n in range(216):
        source = sources[n % len(sources)]
        path = fuzzed / f"{n:03d}{source.suffix}"
        path.write_bytes(_mutate(source.read_bytes(), rng))
        paths.append(path)
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=2, timeout_s=10) as fuzz_pool:
        from grimnir.library._tasks import read_file_tags

        outcomes = await asyncio.gather(
            *(fuzz_pool.analyze(str(p), OPTIONS) for p in paths),
            *(fuzz_pool.call(read_file_tags, str(p)) for p in paths),
            return_exceptions=True,
        )
        assert len(outcomes) == 2 * len(paths)
        unexpected = [o for o in outcomes if isinstance(o, BaseException) and not _expected(o)]
        assert unexpected == []
        ok = sum(not isinstance(o, BaseException) for o in outcomes[: len(paths)])
        print(f"fuzz: {ok}/{len(paths)} mutated files analysed, the rest failed; {fuzz_pool.stats}")
        assert await fuzz_pool.call(fx.add, 1, 1) == 2  # still healthy


def _expected(error: BaseException) -> bool:
    from grimnir.domain.errors import LibraryError

    return isinstance(error, LibraryError)


async def test_ingest_results_for_unreadable_paths(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    tmp_path: Path,
) -> None:
    missing = await ingest_file(
        sessions, station_id, tmp_path / "nope.mp3", pool=pool, options=OPTIONS
    )
    assert missing.outcome is Outcome.FAILED
    assert missing.reason == "cannot read the file: No such file or directory"
    assert missing.item_id is None
    async with sessions() as session:
        ids = await session.scalars(select(MediaItem.id).where(MediaItem.station_id == station_id))
        assert ids.all() == []


async def test_a_file_without_a_title_is_named_after_its_file(
    sessions: Sessions,  # noqa: F811
    station_id: uuid.UUID,  # noqa: F811
    pool: AnalysisPool,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Players and now-playing show a title for every track, as other automation
    systems do: an untagged file's comes from its name."""
    async with asyncio.timeout(HARD_TIMEOUT_S):
        named = {
            "The_Testers - Night Drive.mp3": ("The Testers", "Night Drive"),
            "morning_jingle.mp3": (None, "morning jingle"),
        }
        for n, name in enumerate(named):
            fx.make_audio(tmp_path / name, seconds=1.0, freq_hz=300.0 + 100 * n)
        tagged = tmp_path / "tagged - Wrong.mp3"
        fx.make_audio(tagged, seconds=1.0, freq_hz=700.0, metadata={"title": "Right"})
        for path in sorted(tmp_path.glob("*.mp3")):
            result = await ingest_file(sessions, station_id, path, pool=pool, options=OPTIONS)
            assert result.outcome is Outcome.ADDED, result
        items = {Path(i.path).name: i for i in await _items(sessions, station_id)}
        for name, (artist, title) in named.items():
            assert (items[name].artist, items[name].title) == (artist, title)
        assert (items[tagged.name].artist, items[tagged.name].title) == (None, "Right")
