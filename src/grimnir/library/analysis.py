"""Audio analysis of a library file: one decode pass, everything the planner and engine need.

:func:`analyze_file` decodes the file once with FFmpeg (PyAV) at its own
sample rate and measures: the decoded duration (the header's may lie),
integrated loudness, loudness range and true peak (ITU-R BS.1770 via
libebur128), the gain to the station's loudness target, cue-in/cue-out at a
silence threshold, intro end and segue point from the energy envelope (method
in ``_envelope.py``), and a compact waveform. It runs in worker processes, so
it and its options and result are picklable; memory stays bounded whatever the
file's length.

A file that cannot be used on air raises :class:`LibraryError` with a reason
meant for the station engineer: too long, mostly corrupt, or silent; one
with no audio at all (empty, not audio, unreadable header, not one frame
decodes) raises its subclass :class:`NoAudioError`, and ingest refuses it
outright. Damage the analyser could play through (a few corrupt packets, a
header whose duration disagrees with the audio, a file cut short that plays
what is there) becomes a warning instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from grimnir.domain.errors import LibraryError
from grimnir.library._decode import (
    ChunkReader,
    DecodeStats,
    StreamInfo,
    open_audio,
    stream_info,
)
from grimnir.library._envelope import markers
from grimnir.library._errors import NoAudioError
from grimnir.library._meter import Meter

_CHUNK_HOPS = 100
"""Hops measured per chunk (10 s at 100 ms): large arrays, little Python per frame."""
_FALLBACK_RATE = 48_000
_MIN_CUT_MS = 1000
"""Less audio than this from a file cut short or mostly corrupt is a broken copy
with nothing to air (refused as ``NoAudioError``)."""
_EXTENSIONS = {"mp3": "mp3", "m4a": "mp4", "mp4": "mp4", "aac": "aac", "flac": "flac"}
_EXTENSIONS |= {"ogg": "ogg", "oga": "ogg", "opus": "ogg", "wav": "wav", "wave": "wav"}


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """How to analyse: the station's loudness target and the thresholds of the markers.

    ``silence_threshold_db`` is a sample peak in dBFS: audio quieter than this
    at the head and tail is cut by the cue points. ``max_gain_db`` caps the
    boost of quiet files (so their noise is not raised to full level);
    ``intro_within_db`` and ``segue_below_db`` place the intro end and segue
    relative to the track's own level (see ``_envelope.py``). Files longer
    than ``max_seconds`` are refused. ``max_bad_packet_ratio`` is the share of
    corrupt packets above which a file is refused rather than played with gaps.
    """

    target_lufs: float = -16.0
    silence_threshold_db: float = -50.0
    waveform_ms: int = 100
    max_gain_db: float = 12.0
    intro_within_db: float = 3.0
    segue_below_db: float = 10.0
    max_seconds: float = 4 * 3600
    max_bad_packet_ratio: float = 0.05
    allow_wrong_extension: bool = False
    """Accept a file whose name says another format than its content (with a warning)."""

    def __post_init__(self) -> None:
        if not all(
            math.isfinite(v)
            for v in (self.target_lufs, self.silence_threshold_db, self.max_gain_db)
        ):
            raise LibraryError("analysis levels must be finite numbers of dB")
        if self.target_lufs >= 0.0 or self.silence_threshold_db >= 0.0:
            raise LibraryError(
                "analysis target_lufs and silence_threshold_db must be below 0 "
                f"(got {self.target_lufs} and {self.silence_threshold_db}); "
                "typical values are -16 LUFS and -50 dBFS"
            )
        if not 10 <= self.waveform_ms <= 1000 or 1000 % self.waveform_ms:
            raise LibraryError(
                f"analysis waveform_ms must divide 1000 and lie in 10–1000 (got {self.waveform_ms})"
            )
        if not self.max_seconds > 0:
            raise LibraryError(f"analysis max_seconds must be positive (got {self.max_seconds})")


@dataclass(frozen=True, slots=True)
class MediaAnalysis:
    """What the analysis found, in the units ``MediaItem`` stores.

    Times are milliseconds from the start of the decoded audio; ``cue_in_ms``
    is rounded down and ``cue_out_ms`` up, so no audible sample is cut.
    ``gain_db`` is None for a file with nothing above the loudness gate.
    ``true_peak_dbtp`` is measured as ``_meter.py`` explains. ``waveform``
    holds one signed byte pair (min, max) of the mono mix per ``waveform_ms``
    (×127 full scale), ``ceil(duration_ms / waveform_ms)`` pairs in all.
    """

    format: str
    codec: str
    sample_rate_hz: int
    channels: int
    bitrate_kbps: int | None
    duration_ms: int
    loudness_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    gain_db: float | None
    cue_in_ms: int
    cue_out_ms: int
    intro_end_ms: int | None
    segue_ms: int | None
    waveform: bytes
    waveform_ms: int = 100
    warnings: list[str] = field(default_factory=list)


def analyze_file(path: str, options: AnalysisOptions) -> MediaAnalysis:
    """Decode ``path`` once and measure it; raise LibraryError if it cannot go on air."""
    file = Path(path)
    container = open_audio(file)
    try:
        info = stream_info(container, file.stat().st_size)
        return _analyze(file, container, info, options)
    finally:
        container.close()


def probe_audio(path: str) -> StreamInfo:
    """What FFmpeg finds in ``path`` without decoding it (format, codec, rate,
    channels), or LibraryError when it is not audio: the upload's type check."""
    file = Path(path)
    container = open_audio(file)
    try:
        info = stream_info(container, file.stat().st_size)
    finally:
        container.close()
    if info.sample_rate_hz <= 0 or info.channels <= 0:
        raise NoAudioError("not an audio file (FFmpeg found no sample rate or channels)")
    return info


