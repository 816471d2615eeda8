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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grimnir.config import DspGraph
from grimnir.config.station import Failover
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.domain.layers import Layer
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import BLOCK, RATE, Block, BlockBuffer
from grimnir.engine.clock import Clock, VirtualClock
from grimnir.engine.dsp import DspChain, build_chain
from grimnir.engine.encoders import EncoderHandle, EncoderKey, EncoderPool
from grimnir.engine.events import EngineEvent, EventType, MixChange
from grimnir.engine.fallback import FallbackPlayer, air_is_empty
from grimnir.engine.layers import DuckSettings, LayerMixer, LayerPlayer, MixSettings
from grimnir.engine.live import LivePlayer
from grimnir.engine.mixing.automation import DECLICK_MS, AutomationPlayer, PlayItem
from grimnir.engine.outputs import FileOutput, Output
from grimnir.engine.snapshot import EngineSnapshot, take_snapshot
from grimnir.engine.sources import AnalysisRequest, FileSource, Source, is_feed, open_feed
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
            fallback_enabled=False,  # updated every block: whether fallback has audio
            mix=mix,
            duck=duck,
        )
        self.emergency = AutomationPlayer(self._make_source, self._emit, Layer.EMERGENCY.value)
        self.automation = AutomationPlayer(
            self._make_source, self._emit, Layer.AUTOMATION.value, yields_to=self.emergency
        )
        emergency_audio = failover.emergency_audio_path
        self.fallback = FallbackPlayer(
            [Path(p) for p in failover.fallback_paths],
            self._make_source,
            self._emit,
            None if emergency_audio is None else Path(emergency_audio),
        )
        self._sinks.append(self.fallback.observe)
        self.live_player = LivePlayer(
            self._emit,
            grace_frames=seconds_to_frames(failover.live_grace_sec),
            timeout_frames=seconds_to_frames(failover.live_timeout_sec),
        )
        self.players: Mapping[Layer, LayerPlayer] = {
            Layer.EMERGENCY: self.emergency,
            Layer.LIVE: self.live_player,
            Layer.AUTOMATION: self.automation,
            Layer.FALLBACK: self.fallback,
        }
        """The layer switch's inputs, by priority (what the mixer chooses from)."""
        self.encoders = EncoderPool()
        self.outputs: list[tuple[OutputBinding, EncoderHandle]] = []
        self._routes: dict[EncoderKey, list[Output]] = {}
        self.telemetry = TelemetryCollector(self.chain)
        self._stopped = False
        self._stepping = threading.RLock()
        """Held by a block and by ``close``: the encoders (FFmpeg contexts) must
        never run on two threads at once, e.g. a flush at close under a block."""
        self._measured: dict[str, tuple[float, int, int]] = {}
        self._chunk = BlockBuffer(self.options.process_blocks * BLOCK)
        """The mixed blocks waiting for the master chain (``process_blocks`` of them)."""
        self._chunk_fill = 0
        self._pending_frame = 0
        self._layer_out = {Layer.AUTOMATION: BlockBuffer(), Layer.EMERGENCY: BlockBuffer()}
        """Work areas the programme players render into (reused every block)."""
        self._raised = 0
        """Events other than telemetry raised so far (``advance(until_event=True)``)."""
        self._pcm_sinks: list[PcmSink] = []
        self._busy = 0.0
        self._measuring: list[tuple[PlayItem, FileSource]] = []
        self._early: set[Source] = set()
        """Sources started by ``play`` whose command has not been applied yet."""
        self._loop: threading.Thread | None = None
        """The thread in ``run``: while it runs the engine's state is its alone."""
        self._handover = threading.Lock()
        """Guards ``_loop`` and ``_close_asked``: a close is either the loop's or the caller's."""
        self._close_asked = False
        self._close_failed: BaseException | None = None
        """What the loop's ``_finish`` raised, for the ``close`` that waits for it to raise."""
        self._snapshot: EngineSnapshot = take_snapshot(self)
        """The state at the loop's last block boundary (swapped whole, never changed)."""

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
        if is_feed(item.path):
            return open_feed(
                item.path,
                item_id=item.item_id,
                meta=item.meta,
                cue_in_ms=int(item.cue.cue_in),
                cue_out_ms=None if item.cue.cue_out is None else int(item.cue.cue_out),
                grace_s=self.options.failover.live_grace_sec or 5.0,
                announce=self.announce,
            )
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
        if event.type != "telemetry":
            self._raised += 1
        for sink in self._sinks:
            sink(event)

    # -- control (thread-safe: applied at the next block) ----------------------------------

    def submit(self, command: Callable[[], None]) -> None:
        self._commands.put(command)

    def announce(self, event_type: EventType, data: dict[str, Any]) -> None:
        """Raise an event from another thread, stamped with the next block's frame."""
        self.submit(lambda: self._emit(EngineEvent(event_type, self.clock.frame, data)))

    def play(self, item: PlayItem) -> None:
        """Queue ``item`` on the automation layer."""
        source = self._early_source(item)

        def apply() -> None:
            if source is not None:
                self._early.discard(source)
            self.automation.enqueue(item, source)

        self.submit(apply)

    def _early_source(self, item: PlayItem) -> Source | None:
        """On air, a file to play at once (no ``start_at``: a resume after an engine
        restart, a join) starts decoding now, on the caller's thread: at the next
        block loop wake-up it has audio, where a source started there would give a
        whole burst of silence first (the decoder opens and seeks meanwhile)."""
        if not self.options.realtime or item.start_at is not None or item.analyze:
            return None
        if item.path.startswith(("http://", "https://", "rtp://", "srt://")):
            return None
        try:
            source = self._make_source(item)
        except EngineError:
            return None  # NOTE: the block loop meets the same problem and reports it as ever
        self._early.add(source)
        source.start()
        return source

    def insert_emergency(self, item: PlayItem) -> None:
        """Play ``item`` on the emergency layer now (it pre-empts everything)."""
        self.submit(lambda: self.emergency.enqueue(item))

    def set_fallback(self, items: list[PlayItem]) -> None:
        """Replace the fallback rotation (from the next fallback item on; empty: none)."""
        self.submit(lambda: self.fallback.set_rotation(items))

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
        self.submit(lambda: self.live_player.route(source, label, self.clock.frame))

    @property
    def live(self) -> Source | None:
        """The source on the live layer (None: no DJ routed).

        NOTE: the block loop's own view; other threads (the harbor's admission)
        read ``snapshot().live_holding`` and ``live_label`` instead.
        """
        return self.live_player.source

    @property
    def live_label(self) -> str:
        """The harbor mount on the live layer ("" before the first)."""
        return self.live_player.label

    # -- the block ------------------------------------------------------------------------

    def step(self, blocks: int = 1, *, until_event: bool = False) -> Block:
        """Mix one block at the clock's current frame and send it on (or ``blocks``).

        Returns the mixed master bus before the DSP chain (which runs once
        ``process_blocks`` blocks are gathered), as a new array. With
        ``blocks`` > 1 (a ``VirtualClock`` only) it renders like ``advance``
        and returns the master bus of every block rendered, shape
        ``(2, rendered × BLOCK)``.
        """
        if blocks == 1:
            with self._stepping:
                return self._step().copy()
        kept: list[Block] = []
        self._advance(blocks, until_event, kept)
        return kept[0] if len(kept) == 1 else np.concatenate(kept, axis=1)

    def advance(self, blocks: int, *, until_event: bool = False) -> int:
        """Offline: render the next ``blocks`` blocks, many at once where nothing happens.

        For engines on a ``VirtualClock`` (``grimnir render``, tests,
        simulations). The result is what ``step()`` would give block by block
        with ``clock.wait()`` between (the same samples to every output and
        sink, the same events at the same frames, in the same order), but
        stretches with no event in them (no item starting, ending or reaching
        its segue, no hard start, no layer fade, no dead air, no telemetry
        record) are mixed in one call each. It starts at the clock's current
        block and leaves the clock on the last block rendered, like ``step()``:
        call ``clock.wait()`` before the next call.

        Commands (``play``, ``skip``, …) queued before the call apply at its
        first block; ones that arrive from other threads while it runs apply
        at the start of the next stretch. With ``until_event`` it returns
        after the first block that raised an event other than telemetry, so a
        controller can react on the next block as it would stepping block by
        block. Returns how many blocks were rendered (1 to ``blocks``).
        """
        return self._advance(blocks, until_event, None)

    def _advance(self, blocks: int, until_event: bool, kept: list[Block] | None) -> int:
        if blocks < 1:
            raise ValueError(f"blocks must be at least 1, got {blocks}")
        clock = self.clock
        if blocks > 1 and not isinstance(clock, VirtualClock):
            raise EngineError("rendering several blocks at once needs a VirtualClock")
        done = 0
        with self._stepping:
            raised = self._raised
            while True:
                master, rendered = self._span(blocks - done)
                if kept is not None:
                    kept.append(master.copy())
                done += rendered
                if done >= blocks or (until_event and self._raised != raised):
                    return done
                if isinstance(clock, VirtualClock):
                    clock.advance(1)

    def _span(self, limit: int) -> tuple[Block, int]:
        """Render a quiet stretch of up to ``limit`` blocks, or else one block."""
        if limit > 1:
            self._apply_commands()
            frame0 = self.clock.frame
            quiet = self._quiet_blocks(frame0, limit)
            if quiet > 0:
                return self._mix_quiet(frame0, quiet), quiet
        return self._step(), 1

    def _apply_commands(self) -> None:
        looping = self._loop is not None
        while not self._commands.empty():
            self._commands.get_nowait()()
            if looping:
                # NOTE: a status asked once a command is applied shows it, not a block later.
                self._snapshot = take_snapshot(self)
        if self._measuring:
            self._collect_measurements()

    def _quiet_blocks(self, frame0: int, limit: int) -> int:
        """How many blocks from ``frame0`` (at most ``limit``) mix with no event in them.

        NOTE: this mirrors ``_step``'s per-block decisions (players, live,
        fallback, mixer, telemetry): a block counts only if each of them would
        do nothing in it but play on.
        """
        limit = min(limit, max(1, -(-(self.telemetry.next_frame - frame0) // BLOCK)))
        active: dict[Layer, bool] = {}
        held = self.live_player.steady_blocks(frame0)
        if held is not None:
            # NOTE: a DJ that may change in the next block mixes block by block.
            if held <= 0:
                return 0
            limit = min(limit, held)
            active[Layer.LIVE] = True
        for layer, player in (
            (Layer.AUTOMATION, self.automation),
            (Layer.EMERGENCY, self.emergency),
        ):
            if player.idle:
                continue
            player.settle(frame0 + limit * BLOCK)
            horizon = player.next_event_frame(frame0)
            if horizon is not None:
                limit = min(limit, (horizon - frame0) // BLOCK)
            active[layer] = player.holds_air
        mixer, fallback = self.mixer, self.fallback
        if mixer.fallback_on:
            # Fallback covers an empty air: it plays on until a programme layer holds
            # the air again (the horizons above) or its own item changes.
            if limit <= 0 or not mixer.steady(active, fallback=True):
                return 0
            fallback.settle(frame0 + limit * BLOCK)
            limit = min(limit, (fallback.next_event_frame(frame0) - frame0) // BLOCK)
            for index in range(limit):
                mixer.fallback_enabled = fallback.ready(frame0 + index * BLOCK)
            return max(0, limit)
        if limit <= 0 or not mixer.steady(active):
            return 0
        if not fallback.ready(frame0) and fallback.unready_through(frame0 + (limit - 1) * BLOCK):
            mixer.fallback_enabled = False  # nothing to fall back on in any of these blocks
            return limit
        to_dead_air = mixer.silence.blocks_to_dead_air()
        for index in range(limit):
            frame = frame0 + index * BLOCK
            ready = fallback.ready(frame)
            if ready and (
                index + 1 >= to_dead_air
                or air_is_empty(frame, active, self.automation, self.emergency)
            ):
                return index
            mixer.fallback_enabled = ready
        return limit

    def _mix_quiet(self, frame0: int, count: int) -> Block:
        """Mix ``count`` quiet blocks (see ``_quiet_blocks``) in one call and send them on."""
        started = time.perf_counter()
        n = count * BLOCK
        blocks: dict[Layer, Block] = {}
        active: dict[Layer, bool] = {}
        for layer, player in (
            (Layer.AUTOMATION, self.automation),
            (Layer.EMERGENCY, self.emergency),
        ):
            rendered = player.render(frame0, n, self._layer_out[layer].view(n))
            if rendered is not None:
                blocks[layer] = rendered
                active[layer] = player.holds_air
        live = self.live_player.render(frame0, n, steady=True)  # NOTE: see ``_quiet_blocks``
        if live is not None:
            blocks[Layer.LIVE] = live
            active[Layer.LIVE] = True
        if self.mixer.fallback_on:  # NOTE: steady on fallback (``_quiet_blocks``)
            blocks[Layer.FALLBACK] = self.fallback.render(frame0, n)
        last = frame0 + n - BLOCK
        empty = air_is_empty(last, active, self.automation, self.emergency)
        before = self.mixer.on_air
        master, changes = self.mixer.mix(blocks, active, empty=empty, frames=n)
        for change in changes:  # NOTE: none: ``_quiet_blocks`` ruled every change out
            self._emit_change(change, last, before)
        if isinstance(self.clock, VirtualClock):
            self.clock.advance(count - 1)
        self._gather(master, frame0)
        self._busy += time.perf_counter() - started
        if self.telemetry.due(last + BLOCK):
            self._process_pending()
            self._emit(EngineEvent("telemetry", last, self.telemetry.snapshot(self)))
        return master

    def _gather(self, master: Block, frame0: int) -> None:
        """Queue mixed audio for the master chain, which runs on every ``process_blocks``.

        The chunks are cut where block-by-block stepping cuts them, whatever
        ``master`` spans, so the DSP and the encoders see the same audio.
        """
        per = self.options.process_blocks * BLOCK
        chunk = self._chunk.view(per)
        n = master.shape[1]
        pos = 0
        while pos < n:
            fill = self._chunk_fill
            if fill == 0:
                self._pending_frame = frame0 + pos
            take = min(n - pos, per - fill)
            chunk[:, fill : fill + take] = master[:, pos : pos + take]
            self._chunk_fill = fill + take
            pos += take
            if self._chunk_fill >= per:
                self._process_pending()

    def _step(self) -> Block:
        started = time.perf_counter()
        self._apply_commands()
        frame0 = self.clock.frame
        blocks: dict[Layer, Block] = {}
        active: dict[Layer, bool] = {}
        for layer, player in (
            (Layer.AUTOMATION, self.automation),
            (Layer.EMERGENCY, self.emergency),
        ):
            rendered = player.render(frame0, BLOCK, self._layer_out[layer].view(BLOCK))
            if rendered is not None:
                blocks[layer] = rendered
                active[layer] = player.holds_air
        live = self.live_player.render(frame0, BLOCK)
        if live is not None:
            blocks[Layer.LIVE], active[Layer.LIVE] = live, self.live_player.holds_air
        fallback, mixer = self.fallback, self.mixer
        # NOTE: a routed DJ whose audio stopped holds no air (``LivePlayer``): with
        # nothing under it the air is empty, fallback covers until the DJ is back
        empty = air_is_empty(frame0, active, self.automation, self.emergency)
        mixer.fallback_enabled = fallback.ready(frame0)
        if mixer.wants_fallback_audio or (empty and mixer.fallback_enabled):
            blocks[Layer.FALLBACK] = fallback.render(frame0, BLOCK)
        elif self.options.realtime and mixer.fallback_enabled and not self.automation.queue:
            fallback.arm(frame0)  # the programme's last item: fallback must not start late
        before = mixer.on_air
        master, changes = mixer.mix(blocks, active, empty=empty)
        if Layer.FALLBACK in blocks and not mixer.wants_fallback_audio:
            fallback.release(frame0 + BLOCK)
        stamp = frame0
        if "fallback.started" in changes:
            stamp = fallback.took_air_at(frame0)
        elif "fallback.ended" in changes:
            stamp = fallback.gave_air_at(frame0)
        for change in changes:
            self._emit_change(change, stamp, before)
        self._gather(master, frame0)
        self._busy += time.perf_counter() - started
        if self.telemetry.due(frame0 + BLOCK):
            self._process_pending()
            self._emit(EngineEvent("telemetry", frame0, self.telemetry.snapshot(self)))
        return master

    def _process_pending(self) -> None:
        """Run the master chain and the encoders on the gathered blocks."""
        fill = self._chunk_fill
        if not fill:
            return
        started = time.perf_counter()
        self._chunk_fill = 0
        per = self.options.process_blocks * BLOCK
        chunk = self._chunk.view(per)
        if fill < per:
            # NOTE: a short chunk (telemetry, a new graph, close) must be contiguous too.
            chunk = np.ascontiguousarray(chunk[:, :fill])
        # NOTE: the chain may work in place on the reused chunk: every node, encoder
        # and sink copies what it keeps.
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

    def _emit_change(self, change: MixChange, frame: int, before: Layer | None) -> None:
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
        """Run blocks until ``until_frame`` (or until stopped) on this thread, the loop thread.

        While it runs the engine's state is this thread's: it takes a snapshot after
        every block for the others (``snapshot``), and a ``close`` asked meanwhile is
        carried out here, on the way out.
        """
        with self._handover:
            if self._loop is not None:
                raise EngineError(f"the engine already runs on thread {self._loop.name!r}")
            self._loop = threading.current_thread()
        try:
            with self._stepping:
                self._snapshot = take_snapshot(self)
            while not self._stopped and self.clock.wait():
                if until_frame is not None and self.clock.frame >= until_frame:
                    break
                with self._stepping:
                    if self._stopped:  # closed while this thread waited for the clock
                        break
                    self._step()
                    self._snapshot = take_snapshot(self)
                if progress is not None:
                    progress(self.clock.frame + BLOCK)
        finally:
            with self._handover:
                self._loop = None
                closing = self._close_asked
            if closing:
                try:
                    with self._stepping:
                        self._finish()
                except BaseException as exc:  # raised by ``close``, on the caller's thread
                    self._close_failed = exc

    def snapshot(self) -> EngineSnapshot:
        """The engine's state at a block boundary, safe to read from any thread.

        While ``run`` runs: the one its thread took after its last block, or after
        the last command it applied (at most a block old, and showing every
        command applied so far). Otherwise (offline, a test stepping the clock)
        one taken now, between blocks.
        """
        if self._loop is not None:
            return self._snapshot
        with self._stepping:
            return take_snapshot(self)

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

        While ``run`` runs, its thread does it after the block in progress and this
        waits for that thread to end: the encoders, outputs and sources never see a
        second thread. Without a loop thread (offline, a test stepping the clock) it
        is done here, between blocks.
        """
        self._stopped = True
        # NOTE: the loop leaves at once (a RealtimeClock would sleep up to a whole
        # burst before a queued command ran) and runs ``_finish`` on its way out.
        self.clock.stop()
        with self._handover:
            loop = self._loop
            self._close_asked = loop is not None
        if loop is None:
            with self._stepping:
                self._finish()
        elif loop is not threading.current_thread():  # from the loop itself: on its way out
            loop.join()
            failed, self._close_failed = self._close_failed, None
            if failed is not None:
                raise failed

    def _finish(self) -> None:
        try:
            self._process_pending()
            self._send(self.encoders.flush())
        finally:
            for out_binding, _ in self.outputs:
                out_binding.output.close()
            for sink in self._pcm_sinks:
                sink.close()
            for player in self.players.values():
                player.close()
            for source in list(self._early):  # played, but closed before the next block
                source.close()


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
