"""Aircheck recordings: the processed programme in one file per period, with a log.

``RecordingOutput`` is a PCM sink with its own encoder, so a recording in
FLAC or WAV is the master bus sample for sample. Files rotate on UTC
boundaries of ``rotate_minutes`` (60: on the hour; a period never crosses
midnight UTC). The split falls on the exact frame of the boundary: file N
ends at sample k−1 and file N+1 begins at sample k, so the files laid end to
end are the programme with no gap and no overlap. Each file is a fresh
encoder stream (its own header; WAV and FLAC headers get their true sizes at
close).

UTC, not the station's time zone: names and boundaries never jump at a
daylight-saving change. For whole-hour offsets (New York, London) the
boundaries are the same instants as local ones; in half-hour zones (India,
Newfoundland) hourly files start at :30 local time, and ``rotate_minutes=30``
gives files on both local and UTC half hours.

Layout: ``<path>/<YYYY>/<MM>/<DD>/<prefix>-<YYYYMMDD>T<HHMMSS>Z.<ext>`` named
after the UTC time of the file's first sample, with ``<same stem>.json``
beside it: station, start and end UTC, frames, format, the items aired (with
offsets from the file start; an item already on air at the start is listed at
offset 0 with ``continued``), layer changes and any gaps. The sidecar is
rewritten atomically every ``sidecar_every_s`` of audio and at close, so a
crash loses little. Retention deletes our own files older than
``retention_days`` (the config's ``rotation_days``) at start and at each
rotation, and empty date folders.

The block loop only copies chunks into a bounded queue. A worker thread
encodes and writes. Realtime (``blocking=False``): a full queue drops the
oldest chunk; the worker fills the hole with silence (so offsets and file
lengths stay true to the clock) and lists it under ``gaps``. Offline
(``blocking=True``): ``write_pcm`` waits for room and nothing is lost.
"""

from __future__ import annotations

import bisect
import collections
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from grimnir.config.station import slugify
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.audio import NCH, RATE, Block
from grimnir.engine.clock import Clock
from grimnir.engine.encoders import EXTENSIONS, Encoder, create_encoder
from grimnir.engine.events import EngineEvent
from grimnir.engine.outputs._base import OutputState
from grimnir.engine.outputs._recording_files import (
    PREFIX_PATTERN,
    RecordingFile,
    apply_retention,
    next_boundary,
    recording_path,
)

DEFAULT_MAX_QUEUED_FRAMES: Final = 30 * RATE
"""30 s of audio (about 11 MB) may wait for a slow disk before the oldest is dropped."""
_LOGGED_EVENTS: Final = frozenset({"item.started", "item.ended", "layer.changed"})
_SILENCE_PIECE: Final = RATE