def _analyze(
    path: Path, container: object, info: StreamInfo, options: AnalysisOptions
) -> MediaAnalysis:
    if info.sample_rate_hz <= 0 or info.channels <= 0:
        raise NoAudioError("not an audio file (FFmpeg found no sample rate or channels)")
    rate, channels = info.sample_rate_hz, min(info.channels, 2)
    if rate * options.waveform_ms % 1000:
        rate = _FALLBACK_RATE  # e.g. 11025 Hz: no whole number of frames per hop
    convert = rate != info.sample_rate_hz or channels != info.channels
    hop = rate * options.waveform_ms // 1000
    reader = ChunkReader(container, rate, channels, hop, _CHUNK_HOPS, convert)  # type: ignore[arg-type]
    meter = Meter(rate, channels, hop, 10.0 ** (options.silence_threshold_db / 20.0))
    for chunk in reader.chunks(int(options.max_seconds * rate)):
        meter.feed(chunk)
    if meter.frames == 0:
        raise NoAudioError(_nothing_decoded(reader))
    duration_ms = _ceil_ms(meter.frames, rate)
    warnings = _decode_warnings(reader, options, duration_ms)
    if meter.first is None or meter.last is None:
        raise LibraryError(
            f"no audio above {options.silence_threshold_db:g} dBFS: the file is silent"
        )
    warnings += _length_checks(path, info, duration_ms, options, reader.stats)
    lufs, lra = meter.loudness()
    cue_in = meter.first * 1000 // rate
    cue_out = _ceil_ms(meter.last + 1, rate)
    intro_end, segue = markers(
        meter.energy(),
        options.waveform_ms,
        cue_in,
        cue_out,
        options.intro_within_db,
        options.segue_below_db,
    )
    peak = max(meter.true_peak, meter.sample_peak)
    return MediaAnalysis(
        format=info.format,
        codec=info.codec,
        sample_rate_hz=info.sample_rate_hz,
        channels=info.channels,
        bitrate_kbps=info.bitrate_kbps,
        duration_ms=duration_ms,
        loudness_lufs=lufs,
        loudness_range_lu=lra,
        true_peak_dbtp=20.0 * math.log10(peak) if peak > 0 else None,
        gain_db=None if lufs is None else min(options.target_lufs - lufs, options.max_gain_db),
        cue_in_ms=cue_in,
        cue_out_ms=cue_out,
        intro_end_ms=intro_end,
        segue_ms=segue,
        waveform=meter.waveform(),
        waveform_ms=options.waveform_ms,
        warnings=warnings,
    )


