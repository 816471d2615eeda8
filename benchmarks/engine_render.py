"""Engine render speed: decode + mix, the full chain, and the encode floor, in one run.

Generates a corpus of MP3 tracks (44.1 kHz, levels 12 dB apart, played with
2 s crossfades), then measures CPU seconds (every thread: the decoders too)
per hour of audio for:

* decode alone: PyAV decoding + resampling the same playlist to 48 kHz;
* (a) decode + mix: the engine on a ``VirtualClock`` with no DSP and no
  output, stepped block by block (``Engine.step()``) and in spans up to the
  next event (``Engine.advance()``, what ``grimnir render`` and simulations
  use). Goal: ≥ 300× realtime;
* (b) the full chain: ``grimnir.engine.render`` with the example station's
  DSP chain (loudness normalise, AGC, compressor, limiter) and an MP3 128 kbps
  encoder (LAME quality 2);
* (c) the encode floor: the same PCM (the decoded playlist) through the same
  MP3 encoder alone, in the same 200 ms chunks. Goal: (b) ≤ 1.1 × (c).

Prints × realtime and µs per 20 ms block for each, and the ratios.
``--minutes N`` sets the audio length (default 20); each figure is the least CPU
of ``--repeat`` (3) interleaved runs, as other work on the machine only adds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lameenc
import numpy as np

from grimnir.config._dsp import DspGraph
from grimnir.config.station import load_station_config
from grimnir.domain.catalog import AudioFormat
from grimnir.domain.fades import FadeCurve
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import VirtualClock
from grimnir.engine.encoders import create_encoder
from grimnir.engine.engine import Engine, EngineOptions, seconds_to_frames
from grimnir.engine.render import RENDER_PROCESS_BLOCKS, PlaylistFeeder, render
from grimnir.engine.sources import DecodedStream

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
SOURCE_RATE = 44_100
CROSSFADE_S = 2.0
SPAN_BLOCKS = 50
"""Blocks asked of ``Engine.advance`` per call (it stops earlier at events)."""


def make_track(path: Path, seconds: float, seed: int, level_db: float) -> None:
    """A musical-ish stereo track: chords with an envelope over soft noise, as MP3."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SOURCE_RATE)
    t = np.arange(n) / SOURCE_RATE
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    signal = np.zeros(n)
    for k, ratio in enumerate((1.0, 1.26, 1.5, 2.0, 3.0)):
        signal += np.sin(2 * np.pi * root * ratio * t + k) / (k + 1)
    beat = 0.6 + 0.4 * np.abs(np.sin(np.pi * t * rng.uniform(1.5, 2.5)))
    noise = rng.standard_normal(n) * 0.05
    mono = (signal * beat + noise) / 3.0
    stereo = np.stack([mono, np.roll(mono, 37)]) * 10 ** (level_db / 20)
    pcm = np.clip(stereo, -1, 1).T.reshape(-1)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(192)
    encoder.set_in_sample_rate(SOURCE_RATE)
    encoder.set_channels(2)
    encoder.set_quality(5)
    data = encoder.encode((pcm * 32767).astype(np.int16).tobytes()) + encoder.flush()
    path.write_bytes(bytes(data))


def corpus(folder: Path, tracks: int, seconds: float) -> list[Path]:
    paths = []
    for i in range(tracks):
        path = folder / f"{i:02d}-track.mp3"
        make_track(path, seconds, seed=i, level_db=-4.0 if i % 2 else -16.0)
        paths.append(path)
    return paths


def playlist_pcm(paths: list[Path], seconds: float, chunk: int) -> list[np.ndarray]:
    """The playlist decoded (looped) to ``seconds`` of 48 kHz PCM, in ``chunk``-frame pieces."""
    wanted = seconds_to_frames(seconds)
    pieces: list[np.ndarray] = []
    held: list[np.ndarray] = []
    have = done = 0
    while done < wanted:
        for path in paths:
            with DecodedStream(str(path), 0, None) as decoded:
                for part in decoded.chunks():
                    held.append(part)
                    have += part.shape[1]
                    while have >= chunk and done < wanted:
                        joined = np.concatenate(held, axis=1)
                        pieces.append(np.ascontiguousarray(joined[:, :chunk]))
                        held, have, done = [joined[:, chunk:]], have - chunk, done + chunk
            if done >= wanted:
                break
    return pieces


def decode_alone(paths: list[Path], seconds: float) -> float:
    """CPU seconds to decode ``seconds`` of the playlist (PyAV + resampling)."""
    wanted = seconds_to_frames(seconds)
    done = 0
    cpu0 = time.process_time()
    while done < wanted:
        for path in paths:
            with DecodedStream(str(path), 0, None) as decoded:
                for part in decoded.chunks():
                    done += part.shape[1]
                    if done >= wanted:
                        break
            if done >= wanted:
                break
    return time.process_time() - cpu0