class RecordingOutput:
    """Records the master bus (after DSP) into rotating files; a ``PcmSink``.

    Wire it with ``engine.add_pcm_sink(rec)`` and ``engine.subscribe(rec.on_event)``.
    Health like an ``Output``: ``state``, ``last_error``, ``dropped_frames``,
    ``frames_written``, ``bytes_written``; ``files`` lists the files finished.
    File names start with ``prefix`` (default: ``station`` as a slug, e.g.
    "WGMR FM" → "wgmr-fm"); ``station`` is written into every sidecar.
    Raises ``EngineError`` at once for a bad prefix or format/bitrate.
    """

    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        *,
        fmt: AudioFormat | str = AudioFormat.MP3,
        bitrate_kbps: int | None = None,
        rotate_minutes: int = 60,
        retention_days: int = 30,
        station: str = "station",
        prefix: str | None = None,
        mp3_quality: int = 2,
        blocking: bool = False,
        max_queued_frames: int = DEFAULT_MAX_QUEUED_FRAMES,
        sidecar_every_s: float = 60.0,
        close_timeout: float = 30.0,
        name: str | None = None,
    ) -> None:
        if prefix is None:
            prefix = slugify(station) or "recording"
        if not PREFIX_PATTERN.fullmatch(prefix):
            raise EngineError(
                f"recording prefix {prefix!r} must be letters, digits, '.', '_' or '-' "
                "(it starts every file name), e.g. the station's short id"
            )
        if not 1 <= rotate_minutes <= 1440:
            raise EngineError(f"rotate_minutes must be 1…1440, got {rotate_minutes}")
        if retention_days < 1:
            raise EngineError(f"retention_days must be at least 1, got {retention_days}")
        self.format = AudioFormat(fmt)
        self.bitrate_kbps = bitrate_kbps
        self.mp3_quality = mp3_quality
        self._new_encoder().close()  # NOTE: a bad format or bitrate fails here, not on the worker
        self.path = Path(path)
        self.name = name if name is not None else f"recording:{self.path}"
        self.clock = clock
        self.prefix = prefix
        self.station = station
        self.rotate_minutes = rotate_minutes
        self.retention_days = retention_days
        self.blocking = blocking
        self.max_queued_frames = max(1, max_queued_frames)
        self.close_timeout = close_timeout
        self.last_error: str | None = None
        self.dropped_frames = 0
        self.frames_written = 0
        self.bytes_written = 0
        self.files: list[Path] = []
        self._state = OutputState.CONNECTING
        self._sidecar_every = max(1, round(sidecar_every_s * RATE))
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._chunks: collections.deque[tuple[int, Block]] = collections.deque()
        self._queued_frames = 0
        self._events: list[EngineEvent] = []
        self._closing = False
        # worker side
        self._pending: list[EngineEvent] = []
        self._file: RecordingFile | None = None
        self._expected: int | None = None
        self._on_air: dict[str, dict[str, Any]] = {}
        self._layer: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"output-{self.name}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<RecordingOutput {self.name!r} {self._state.value}>"

    @property
    def state(self) -> OutputState:
        return self._state

    @property
    def queued_frames(self) -> int:
        """Frames waiting for the worker thread."""
        return self._queued_frames

    # -- the block loop's side ----------------------------------------------------------

    def write_pcm(self, chunk: Block, frame: int) -> None:
        """Queue ``chunk`` (starting at engine ``frame``); never raises."""
        frames = int(chunk.shape[1])
        if frames == 0:
            return
        copy = np.array(chunk, dtype=np.float32, copy=True)
        with self._wakeup:
            if self._closing or self._state is OutputState.CLOSED:
                self.dropped_frames += frames
                return
            if self.blocking:
                while self._queued_frames and self._queued_frames + frames > self.max_queued_frames:
                    self._wakeup.wait(0.5)
                    if not self._thread.is_alive():
                        break
            self._chunks.append((frame, copy))
            self._queued_frames += frames
            while self._queued_frames > self.max_queued_frames and len(self._chunks) > 1:
                _, old = self._chunks.popleft()
                self._queued_frames -= old.shape[1]
                self.dropped_frames += old.shape[1]
            self._wakeup.notify_all()

    def on_event(self, event: EngineEvent) -> None:
        """Note an engine event for the sidecars (subscribe this to the engine)."""
        if event.type in _LOGGED_EVENTS:
            with self._wakeup:
                self._events.append(event)

    def close(self) -> None:
        """Write what is queued, finish the open file and its sidecar. Idempotent."""
        if self._state is OutputState.CLOSED:
            return
        with self._wakeup:
            self._closing = True
            self._wakeup.notify_all()
        self._thread.join(self.close_timeout)
        if self._thread.is_alive():
            self.last_error = (
                f"{self.path}: the disk did not take the last {self._queued_frames / RATE:.1f} s "
                f"within {self.close_timeout:g} s"
            )
        self._state = OutputState.CLOSED

    # -- the worker thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._chunks and not self._closing:
                    self._wakeup.wait()
                chunks = list(self._chunks)
                self._chunks.clear()
                self._queued_frames = 0
                for event in self._events:
                    keys = [e.frame for e in self._pending]
                    self._pending.insert(bisect.bisect_right(keys, event.frame), event)
                self._events.clear()
                closing = self._closing
                self._wakeup.notify_all()
            for frame, chunk in chunks:
                self._take(frame, chunk)
            if closing and not chunks:
                break
        if self._file is not None and self._expected is not None:
            self._apply_events(self._expected, include_end=True)
            self._finish_file(self.clock.time_at(self._expected))

    def _take(self, frame: int, chunk: Block) -> None:
        expected = self._expected
        if expected is not None and frame != expected:
            if frame < expected:  # NOTE: never write a frame twice
                chunk = chunk[:, expected - frame :]
                frame = expected
                if chunk.shape[1] == 0:
                    return
            else:
                for at in range(expected, frame, _SILENCE_PIECE):
                    piece = min(_SILENCE_PIECE, frame - at)
                    self._feed(at, np.zeros((NCH, piece), dtype=np.float32), gap=True)
        self._feed(frame, chunk, gap=False)

    def _feed(self, frame: int, data: Block, *, gap: bool) -> None:
        total = int(data.shape[1])
        pos = 0
        while pos < total:
            at = frame + pos
            if self._file is None or at >= self._file.end_frame:
                self._rotate(at)
            file = self._file
            if file is None:  # pragma: no cover - _rotate always opens one
                return
            take = min(total - pos, file.end_frame - at)
            self._apply_events(at + take)
            if gap:
                file.note_gap(at, take)
            if not file.broken:
                try:
                    written = file.write(data[:, pos : pos + take])
                    self.frames_written += take
                    self.bytes_written += written
                    if file.frames - file.sidecar_frames >= self._sidecar_every:
                        file.write_sidecar(self.clock.time_at(at + take), complete=False)
                except (OSError, EngineError) as exc:
                    self._broken(file, exc)
            if file.broken:
                with self._lock:
                    self.dropped_frames += take
            pos += take
        self._expected = frame + total

    def _rotate(self, at: int) -> None:
        """Close the file that ends at ``at`` (if any) and open the next one."""
        old = self._file
        if old is None:
            start = self.clock.time_at(at)
            name_time = start.replace(microsecond=0)
        else:
            self._apply_events(at, include_end=True)
            start = name_time = old.end_time
            self._finish_file(old.end_time)
        self._retention(start)
        end = next_boundary(start, self.rotate_minutes)
        end_frame = max(at + 1, self.clock.frame_at(end))
        path = recording_path(self.path, self.prefix, name_time, EXTENSIONS[self.format])
        file = RecordingFile(path, self.station, self.format, at, start, end_frame, end)
        self._file = file
        try:
            file.open(self._new_encoder())
        except (OSError, EngineError) as exc:
            self._broken(file, exc)
            return
        with self._lock:
            if self._state is OutputState.DOWN:
                self.last_error = None  # NOTE: recovered: the disk takes files again
            if self._state is not OutputState.CLOSED:
                self._state = OutputState.UP
        for item in self._on_air.values():
            file.log_item({**item, "continued": True}, at)
        if self._layer is not None:
            file.log_layer({"from": None, "to": self._layer, "continued": True}, at)

    def _finish_file(self, end_time: datetime) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        if file.broken:
            return
        try:
            self.bytes_written += file.finish(end_time)
            self.files.append(file.path)
        except (OSError, EngineError) as exc:
            self._broken(file, exc)

    def _apply_events(self, limit: int, *, include_end: bool = False) -> None:
        """Log pending events before frame ``limit`` (``include_end``: item ends at it too)."""
        file = self._file
        while self._pending and self._pending[0].frame < limit:
            self._log(self._pending.pop(0), file)
        if include_end:
            # NOTE: on a butt splice the next item's start comes first; it belongs to
            # the next file, the end of the last item to this one.
            at_limit = [e for e in self._pending if e.frame == limit]
            for event in at_limit:
                if event.type == "item.ended":
                    self._pending.remove(event)
                    self._log(event, file)

    def _log(self, event: EngineEvent, file: RecordingFile | None) -> None:
        data = event.data
        if event.type == "layer.changed":
            self._layer = data.get("to")
            if file is not None:
                file.log_layer({"from": data.get("from"), "to": data.get("to")}, event.frame)
            return
        item_id = str(data.get("item_id", ""))
        if event.type == "item.started":
            item = {
                "event": "item.started",
                "item_id": item_id,
                "title": data.get("title", ""),
                "artist": data.get("artist", ""),
                "layer": data.get("layer"),
            }
            self._on_air[item_id] = item
        else:
            self._on_air.pop(item_id, None)
            if data.get("aired") is False:
                return  # NOTE: dropped from the queue before it played: not in the recording
            item = {"event": "item.ended", "item_id": item_id, "reason": data.get("reason")}
        if file is not None:
            file.log_item(item, event.frame)

    def _broken(self, file: RecordingFile, exc: Exception) -> None:
        """A disk or encoder error: this file stops; the next period tries a new one."""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        file.abandon()
        with self._lock:
            self.last_error = (
                f"recording {file.path}: {reason}; check that {self.path} is writable and "
                "has room (the next file is tried at the next rotation)"
            )
            if self._state is not OutputState.CLOSED:
                self._state = OutputState.DOWN

    def _retention(self, now: datetime) -> None:
        try:
            apply_retention(self.path, self.prefix, now - timedelta(days=self.retention_days))
        except OSError as exc:
            self.last_error = f"recording retention in {self.path}: {exc.strerror or exc}"

    def _new_encoder(self) -> Encoder:
        return create_encoder(self.format, self.bitrate_kbps, mp3_quality=self.mp3_quality)
