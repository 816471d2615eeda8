"""One station's engine: layers → master bus → DSP → encoders → outputs, per block.

The same ``Engine`` runs under a ``RealtimeClock`` (on air) and a
``VirtualClock`` (``grimnir render`` and tests). Control calls may come from
any thread: they are queued and applied at the next block boundary, so the
order of audio events depends only on engine frames, never on thread timing.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grimnir.config._dsp import DspGraph
from grimnir.config.station import Failover
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import BLOCK, RATE, Block
from grimnir.engine.automation import DECLICK_MS, AutomationPlayer, PlayItem
from grimnir.engine.clock import Clock
from grimnir.engine.dsp import DspChain, build_chain
from grimnir.engine.encoders import EncoderHandle, EncoderKey, EncoderPool
from grimnir.engine.events import EngineEvent
from grimnir.engine.fallback import FallbackPlayer
from grimnir.engine.feeds import make_contribution, make_stream
from grimnir.engine.layers import DuckSettings, Layer, LayerMixer, MixSettings
from grimnir.engine.outputs import FileOutput, Output
from grimnir.engine.sources import AnalysisRequest, FileSource, Source
from grimnir.engine.telemetry import TelemetryCollector

EventSink = Callable[[EngineEvent], None]


class PcmSink(Protocol):
    """Takes the processed master bus as audio (recordings that encode their own files).

    ``write_pcm`` runs on the block loop with a (2, n) float32 chunk that
    starts at engine frame ``frame``; like ``Output.write`` it must return
    quickly and never raise. ``close`` runs once when the engine closes.
    """

    def write_pcm(self, chunk: Block, frame: int) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OutputBinding:
    """An output and the encoder format it takes."""

    output: Output
    format: str
    bitrate_kbps: int | None = None


@dataclass(slots=True)
class EngineOptions:
    """What an engine needs besides its clock."""

    dsp_graph: DspGraph = field(default_factory=DspGraph)
    failover: Failover = field(default_factory=Failover)
    realtime: bool = False
    """Realtime engines never wait for a decoder; offline ones always do."""
    mp3_quality: int = 2
    process_blocks: int = 1
    """Blocks gathered before DSP and encoding run on them as one chunk.

    Mixing, timing and events stay per 20 ms block; the master chain and the
    encoders see ``process_blocks`` blocks at once, which spreads their fixed
    per-call cost (with a realtime clock in bursts of the same size this adds
    no latency beyond the burst's). Same value → same output bytes.
    """


class Engine:
    """The media engine of one station."""

    def __init__(
        self, clock: Clock, options: EngineOptions | None = None, on_event: EventSink | None = None
    ) -> None:
        self.clock = clock
        self.options = options or EngineOptions()
        self._sinks: list[EventSink] = [on_event] if on_event else []
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        failover = self.options.failover
        self.chain: DspChain = build_chain(self.options.dsp_graph)
        mix, duck = _layer_settings(self.chain)
        self.mixer = LayerMixer(
            layer_fade_ms=failover.layer_fade_ms,
            silence_threshold_db=failover.silence_threshold_db,
            silence_duration_ms=int(failover.silence_duration_sec * 1000),
            fallback_enabled=bool(failover.fallback_paths),
            mix=mix,
            duck=duck,
        )
        self.automation = AutomationPlayer(self._make_source, self._emit, Layer.AUTOMATION.value)
        self.emergency = AutomationPlayer(self._make_source, self._emit, Layer.EMERGENCY.value)
        self.fallback = FallbackPlayer(
            [Path(p) for p in failover.fallback_paths], self._make_source, self._emit
        )
        self.live: Source | None = None
        self.live_label = ""
        self._live_heard: int | None = None
        """Engine frame after the live source's last real audio (None: none yet)."""
        self._live_grace = seconds_to_frames(failover.live_grace_sec)
        self._live_timeout = seconds_to_frames(failover.live_timeout_sec)
        self.encoders = EncoderPool()
        self.outputs: list[tuple[OutputBinding, EncoderHandle]] = []
        self._routes: dict[EncoderKey, list[Output]] = {}
        self.telemetry = TelemetryCollector(self.chain)
        self._stopped = False
        self._stepping = threading.RLock()
        """Held by a block and by ``close``: the encoders (FFmpeg contexts) must
        never run on two threads at once, e.g. a flush at close under a block."""
        self._measured: dict[str, tuple[float, int, int]] = {}
        self._pending: list[Block] = []
        self._pending_frame = 0
        self._pcm_sinks: list[PcmSink] = []
        self._busy = 0.0
        self._measuring: list[tuple[PlayItem, FileSource]] = []

    # -- wiring ----------------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> None:
        """Call ``sink`` with every event (from the engine's own thread)."""
        self._sinks.append(sink)

    def add_output(self, binding: OutputBinding) -> None:
        """Send the encoded master bus to ``binding.output`` (encoders are shared).

        The encoder's stream header is written first, so a late joiner can decode.
        """
        handle = self._acquire(binding.format, binding.bitrate_kbps)
        header = handle.stream_header()
        if header:
            binding.output.write(header)
        self.outputs.append((binding, handle))
        self._routes.setdefault(handle.key, []).append(binding.output)

    def attach(self, fmt: str, bitrate_kbps: int | None, make: Callable[[bytes], Output]) -> Output:
        """Build an output that sends the stream header itself (on every (re)connect).

        ``make`` gets the shared encoder's stream header and returns the output;
        network outputs resend it to each new peer, so it is not written here.
        """
        handle = self._acquire(fmt, bitrate_kbps)
        output = make(handle.stream_header())
        self.outputs.append((OutputBinding(output, fmt, bitrate_kbps), handle))
        self._routes.setdefault(handle.key, []).append(output)
        return output

    def add_file_output(
        self, path: Path, fmt: AudioFormat, bitrate_kbps: int | None = None, *, synchronous: bool
    ) -> FileOutput:
        """Record the master bus to ``path``; a WAV gets its true sizes at close."""
        handle = self._acquire(fmt.value, bitrate_kbps)
        output = FileOutput(
            path,
            handle.stream_header(),
            synchronous=synchronous,
            finalize=handle.encoder.finalize_header,
        )
        self.outputs.append((OutputBinding(output, fmt.value, bitrate_kbps), handle))
        self._routes.setdefault(handle.key, []).append(output)
        return output

    def add_pcm_sink(self, sink: PcmSink) -> None:
        """Give ``sink`` every processed chunk of the master bus (after the DSP chain)."""
        self._pcm_sinks.append(sink)

    def _acquire(self, fmt: str, bitrate_kbps: int | None) -> EncoderHandle:
        return self.encoders.acquire(
            AudioFormat(fmt), bitrate_kbps, mp3_quality=self.options.mp3_quality
        )

    def _make_source(self, item: PlayItem) -> Source:
        if item.path.startswith(("http://", "https://")):
            return make_stream(item, self.options.failover, self.announce)
        if item.path.startswith(("rtp://", "srt://")):
            return make_contribution(item)
        cue_in, gain = int(item.cue.cue_in), item.gain_db
        cue_out = None if item.cue.cue_out is None else int(item.cue.cue_out)
        analyze = None
        if item.analyze:
            known = self._measured.get(item.path)
            if known is None:
                analyze = AnalysisRequest(target_lufs=self._target_lufs())
            else:
                # NOTE: measured when it last played: a looped playlist pays once.
                levelling, measured_in, measured_out = known
                cue_in = max(cue_in, measured_in)
                cue_out = measured_out if cue_out is None else min(cue_out, measured_out)
                gain += levelling
        source = FileSource(
            item.path,
            cue_in_ms=cue_in,
            cue_out_ms=cue_out,
            gain_db=gain,
            blocking=not self.options.realtime,
            analyze=analyze,
        )
        if analyze is not None:
            self._measuring.append((item, source))
        return source

    def _collect_measurements(self) -> None:
        for entry in list(self._measuring):
            item, source = entry
            result = source.analysis
            if result is None and not source.finished:
                continue
            self._measuring.remove(entry)
            if result is not None:
                self._measured[item.path] = (
                    result.gain_db - item.gain_db,
                    result.cue_in_ms,
                    result.cue_out_ms,
                )

    def _target_lufs(self) -> float:
        for node in self.options.dsp_graph.nodes:
            if node.type == "loudness_normalize":
                return float(node.target_lufs)
        return -16.0

    def _emit(self, event: EngineEvent) -> None:
        for sink in self._sinks:
            sink(event)

    # -- control (thread-safe: applied at the next block) ----------------------------------

    def submit(self, command: Callable[[], None]) -> None:
        self._commands.put(command)

    def announce(self, event_type: str, data: dict[str, Any]) -> None:
        """Raise an event from another thread, stamped with the next block's frame."""
        self.submit(lambda: self._emit(EngineEvent(event_type, self.clock.frame, data)))

    def play(self, item: PlayItem) -> None:
        """Queue ``item`` on the automation layer."""
        self.submit(lambda: self.automation.enqueue(item))

    def insert_emergency(self, item: PlayItem) -> None:
        """Play ``item`` on the emergency layer now (it pre-empts everything)."""
        self.submit(lambda: self.emergency.enqueue(item))

    def load_graph(self, graph: DspGraph) -> None:
        """Replace the DSP graph at the next block (its meters and state start afresh)."""

        def apply() -> None:
            self._process_pending()
            self.options.dsp_graph = graph
            self.chain = build_chain(graph)
            self.telemetry.rebind(self.chain)
            self.mixer.configure(*_layer_settings(self.chain))

        self.submit(apply)

    def skip(self, fade_ms: int = DECLICK_MS) -> None:
        self.submit(lambda: self.automation.skip(self.clock.frame, fade_ms))

    def stop_automation(self, fade_ms: int = DECLICK_MS) -> None:
        self.submit(lambda: self.automation.stop(self.clock.frame, fade_ms))

    def set_live(self, source: Source | None, label: str = "") -> None:
        """Route a live source onto the live layer (None takes it off at once).

        The source goes on air when its audio flows. A source replacing one that
        is still holding the air (a DJ reconnecting within the grace time) keeps
        the air without a switch. ``label`` names it in events (the harbor mount).
        """

        def apply() -> None:
            if self.live is not None:
                self.live.close()
                if source is None:
                    self._end_live("routed_off", self.clock.frame, close=False)
            self.live = source
            self.live_label = label
            if source is not None:
                source.start()

        self.submit(apply)

    def _live_step(self, frame0: int) -> tuple[Block, bool]:
        """Read the live layer; is it holding the air?

        Audio gaps shorter than ``live_grace_sec`` hold the air (silence from the
        DJ, no flip to automation). A longer gap gives the air back but keeps the
        source, which returns when audio flows again; a gap of
        ``live_timeout_sec`` drops the source. A source that has ended (the DJ
        disconnected) holds the air for the grace time, so a quick reconnect
        continues the show, then it is dropped.
        """
        live = self.live
        if live is None:  # pragma: no cover - the caller checks
            raise RuntimeError("no live source")
        block, real = live.read(BLOCK)
        if real > 0:
            if self._live_heard is None:
                self._emit(EngineEvent("live.started", frame0, {"mount": self.live_label}))
            self._live_heard = frame0 + real
        heard = self._live_heard
        gap = BLOCK if heard is None else frame0 + BLOCK - heard
        if live.finished and (heard is None or gap >= self._live_grace):
            self._end_live("error" if live.error else "disconnected", frame0)
            return block, False
        if heard is None:
            return block, False
        if gap >= self._live_timeout:
            self._end_live("timeout", frame0)
            return block, False
        return block, gap < max(self._live_grace, BLOCK)

    def _end_live(self, reason: str, frame: int, *, close: bool = True) -> None:
        if close and self.live is not None:
            self.live.close()
            self.live = None
        if self._live_heard is not None:
            self._emit(
                EngineEvent("live.ended", frame, {"mount": self.live_label, "reason": reason})
            )
        self._live_heard = None

    # -- the block ------------------------------------------------------------------------

    def step(self) -> Block:
        """Mix one block at the clock's current frame and send it on.

        Returns the mixed master bus before the DSP chain (which runs once
        ``process_blocks`` blocks are gathered).
        """
        with self._stepping:
            return self._step()

    def _step(self) -> Block:
        started = time.perf_counter()
        while not self._commands.empty():
            self._commands.get_nowait()()
        if self._measuring:
            self._collect_measurements()
        frame0 = self.clock.frame
        blocks: dict[Layer, Block] = {}
        active: dict[Layer, bool] = {}
        for layer, player in (
            (Layer.AUTOMATION, self.automation),
            (Layer.EMERGENCY, self.emergency),
        ):
            rendered = player.render(frame0, BLOCK)
            if rendered is not None:
                blocks[layer] = rendered
                active[layer] = player.active
        if self.live is not None:
            blocks[Layer.LIVE], active[Layer.LIVE] = self._live_step(frame0)
        if self.mixer.wants_fallback_audio:
            blocks[Layer.FALLBACK] = self.fallback.render(frame0, BLOCK)
        before = self.mixer.on_air
        master, changes = self.mixer.mix(blocks, active)
        for change in changes:
            self._emit_change(change, frame0, before)
        if not self._pending:
            self._pending_frame = frame0
        self._pending.append(master)
        if len(self._pending) >= self.options.process_blocks:
            self._process_pending()
        self._busy += time.perf_counter() - started
        if self.telemetry.due(frame0 + BLOCK):
            self._process_pending()
            self._emit(EngineEvent("telemetry", frame0, self.telemetry.snapshot(self)))
        return master

    def _process_pending(self) -> None:
        """Run the master chain and the encoders on the gathered blocks."""
        if not self._pending:
            return
        started = time.perf_counter()
        pending = self._pending
        chunk = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=1)
        self._pending = []
        chunk = self.chain.process(chunk)
        self._send(self.encoders.encode(chunk))
        for sink in self._pcm_sinks:
            sink.write_pcm(chunk, self._pending_frame)
        self.telemetry.add_block(chunk, self._busy + time.perf_counter() - started)
        self._busy = 0.0

    def _send(self, encoded: dict[EncoderKey, bytes]) -> None:
        for key, data in encoded.items():
            if data:
                for output in self._routes.get(key, ()):
                    output.write(data)

    def _emit_change(self, change: str, frame: int, before: Layer | None) -> None:
        if change == "layer.changed":
            after = self.mixer.on_air
            self._emit(
                EngineEvent(
                    "layer.changed",
                    frame,
                    {
                        "from": before.value if before else None,
                        "to": after.value if after else None,
                    },
                )
            )
        elif change == "silence.detected":
            # NOTE: stamped where the threshold was reached: the end of this block.
            self._emit(
                EngineEvent(
                    "silence.detected",
                    frame + BLOCK,
                    {
                        "silent_ms": self.mixer.silence.silent_ms,
                    },
                )
            )
        else:
            self._emit(EngineEvent(change, frame, {}))

    def run(
        self, until_frame: int | None = None, progress: Callable[[int], None] | None = None
    ) -> None:
        """Run blocks until ``until_frame`` (or until stopped)."""
        while not self._stopped and self.clock.wait():
            if until_frame is not None and self.clock.frame >= until_frame:
                break
            with self._stepping:
                if self._stopped:  # closed while this thread waited for the clock
                    break
                self._step()
            if progress is not None:
                progress(self.clock.frame + BLOCK)

    @property
    def idle(self) -> bool:
        """True when nothing is queued or playing on automation and emergency."""
        return not (
            self.automation.active
            or self.automation.queue
            or self.emergency.active
            or self.emergency.queue
        )

    def close(self) -> None:
        """Flush encoders, close outputs and sources (in reverse order of creation).

        Safe from another thread than ``run``'s: it waits for the block in progress.
        """
        self._stopped = True
        self.clock.stop()
        with self._stepping:
            self._finish()

    def _finish(self) -> None:
        try:
            self._process_pending()
            self._send(self.encoders.flush())
        finally:
            for out_binding, _ in self.outputs:
                out_binding.output.close()
            for sink in self._pcm_sinks:
                sink.close()
            self.automation.close()
            self.emergency.close()
            self.fallback.close()
            if self.live is not None:
                self.live.close()


def seconds_to_frames(seconds: float) -> int:
    """Engine frames in ``seconds``."""
    return int(millis_to_frames(Millis(round(seconds * 1000))))


def frames_to_seconds(frames: int) -> float:
    return frames / RATE


def _layer_settings(chain: DspChain) -> tuple[MixSettings | None, DuckSettings | None]:
    mix_cfg, duck_cfg = chain.layer_config
    mix = None
    if mix_cfg is not None:
        mix = MixSettings(
            tuple(Layer(name) for name in mix_cfg.inputs), tuple(mix_cfg.gains_db or ())
        )
    duck = None
    if duck_cfg is not None:
        duck = DuckSettings(
            duck_cfg.amount_db, duck_cfg.attack_ms, duck_cfg.release_ms, duck_cfg.threshold_db
        )
    return mix, duck
