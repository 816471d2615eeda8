"""HLS: the shared AAC stream cut into segments plus a live playlist (RFC 8216).

Segments are packed audio (RFC 8216 §3.4): each ``seg-<sequence>.aac`` is a
run of whole ADTS frames straight from the shared encoder behind an ID3 tag
giving the 90 kHz timestamp of its first sample. We chose packed AAC over
MPEG-TS because it needs no remuxer (the bytes are the encoder's, untouched,
so a segment cannot be broken by a muxer's buffering), adds 63 bytes per
segment instead of ~12 % TS overhead, and is played by ffmpeg, hls.js and
Apple's players.

A segment closes at the first frame boundary at or after
``segment_duration_s`` of audio, so every segment has the same whole number
of 1024-sample frames (6 s → 282 frames = 6.016 s) and durations are exact.
``EXT-X-TARGETDURATION`` is the ceiling of that duration and never changes.
The playlist lists the newest ``window_segments`` segments (raised until they
span three target durations, as RFC 8216 §6.2.2 requires); a segment that
leaves the playlist stays on disk for its own duration plus the playlist's
(§6.2.2 again: a player that read the last playlist listing it may still
fetch it), and one segment more for a slow player, then it is deleted.

Times: segment ``n`` starts at engine frame ``start_frame + 1024·k − 1024``
(``k`` frames before it; the AAC encoder's 1024 samples of priming come
first), and ``EXT-X-PROGRAM-DATE-TIME`` is the clock's UTC of that frame.
Sequence numbers start at ``unix time // segment duration`` so a restarted
station never reuses one. On close the last, short segment is written and
``#EXT-X-ENDLIST`` marks the end (``end_list_on_close``): the engine closes on
purpose (shutdown, end of a render); a crash never writes it, and a restarted
engine starts a new playlist with higher sequence numbers.

All disk work happens on a writer thread: ``write`` only splits frames and
queues them (bounded; the oldest are dropped and the next segment restarts at
the right time).
"""

from __future__ import annotations

import collections
import math
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Final

from grimnir.engine.audio import RATE
from grimnir.engine.clock import Clock
from grimnir.engine.outputs._base import Output, OutputState

PLAYLIST_NAME: Final = "index.m3u8"
AAC_PRIMING_SAMPLES: Final = 1024
"""Samples of encoder delay at the start of FFmpeg's AAC stream (ADTS cannot say so)."""
DEFAULT_MAX_QUEUED_BYTES: Final = 4 * 1024 * 1024
KEPT_EXTRA: Final = 2
"""A segment out of the playlist stays ``window_segments + KEPT_EXTRA`` cuts: one for
its own duration (RFC 8216 §6.2.2: segment + playlist duration), one of grace."""
_OURS: Final = re.compile(r"(seg-\d+\.aac|\.seg-\d+\.aac\.tmp|index\.m3u8|\.index\.m3u8\.tmp)")
ADTS_HEADER_BYTES: Final = 7
SAMPLES_PER_RAW_BLOCK: Final = 1024
PTS_HZ: Final = 90_000
PTS_MASK: Final = (1 << 33) - 1
_RATES: Final = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_PRIV_OWNER: Final = b"com.apple.streaming.transportStreamTimestamp\x00"


