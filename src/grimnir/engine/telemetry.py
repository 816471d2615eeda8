"""Once-a-second telemetry: levels, loudness, timing and what is on air."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from grimnir.engine.audio import BLOCK, RATE, Block, db_to_gain, gain_to_db
from grimnir.engine.dsp import KWeightedLevel

if TYPE_CHECKING:
    from grimnir.engine.dsp import DspChain
    from grimnir.engine.engine import Engine

TELEMETRY_EVERY_FRAMES = RATE


class TelemetryCollector:
    """Accumulates per-block figures and reports them once per engine second."""

    def __init__(self, chain: DspChain) -> None:
        self._chain = chain
        self._peak = np.zeros(2, dtype=np.float64)
        self._sum_sq = np.zeros(2, dtype=np.float64)
        self._frames = 0
        self._busy = 0.0
        self._blocks = 0
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()
        self._next = TELEMETRY_EVERY_FRAMES
        self._silent_frames = 0
        """Frames the output has been silent for, up to now (0 once it is audible)."""
        self._dead_air_frames = 0
        """Every silent frame of the output since the engine started."""
        self._underruns_done = 0
        """Underruns of the items that finished (the current one's are added live)."""
        self._voice: Any = None
        self._voice_underruns = 0
        self._own_level: KWeightedLevel | None = None
        """Loudness of the output when the chain has neither a meter nor an output loop."""

    def rebind(self, chain: DspChain) -> None:
        """Read the meter of ``chain`` from now on (after a new DSP graph)."""
        self._chain = chain
        self._own_level = None

    def _measure(self, block: Block) -> None:
        """Feed the telemetry's own loudness meter, when the chain measures nothing."""
        if self._chain.meter is not None or self._chain.output_loop is not None:
            return
        if self._own_level is None:
            self._own_level = KWeightedLevel()
        self._own_level.add(block)

    def add_block(self, block: Block, busy_seconds: float) -> None:
        self._measure(block)
        # NOTE: two reductions instead of abs() + max(): no temporary array.
        np.maximum(self._peak, block.max(axis=1), out=self._peak)
        np.maximum(self._peak, -block.min(axis=1), out=self._peak)
        # NOTE: float32 dot products per channel (BLAS, no temporaries) are exact enough
        # for a level; the running sum is float64.
        for channel, row in enumerate(block):
            self._sum_sq[channel] += float(np.dot(row, row))
        self._frames += block.shape[1]
        self._busy += busy_seconds
        self._blocks += max(1, block.shape[1] // BLOCK)

    def due(self, frame: int) -> bool:
        return frame >= self._next

    @property
    def next_frame(self) -> int:
        """The engine frame whose block end makes the next record due."""
        return self._next

    def snapshot(self, engine: Engine) -> dict[str, Any]:
        """The telemetry record for the second that just ended; resets the counters."""
        frames = max(self._frames, 1)
        # NOTE: silence is judged on the output after the chain, on the peak of the
        # whole second, against the station's dead-air threshold.
        threshold = db_to_gain(engine.mixer.silence.threshold_db)
        if self._frames and float(self._peak.max()) < threshold:
            self._silent_frames += self._frames
            self._dead_air_frames += self._frames
        elif self._frames:
            self._silent_frames = 0
        rms = np.sqrt(self._sum_sq / frames)
        cpu_now, wall_now = time.process_time(), time.perf_counter()
        wall = max(wall_now - self._wall0, 1e-9)
        data: dict[str, Any] = {
            "peak_db": [round(gain_to_db(float(p)), 2) for p in self._peak],
            "rms_db": [round(gain_to_db(float(r)), 2) for r in rms],
            "late_blocks": engine.clock.late_blocks,
            "silence_s": round(self._silent_frames / RATE, 3),
            "dead_air_s": round(self._dead_air_frames / RATE, 3),
            "cpu_percent": round(100.0 * (cpu_now - self._cpu0) / wall, 2),
            "block_busy_ms": round(1000.0 * self._busy / max(self._blocks, 1), 3),
            "on_air": engine.mixer.on_air.value if engine.mixer.on_air else None,
            "pid": os.getpid(),
        }
        meter = self._chain.meter
        loop = self._chain.output_loop
        if loop is not None:
            data["lufs_program"] = loop.output_lufs
        if meter is None:
            # NOTE: no level meter in the graph: the output loop measures the output
            # already (no cost); a chain without one gets a meter of its own here.
            level = loop.level if loop is not None else self._own_level
            if level is not None:
                momentary, short_term = level.readings()
                data["lufs_momentary"] = momentary
                data["lufs_short_term"] = short_term
        if meter is not None:
            reading = meter.reading()
            data.update(
                {
                    "lufs_momentary": reading.momentary_lufs,
                    "lufs_short_term": reading.short_term_lufs,
                    "lufs_integrated": reading.integrated_lufs,
                    "true_peak_dbtp": reading.true_peak_dbtp,
                }
            )
        target = self._chain.target_lufs
        if target is not None:
            data["target_lufs"] = target
        current = engine.automation.current
        if current is not self._voice:
            self._underruns_done += self._voice_underruns
            self._voice, self._voice_underruns = current, 0
        if current is not None:
            source = current.source
            self._voice_underruns = source.underruns
            data["current"] = {
                "item_id": current.item.item_id,
                "title": current.item.title,
                "artist": current.item.artist,
                "position_ms": source.position_frames * 1000 // RATE,
                "duration_ms": None
                if source.duration_frames is None
                else source.duration_frames * 1000 // RATE,
                "underruns": source.underruns,
                "buffered_ms": source.buffered_frames * 1000 // RATE,
                "buffered_frames": source.buffered_frames,
            }
        data["dropouts"] = engine.clock.late_blocks + self._underruns_done + self._voice_underruns
        data["queue_length"] = len(engine.automation.queue)
        self._peak[:] = 0.0
        self._sum_sq[:] = 0.0
        self._frames = 0
        self._busy = 0.0
        self._blocks = 0
        self._cpu0, self._wall0 = cpu_now, wall_now
        self._next += TELEMETRY_EVERY_FRAMES
        return data