def _nothing_decoded(reader: ChunkReader) -> str:
    stats = reader.stats
    reason = stats.first_error or stats.ended_early or "no audio frames"
    if stats.packets:
        return (
            f"no audio could be decoded: none of its {stats.packets} audio packets is "
            f"readable (FFmpeg: {reason}); the file is damaged or not what its header says, "
            "replace it with a good copy"
        )
    return f"no audio could be decoded (FFmpeg: {reason}); replace it with a good copy"


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB"


def _decode_warnings(reader: ChunkReader, options: AnalysisOptions, decoded_ms: int) -> list[str]:
    """Warnings about damage the file can play through; a corrupt file raises
    (``NoAudioError`` when under a second of audio decodes from it)."""
    stats = reader.stats
    warnings: list[str] = []
    corrupt = NoAudioError if decoded_ms < _MIN_CUT_MS else LibraryError
    if stats.bad_packets:
        share = stats.bad_packets / max(1, stats.packets)
        text = (
            f"{stats.bad_packets} of {stats.packets} audio packets could not be decoded "
            f"(FFmpeg: {stats.first_error})"
        )
        if share > options.max_bad_packet_ratio:
            raise corrupt(f"the file is corrupt: {text}; re-encode or replace it")
        warnings.append(f"{text}; they play as short gaps")
    if stats.ended_early:
        warnings.append(f"the file ends in unreadable data (FFmpeg: {stats.ended_early})")
    return warnings


def _length_checks(
    path: Path, info: StreamInfo, duration_ms: int, options: AnalysisOptions, stats: DecodeStats
) -> list[str]:
    """Warn about a file cut short and a header that does not match the audio;
    refuse a file damaged inside and a name that does not match the audio."""
    warnings: list[str] = []
    header_ms = (info.header_duration_s or 0.0) * 1000
    if header_ms and duration_ms < 0.9 * header_ms and header_ms - duration_ms > 1000:
        # NOTE: less audio than the header promises: either the file was cut
        # short (it plays what is there, so it is kept) or data inside it did
        # not decode. FFmpeg may resync past such data without a word, but the
        # skipped bytes show, riding along in oversized packets. (Only here:
        # a second file's tag in a concatenation rides along the same way.)
        if stats.junk_bytes > options.max_bad_packet_ratio * stats.packet_bytes:
            corrupt = NoAudioError if duration_ms < _MIN_CUT_MS else LibraryError
            raise corrupt(
                f"the file is corrupt: {_kb(stats.junk_bytes)} of its "
                f"{_kb(stats.packet_bytes)} of audio data do not decode (FFmpeg skipped "
                "them); re-encode or replace it"
            )
        if duration_ms < _MIN_CUT_MS:
            raise NoAudioError(
                f"truncated: the header promises {header_ms / 1000:.1f} s but only "
                f"{duration_ms} ms of audio decode, too little to air; copy or upload "
                "the whole file again"
            )
        decoded = f"{duration_ms / 1000:.1f} s"
        warnings.append(
            f"truncated: the header promises {header_ms / 1000:.1f} s but only {decoded} "
            f"of audio decode; it plays those {decoded} (copy or upload the whole file "
            "again to get the rest)"
        )
    elif header_ms and abs(header_ms - duration_ms) > max(1000, 0.02 * duration_ms):
        warnings.append(
            f"the header says {header_ms / 1000:.1f} s but {duration_ms / 1000:.1f} s decoded "
            "(the header is wrong; the decoded length is used)"
        )
    expected = _EXTENSIONS.get(path.suffix.lower().lstrip("."))
    if expected is not None and expected != info.format:
        # NOTE: the engine would play it (FFmpeg goes by content), but tools
        # around a station (players, directories, backups) go by the name.
        if not options.allow_wrong_extension:
            raise LibraryError(
                f"wrong extension: the name ends in {path.suffix} but the content is "
                f"{info.format}; rename the file to match its content and scan again"
            )
        warnings.append(
            f"the name ends in {path.suffix} but the content is {info.format} "
            "(it plays by its content; consider renaming it)"
        )
    return warnings


def _ceil_ms(frames: int, rate: int) -> int:
    return -(-frames * 1000 // rate)
