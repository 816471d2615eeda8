"""One recording file and its sidecar, plus the naming, rotation and retention rules.

Used by the recording worker thread only; nothing here is thread-safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final

from grimnir.domain.catalog import AudioFormat
from grimnir.engine.audio import NCH, RATE, Block
from grimnir.engine.encoders import EXTENSIONS, Encoder

PREFIX_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_STAMP: Final = "%Y%m%dT%H%M%SZ"
_EXTENSIONS: Final = "|".join(sorted({*EXTENSIONS.values(), "json"}))


def iso_utc(when: datetime) -> str:
    """``when`` as ISO 8601 UTC with milliseconds, e.g. 2026-11-25T11:00:00.000Z."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def next_boundary(when: datetime, rotate_minutes: int) -> datetime:
    """The first UTC boundary of ``rotate_minutes`` strictly after ``when``.

    Boundaries count from midnight UTC, and midnight is always one (so a
    period that does not divide the day is cut short at the day's end).
    """
    when = when.astimezone(UTC)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    period = timedelta(minutes=rotate_minutes)
    steps = (when - day) // period + 1
    return min(day + steps * period, day + timedelta(days=1))


def recording_path(root: Path, prefix: str, start: datetime, extension: str) -> Path:
    """``<root>/<YYYY>/<MM>/<DD>/<prefix>-<YYYYMMDD>T<HHMMSS>Z.<extension>`` (UTC)."""
    start = start.astimezone(UTC)
    folder = root / f"{start:%Y}" / f"{start:%m}" / f"{start:%d}"
    return folder / f"{prefix}-{start.strftime(_STAMP)}.{extension}"


def apply_retention(root: Path, prefix: str, cutoff: datetime) -> list[Path]:
    """Delete our recordings and sidecars that started before ``cutoff``; the paths deleted.

    Only names this output writes (``<prefix>-<stamp>Z.<known ext>`` inside
    ``YYYY/MM/DD`` folders) are touched; date folders left empty go too.
    """
    pattern = re.compile(rf"{re.escape(prefix)}-(\d{{8}}T\d{{6}}Z)\.(?:{_EXTENSIONS})")
    deleted: list[Path] = []
    if not root.is_dir():
        return deleted
    for year in _digit_dirs(root, 4):
        for month in _digit_dirs(year, 2):
            for day in _digit_dirs(month, 2):
                for entry in day.iterdir():
                    match = pattern.fullmatch(entry.name)
                    if match is None or not entry.is_file():
                        continue
                    started = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
                    if started < cutoff:
                        entry.unlink(missing_ok=True)
                        deleted.append(entry)
                _remove_if_empty(day)
            _remove_if_empty(month)
        _remove_if_empty(year)
    return deleted


def _digit_dirs(parent: Path, width: int) -> list[Path]:
    return sorted(
        p for p in parent.iterdir() if p.is_dir() and len(p.name) == width and p.name.isdigit()
    )


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # NOTE: not empty (or busy): it stays
        folder.rmdir()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class RecordingFile:
    """One period's file: its encoder stream on disk and the log for its sidecar."""

    def __init__(
        self,
        path: Path,
        station: str,
        format: AudioFormat,
        start_frame: int,
        start_time: datetime,
        end_frame: int,
        end_time: datetime,
    ) -> None:
        self.path = path
        self.sidecar = path.with_suffix(".json")
        self.station = station
        self.format = format
        self.start_frame = start_frame
        self.start_time = start_time
        self.end_frame = end_frame
        """The boundary frame: this file's last sample is ``end_frame − 1``."""
        self.end_time = end_time
        self.frames = 0
        self.sidecar_frames = 0
        """``frames`` when the sidecar was last written."""
        self.broken = False
        self.items: list[dict[str, Any]] = []
        self.layers: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self._encoder: Encoder | None = None
        self._fh: BinaryIO | None = None
        self._data_bytes = 0
        self._header = b""

    def open(self, encoder: Encoder) -> None:
        """Create the file and write the stream header (raises OSError)."""
        self._encoder = encoder
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("wb")
        self._header = encoder.stream_header()
        self._fh.write(self._header)

    def write(self, block: Block) -> int:
        """Encode and append ``block``; the bytes written (raises OSError/EngineError)."""
        if self._encoder is None or self._fh is None:
            raise OSError("the recording file is not open")
        data = self._encoder.encode(block)
        self.frames += int(block.shape[1])
        if data:
            self._fh.write(data)
            self._data_bytes += len(data)
        return len(data)

    def finish(self, end_time: datetime) -> int:
        """Flush the encoder, fix the header, close, write the final sidecar; bytes written."""
        encoder, fh = self._encoder, self._fh
        if encoder is None or fh is None:
            return 0
        self._encoder = self._fh = None
        try:
            tail = encoder.flush()
            fh.write(tail)
            self._data_bytes += len(tail)
            header = encoder.finalize_header(self._data_bytes)
            if header:
                fh.seek(0)
                fh.write(header)
        finally:
            fh.close()
        self.write_sidecar(end_time, complete=True)
        return len(tail)

    def abandon(self) -> None:
        """Stop this file after an error, keeping what reached the disk."""
        self.broken = True
        encoder, fh = self._encoder, self._fh
        self._encoder = self._fh = None
        if encoder is not None:
            encoder.close()
        if fh is not None:
            with contextlib.suppress(OSError):  # NOTE: the error that got us here is reported
                fh.close()

    def note_gap(self, frame: int, frames: int) -> None:
        """Audio from ``frame`` was lost (filled with silence); merged with a gap just before."""
        offset = frame - self.start_frame
        if self.gaps and self.gaps[-1]["offset_frames"] + self.gaps[-1]["frames"] == offset:
            gap = self.gaps[-1]
            gap["frames"] += frames
        else:
            gap = {"offset_frames": offset, "frames": frames}
            self.gaps.append(gap)
        gap["offset_ms"] = _ms(gap["offset_frames"])
        gap["duration_ms"] = _ms(gap["frames"])

    def log_item(self, entry: dict[str, Any], frame: int) -> None:
        self.items.append(self._at(entry, frame))

    def log_layer(self, entry: dict[str, Any], frame: int) -> None:
        self.layers.append(self._at(entry, frame))

    def _at(self, entry: dict[str, Any], frame: int) -> dict[str, Any]:
        offset = max(0, frame - self.start_frame)
        return {**entry, "offset_ms": _ms(offset), "offset_frames": offset}

    def write_sidecar(self, end_time: datetime, *, complete: bool) -> None:
        """Write ``<stem>.json`` atomically (raises OSError)."""
        self.sidecar_frames = self.frames
        doc = {
            "station": self.station,
            "file": self.path.name,
            "format": self.format.value,
            "sample_rate": RATE,
            "channels": NCH,
            "start_utc": iso_utc(self.start_time),
            "end_utc": iso_utc(end_time),
            "start_frame": self.start_frame,
            "frames": self.frames,
            "complete": complete,
            "items": self.items,
            "layers": self.layers,
            "gaps": self.gaps,
        }
        _atomic_write(self.sidecar, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _ms(frames: int) -> int:
    return round(frames * 1000 / RATE)