class HlsOutput(Output):
    """Writes the AAC (ADTS) stream it is given as HLS segments and ``index.m3u8`` in ``path``.

    ``clock`` maps engine frames to UTC; it is read on the writer thread once
    audio flows (a realtime clock sets its origin when it starts).
    ``start_frame`` is the engine frame of the first sample this output
    receives (0 when it is added before the engine runs, which is how
    stations wire it). A folder that cannot be
    made or written, or a later disk error, puts the output ``down`` with
    ``last_error`` saying which folder; like a file output it stays down
    until the station restarts it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: Clock,
        *,
        segment_duration_s: float = 6.0,
        window_segments: int = 6,
        start_frame: int = 0,
        end_list_on_close: bool = True,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        close_timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        super().__init__(name if name is not None else f"hls:{self.path}")
        frames = max(1, math.ceil(segment_duration_s * RATE / SAMPLES_PER_RAW_BLOCK))
        self.segment_samples = frames * SAMPLES_PER_RAW_BLOCK
        """Samples in every segment but the last: whole AAC frames, at least the duration."""
        self.segment_duration_s = self.segment_samples / RATE
        self.target_duration = math.ceil(self.segment_duration_s)
        self.window_segments = max(
            window_segments,
            math.ceil(3 * self.target_duration / self.segment_duration_s),
        )
        self.segments_written = 0
        self.end_list_on_close = end_list_on_close
        self.close_timeout = close_timeout
        self._time_at = clock.time_at
        self._start_frame = start_frame
        # block loop side
        self._splitter = AdtsSplitter()
        self._samples_in = 0
        # shared, under self._lock
        self._queue: collections.deque[tuple[int, list[AdtsFrame]]] = collections.deque()
        self._queued_bytes = 0
        self._max_queued_bytes = max_queued_bytes
        self._closing = False
        self._wakeup = threading.Condition(self._lock)
        # writer thread side
        self._first_sequence: int | None = None
        self._listed: collections.deque[tuple[int, int, int]] = collections.deque()
        """(sequence, first sample, samples) of the segments in the playlist."""
        self._cur: list[bytes] = []
        self._cur_start = 0
        self._cur_samples = 0
        self._next_sample = 0
        self._thread = threading.Thread(target=self._run, name=f"output-{self.name}", daemon=True)
        self._thread.start()

    @property
    def playlist_path(self) -> Path:
        return self.path / PLAYLIST_NAME

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for the writer thread."""
        return self._queued_bytes

    # -- the block loop's side ----------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return
        frames = self._splitter.push(data)
        if not frames:
            return
        first = self._samples_in
        self._samples_in += sum(f.samples for f in frames)
        size = sum(len(f.data) for f in frames)
        with self._wakeup:
            if self._closing or self._state in (OutputState.DOWN, OutputState.CLOSED):
                self.dropped_bytes += size
                return
            self._queue.append((first, frames))
            self._queued_bytes += size
            while self._queued_bytes > self._max_queued_bytes and len(self._queue) > 1:
                _, old = self._queue.popleft()
                lost = sum(len(f.data) for f in old)
                self._queued_bytes -= lost
                self.dropped_bytes += lost
            self._wakeup.notify()

    def close(self) -> None:
        if self._state is OutputState.CLOSED:
            return
        with self._wakeup:
            self._closing = True
            self._wakeup.notify()
        self._thread.join(self.close_timeout)
        if self._thread.is_alive():
            self.last_error = f"{self.path}: the disk did not take the last segment in time"
        self._state = OutputState.CLOSED

    # -- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._prepare_directory()
        except OSError as exc:
            with self._wakeup:
                self._fail(
                    f"cannot write HLS to {self.path}: {exc.strerror or exc}; "
                    "check that the folder exists or can be made and is writable"
                )
                self.dropped_bytes += self._queued_bytes
                self._queue.clear()
                self._queued_bytes = 0
            return
        with self._wakeup:
            if self._state is OutputState.CONNECTING:
                self._state = OutputState.UP
        try:
            while True:
                with self._wakeup:
                    while not self._queue and not self._closing:
                        self._wakeup.wait()
                    entries = list(self._queue)
                    self._queue.clear()
                    self._queued_bytes = 0
                    closing = self._closing
                for first, frames in entries:
                    self._take(first, frames)
                if closing and not entries:
                    break
            if self._cur:
                self._cut(final=True)
            elif self.end_list_on_close and self._listed:
                self._write_playlist(final=True)
        except OSError as exc:
            with self._wakeup:
                self._fail(f"HLS {self.path}: {exc.strerror or exc}")
                self.dropped_bytes += self._queued_bytes
                self._queue.clear()
                self._queued_bytes = 0

    def _prepare_directory(self) -> None:
        """Make the folder and clear a previous run's segments and playlist (ours only)."""
        self.path.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(self.path):
            if entry.is_file() and _OURS.fullmatch(entry.name):
                os.unlink(entry.path)
        probe = self.path / ".index.m3u8.tmp"
        probe.write_bytes(b"")
        probe.unlink()

    def _take(self, first: int, frames: list[AdtsFrame]) -> None:
        if self._cur and first != self._next_sample:
            self._cut(final=False)  # NOTE: frames were dropped; start afresh at the right time
        sample = first
        for frame in frames:
            if not self._cur:
                self._cur_start = sample
            self._cur.append(frame.data)
            self._cur_samples += frame.samples
            sample += frame.samples
            if self._cur_samples >= self.segment_samples:
                self._cut(final=False)
        self._next_sample = sample

    def _cut(self, *, final: bool) -> None:
        """Write the current segment and the playlist that lists it."""
        if self._first_sequence is None:
            started = self._time_at(self._frame_of(self._cur_start))
            self._first_sequence = int(started.timestamp() // self.segment_duration_s)
        sequence = self._first_sequence + self.segments_written
        pts = self._cur_start * PTS_HZ // RATE
        data = id3_timestamp_tag(pts) + b"".join(self._cur)
        tmp = self.path / f".seg-{sequence}.aac.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.path / f"seg-{sequence}.aac")
        with self._lock:
            self.bytes_written += len(data)
        self._listed.append((sequence, self._cur_start, self._cur_samples))
        self.segments_written += 1
        self._cur = []
        self._cur_samples = 0
        removed: list[int] = []
        while len(self._listed) > self.window_segments:
            removed.append(self._listed.popleft()[0])
        self._write_playlist(final=final and self.end_list_on_close)
        # NOTE: a segment leaves the playlist now; its file stays for window + KEPT_EXTRA more cuts:
        # its own duration + the playlist's (window) + one segment of grace.
        if removed:
            kept = self.window_segments + KEPT_EXTRA
            for old in range(removed[0] - kept, removed[-1] - kept + 1):
                (self.path / f"seg-{old}.aac").unlink(missing_ok=True)

    def _frame_of(self, sample: int) -> int:
        """Engine frame of decoded stream sample ``sample`` (priming comes first)."""
        return self._start_frame + sample - AAC_PRIMING_SAMPLES

    def _write_playlist(self, *, final: bool) -> None:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{self._listed[0][0]}",
        ]
        for sequence, start, samples in self._listed:
            when = self._time_at(self._frame_of(start)).astimezone(UTC)
            stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
            lines.append(f"#EXTINF:{samples / RATE:.3f},")
            lines.append(f"seg-{sequence}.aac")
        if final:
            lines.append("#EXT-X-ENDLIST")
        tmp = self.path / ".index.m3u8.tmp"
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, self.playlist_path)


