"""Cost of the master-bus DSP chain, as a share of an MP3 encode of the same audio.

Budget: the whole engine may cost at most 1.25× the bare decode + MP3 encode,
and decode and mix take their part of that, so the DSP chain of the example
station (loudness_normalize → agc → compressor → limiter) must cost ≤ 15 % of
encoding the same audio with LAME (lameenc, quality 2, 128 kbps).

The script renders 10 minutes of music-like audio (tracks of 40–90 s whose
loudness alternates between −30 and −8 LUFS), runs it in 960-frame blocks
through the chain and through each node alone, encodes it to MP3 as the
baseline, and prints × realtime for each and the chain/encode ratio. When the
chain misses the budget it prints a profile of the hot spots.

Usage: python benchmarks/dsp_chain.py [minutes] [repeats]
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lameenc
import numpy as np
import numpy.typing as npt
import pyebur128

from grimnir.config import parse_station_config
from grimnir.engine.audio import BLOCK, RATE, to_int16_interleaved
from grimnir.engine.dsp import DspChain, DspNode, LoudnessNormalizerNode, build_chain

BUDGET = 0.15
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "station-wgmr.yaml"

Blocks = npt.NDArray[np.float32]


def music_track(rng: np.random.Generator, seconds: float, lufs: float) -> npt.NDArray[np.float32]:
    """Stereo pink-ish noise with a beat and a phrase envelope, at ``lufs``."""
    n = int(seconds * RATE)
    size = 1 << (n - 1).bit_length()  # a power of two: FFTs of prime-ish lengths crawl
    spectrum = np.fft.rfft(rng.standard_normal((2, size)), axis=1)
    freqs = np.fft.rfftfreq(size, 1.0 / RATE)
    spectrum /= (np.maximum(freqs, 40.0) / 40.0) ** (rng.uniform(0.8, 1.2) / 2.0)
    spectrum[:, freqs > rng.uniform(12000, 18000)] *= 0.05
    spectrum[1] = 0.6 * spectrum[0] + 0.4 * spectrum[1]
    audio = np.fft.irfft(spectrum, size, axis=1)[:, :n]
    t = np.arange(n) / RATE
    pulse = np.abs(np.sin(np.pi * (t * rng.uniform(80, 150) / 60 + rng.uniform()))) ** 4
    phrase_db = rng.uniform(1, 3) * np.sin(2 * np.pi * t / rng.uniform(8, 20) + rng.uniform(0, 6))
    audio *= (0.5 + 0.5 * pulse) * 10.0 ** (phrase_db / 20.0)
    out = audio.astype(np.float32)
    state = pyebur128.R128State(2, RATE, pyebur128.MeasurementMode.MODE_I)
    state.add_frames(np.ascontiguousarray(out.T).reshape(-1), n)
    out *= np.float32(10.0 ** ((lufs - pyebur128.get_loudness_global(state)) / 20.0))
    return out


def programme(minutes: float, seed: int = 7) -> Blocks:
    """``minutes`` of tracks alternating −30 / −8 LUFS, as (blocks, 2, 960) float32."""
    rng = np.random.default_rng(seed)
    tracks, total, level = [], 0.0, -30.0
    while total < minutes * 60:
        seconds = float(rng.uniform(40, 90))
        tracks.append(music_track(rng, seconds, level))
        total += seconds
        level = -8.0 if level == -30.0 else -30.0
    audio = np.concatenate(tracks, axis=1)[:, : int(minutes * 60 * RATE) // BLOCK * BLOCK]
    return np.ascontiguousarray(audio.reshape(2, -1, BLOCK).transpose(1, 0, 2))


def through(nodes: DspChain | DspNode, blocks: Blocks) -> Callable[[], None]:
    def run() -> None:
        work = blocks.copy()  # nodes may work in place; every run starts from the same audio
        process = nodes.process
        start = time.perf_counter()
        for block in work:
            process(block)
        run.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]

    return run


def timed(repeats: int, run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeats):
        run()
        best = min(best, run.elapsed)  # type: ignore[attr-defined]
    return best


def mp3_encode(blocks: Blocks) -> Callable[[], None]:
    pcm = [to_int16_interleaved(block).tobytes() for block in blocks]

    def run() -> None:
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(128)
        encoder.set_in_sample_rate(RATE)
        encoder.set_channels(2)
        encoder.set_quality(2)
        start = time.perf_counter()
        for chunk in pcm:
            encoder.encode(chunk)
        encoder.flush()
        run.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]

    return run


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    graph = parse_station_config(EXAMPLE.read_text(), str(EXAMPLE)).dsp_graph
    blocks = programme(minutes)
    seconds = blocks.shape[0] * BLOCK / RATE
    print(f"audio: {seconds:.0f} s in {blocks.shape[0]} blocks of {BLOCK} frames")

    mp3 = timed(repeats, mp3_encode(blocks))
    print(f"{'mp3 encode (lameenc q2 128k)':34s} {seconds / mp3:8.0f}× realtime  (baseline)")
    chain = build_chain(graph)
    total = timed(repeats, through(chain, blocks))
    alone_nodes: list[tuple[str, DspNode]] = [(n.name, n) for n in build_chain(graph).nodes]
    # In the chain the normaliser leaves its true-peak ceiling to the final limiter;
    # on its own it runs its own look-ahead limiter: measured too, for reference.
    alone_nodes.append(("loudness_normalize (own limiter)", LoudnessNormalizerNode(-16.0, -1.0)))
    for name, node in alone_nodes:
        alone = timed(repeats, through(node, blocks))
        print(f"  {name:32s} {seconds / alone:8.0f}× realtime  {alone / mp3:6.1%} of mp3")
    ratio = total / mp3
    verdict = "OK" if ratio <= BUDGET else "OVER BUDGET"
    print(f"{'chain ' + repr([n.name for n in chain.nodes]):34s}")
    print(f"{'  whole chain':34s} {seconds / total:8.0f}× realtime  {ratio:6.1%} of mp3")
    print(f"chain / mp3 encode = {ratio:.3f} (budget {BUDGET:.2f}): {verdict}")
    if ratio > BUDGET:
        profile = cProfile.Profile()
        chain.reset()
        run = through(chain, blocks)
        profile.runcall(run)
        report = io.StringIO()
        pstats.Stats(profile, stream=report).sort_stats("tottime").print_stats(12)
        print(report.getvalue())


if __name__ == "__main__":
    main()