def encode_floor(pcm: list[np.ndarray]) -> float:
    """CPU seconds of the MP3 encoder alone (this thread only) over ``pcm``."""
    encoder = create_encoder(AudioFormat.MP3, 128, mp3_quality=2)
    cpu = 0.0
    for piece in pcm:
        t0 = time.thread_time()
        encoder.encode(piece)
        cpu += time.thread_time() - t0
    t0 = time.thread_time()
    encoder.flush()
    return cpu + time.thread_time() - t0


def decode_and_mix(paths: list[Path], seconds: float, *, spans: bool) -> float:
    """CPU seconds for the engine to play ``seconds`` of the playlist: no DSP, no output."""
    engine = Engine(
        VirtualClock(),
        EngineOptions(realtime=False, process_blocks=RENDER_PROCESS_BLOCKS, dsp_graph=DspGraph()),
    )
    feeder = PlaylistFeeder(paths, CROSSFADE_S, FadeCurve.S_CURVE, loop=True, analyze=False)
    total = seconds_to_frames(seconds) // BLOCK
    clock = engine.clock
    cpu0 = time.process_time()
    try:
        while clock.wait() and clock.block < total:
            feeder.top_up(engine)
            if spans:
                engine.advance(min(SPAN_BLOCKS, total - clock.block), until_event=True)
            else:
                engine.step()
    finally:
        engine.close()
    return time.process_time() - cpu0


def full_chain(paths: list[Path], seconds: float, out: Path) -> float:
    """CPU seconds of ``grimnir render`` with the example's DSP chain to MP3 128 kbps."""
    station = load_station_config(EXAMPLE)
    feeder = PlaylistFeeder(paths, CROSSFADE_S, FadeCurve.S_CURVE, loop=True, analyze=False)
    cpu0 = time.process_time()
    render(out, station=station, playlist=feeder, duration_s=seconds, bitrate_kbps=128)
    return time.process_time() - cpu0


def line(label: str, cpu: float, seconds: float, note: str = "") -> str:
    per_hour = cpu * 3600 / seconds
    blocks = seconds * RATE / BLOCK
    return (
        f"{label:<36} {per_hour:8.1f} CPU s/h {seconds / cpu:8.1f}× realtime "
        f"{cpu / blocks * 1e6:8.1f} µs/block  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--track-seconds", type=float, default=200.0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement (the least CPU counts)"
    )
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"generating {args.tracks} tracks of {args.track_seconds:.0f} s …", flush=True)
        paths = corpus(folder, args.tracks, args.track_seconds)
        pcm = playlist_pcm(paths, seconds, RENDER_PROCESS_BLOCKS * BLOCK)
        # NOTE: each measurement ``--repeat`` times, interleaved, keeping the least CPU:
        # other work on the machine only ever adds, and hits each of them alike
        runs: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for name, measure in (
                ("decode", lambda: decode_alone(paths, seconds)),
                ("blocks", lambda: decode_and_mix(paths, seconds, spans=False)),
                ("spans", lambda: decode_and_mix(paths, seconds, spans=True)),
                ("chain", lambda: full_chain(paths, seconds, folder / "render.mp3")),
                ("floor", lambda: encode_floor(pcm)),
            ):
                runs.setdefault(name, []).append(measure())
        decode_cpu, blocks_cpu, spans_cpu, chain_cpu, floor_cpu = (
            min(runs[name]) for name in ("decode", "blocks", "spans", "chain", "floor")
        )
    print(
        f"audio: {seconds / 60:.1f} min, {CROSSFADE_S:.0f} s crossfades, 44.1 kHz MP3 sources; "
        f"least CPU of {args.repeat} interleaved runs each"
    )
    print(line("decode alone (PyAV + resample)", decode_cpu, seconds))
    print(line("(a) decode + mix, block by block", blocks_cpu, seconds))
    print(line("(a) decode + mix, spans", spans_cpu, seconds, "(goal ≥ 300×)"))
    print(line("(b) full chain: DSP + MP3 128k", chain_cpu, seconds))
    print(line("(c) encode floor: MP3 128k alone", floor_cpu, seconds))
    mix_share = max(spans_cpu - decode_cpu, 1e-9)
    print(
        f"spans / block by block: {spans_cpu / blocks_cpu:.3f}  "
        f"(mixing alone ≈ {mix_share / (seconds * RATE / BLOCK) * 1e6:.1f} µs/block in spans)"
    )
    print(f"ratio (b) full chain / (c) encode floor: {chain_cpu / floor_cpu:.3f}  (goal ≤ 1.1)")


if __name__ == "__main__":
    main()