# -- ADTS framing and the ID3 timestamp tag ----------------------------------------------


@dataclass(frozen=True, slots=True)
class AdtsFrame:
    """One ADTS frame: its bytes and how many samples (per channel) it decodes to."""

    data: bytes
    samples: int
    sample_rate: int


def adts_frame_info(header: bytes | bytearray | memoryview) -> tuple[int, int, int] | None:
    """(length in bytes, samples, sample rate) of the frame starting with ``header``; None if
    ``header`` (at least 7 bytes) is not an ADTS header."""
    if len(header) < ADTS_HEADER_BYTES or header[0] != 0xFF or (header[1] & 0xF6) != 0xF0:
        return None
    rate_index = (header[2] >> 2) & 0x0F
    if rate_index >= len(_RATES):
        return None
    length = ((header[3] & 0x03) << 11) | (header[4] << 3) | (header[5] >> 5)
    if length < ADTS_HEADER_BYTES:
        return None
    blocks = (header[6] & 0x03) + 1
    return length, blocks * SAMPLES_PER_RAW_BLOCK, _RATES[rate_index]


class AdtsSplitter:
    """Cuts an ADTS byte stream into whole frames, however the bytes arrive."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self.skipped_bytes = 0
        """Bytes thrown away while looking for a frame header (0 for a sane encoder)."""

    def push(self, data: bytes | bytearray) -> list[AdtsFrame]:
        """Add ``data``; return the frames now complete, in order."""
        self._pending += data
        pending = self._pending
        frames: list[AdtsFrame] = []
        pos = 0
        while pos + ADTS_HEADER_BYTES <= len(pending):
            info = adts_frame_info(pending[pos : pos + ADTS_HEADER_BYTES])
            if info is None:
                # NOTE: resynchronise on the next sync word rather than give up.
                nxt = pending.find(b"\xff", pos + 1)
                skip_to = len(pending) if nxt < 0 else nxt
                self.skipped_bytes += skip_to - pos
                pos = skip_to
                continue
            length, samples, rate = info
            if pos + length > len(pending):
                break
            frames.append(AdtsFrame(bytes(pending[pos : pos + length]), samples, rate))
            pos += length
        del pending[:pos]
        return frames


def _syncsafe(value: int) -> bytes:
    """``value`` as a 4-byte ID3v2 syncsafe integer (7 bits per byte)."""
    return bytes(((value >> shift) & 0x7F) for shift in (21, 14, 7, 0))


def id3_timestamp_tag(pts: int) -> bytes:
    """An ID3v2.4 tag whose PRIV frame gives ``pts`` (90 kHz, taken modulo 2**33)."""
    payload = _PRIV_OWNER + (pts & PTS_MASK).to_bytes(8, "big")
    frame = b"PRIV" + _syncsafe(len(payload)) + b"\x00\x00" + payload
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame
