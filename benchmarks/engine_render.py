"""Engine render cost against the encode floor, measured in the same run.

Generates a corpus of MP3 tracks (44.1 kHz, levels 10+ dB apart), then:

1. floor: PyAV decodes + resamples the same tracks to 48 kHz and lameenc
   encodes MP3 128 kbps at quality 2 — no mixing, no DSP;
2. engine: ``grimnir.engine.render`` renders the same duration from the same
   playlist with 2 s crossfades, the example station's full DSP chain and the
   same MP3 encoder (the goal's measure: mixing and DSP against the floor);
3. the same render again with ``--playlist``'s loudness/cue measurement of
   every file before it first plays (printed apart: that is library work).

Prints CPU seconds per hour of audio, speed (× realtime) and the ratio
engine / floor (goal ≤ 1.25). ``--minutes N`` renders less than an hour.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import lameenc
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
SOURCE_RATE = 44_100


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


def encode_floor(paths: list[Path], seconds: float) -> float:
    """CPU seconds to decode ``seconds`` of the playlist and encode it to MP3."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(48_000)
    encoder.set_channels(2)
    encoder.set_quality(2)
    wanted = int(seconds * 48_000)
    done = 0
    cpu0 = time.process_time()
    while done < wanted:
        for path in paths:
            with av.open(str(path)) as container:
                resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48_000)
                for frame in container.decode(audio=0):
                    for out in resampler.resample(frame):
                        block = out.to_ndarray()[:, : wanted - done]
                        pcm = np.clip(block, -1, 1).T.reshape(-1) * 32767
                        encoder.encode(pcm.astype(np.int16).tobytes())
                        done += block.shape[1]
                    if done >= wanted:
                        break
            if done >= wanted:
                break
    encoder.flush()
    return time.process_time() - cpu0


def engine_render(paths: list[Path], seconds: float, out: Path, analyze: bool) -> float:
    from grimnir.config.station import load_station_config
    from grimnir.domain.fades import FadeCurve
    from grimnir.engine.render import PlaylistFeeder, render

    station = load_station_config(EXAMPLE)
    feeder = PlaylistFeeder(paths, 2.0, FadeCurve.S_CURVE, loop=True, analyze=analyze)
    cpu0 = time.process_time()
    render(out, station=station, playlist=feeder, duration_s=seconds, bitrate_kbps=128)
    return time.process_time() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--track-seconds", type=float, default=200.0)
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"generating {args.tracks} tracks of {args.track_seconds:.0f} s …", flush=True)
        paths = corpus(folder, args.tracks, args.track_seconds)
        floor_cpu = encode_floor(paths, seconds)
        engine_cpu = engine_render(paths, seconds, folder / "render.mp3", analyze=False)
        measured_cpu = engine_render(paths, seconds, folder / "measured.mp3", analyze=True)
    per_hour = 3600 / seconds
    print(f"audio rendered:          {seconds / 60:.1f} min")
    print(
        f"encode floor:            {floor_cpu * per_hour:7.1f} CPU s per hour "
        f"({seconds / floor_cpu:6.1f}× realtime)"
    )
    print(
        f"engine render:           {engine_cpu * per_hour:7.1f} CPU s per hour "
        f"({seconds / engine_cpu:6.1f}× realtime)"
    )
    print(f"ratio engine / floor:    {engine_cpu / floor_cpu:.3f}  (goal ≤ 1.25)")
    print(
        f"with --playlist loudness measurement of each file before it first plays "
        f"(library work, not mixing/DSP): {measured_cpu * per_hour:.1f} CPU s per hour, "
        f"ratio {measured_cpu / floor_cpu:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
