"""Speed of library analysis, as × realtime per core and as a ratio to bare decoding.

Goal (issue 5): ``analyze_file`` runs at ≥ 500× realtime per core on typical
files (MP3 128–320 kbps, 3–5 minutes). The baseline is a bare PyAV decode of
the same files in the same run (every frame decoded, nothing else), so the
ratio says what the measuring costs on top of the decoding it cannot avoid.

Without ``--dir`` the script writes a corpus to a temporary folder: six
3-minute music-like MP3s at 192 kbps plus one FLAC and one AAC (m4a) of the
same length, encoded by the ffmpeg CLI. Times are CPU seconds of this process
(one core); the pool line is wall time with one worker per core.

Usage: python benchmarks/analysis.py [--dir DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av
import numpy as np

from grimnir.library import AnalysisOptions, analyze_file

GOAL = 500.0
RATE = 44100
EXTS = {".mp3", ".m4a", ".flac", ".ogg", ".opus", ".wav"}


def music_wav(path: Path, seconds: float, seed: int) -> None:
    """Pink-ish stereo noise with a beat and phrase envelope, ~-14 LUFS, as 16-bit WAV."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(rng.standard_normal((2, size)).astype(np.float32), axis=1)
    freqs = np.fft.rfftfreq(size, 1.0 / RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 40.0) / 40.0).astype(np.float32)
    spectrum[1] = 0.7 * spectrum[0] + 0.3 * spectrum[1]
    audio = np.fft.irfft(spectrum, size, axis=1)[:, :n]
    t = np.arange(n) / RATE
    audio *= 0.6 + 0.4 * np.abs(np.sin(np.pi * t * rng.uniform(1.5, 2.5))) ** 4
    audio *= 0.2 / np.sqrt(np.mean(audio**2))
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.ascontiguousarray(pcm.T).tobytes())


def make_corpus(folder: Path, seconds: float) -> list[Path]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("the ffmpeg CLI is needed to write the corpus: apt-get install ffmpeg")
    jobs = [(f"song{i}.mp3", ["-c:a", "libmp3lame", "-b:a", "192k"]) for i in range(6)]
    jobs += [("song6.flac", ["-c:a", "flac"]), ("song7.m4a", ["-c:a", "aac", "-b:a", "192k"])]
    files = []
    for seed, (name, codec) in enumerate(jobs):
        wav = folder / f"src{seed}.wav"
        music_wav(wav, seconds, seed)
        out = folder / name
        cmd = [ffmpeg, "-v", "error", "-nostdin", "-y", "-i", str(wav), *codec, str(out)]
        subprocess.run(cmd, check=True, timeout=600)
        wav.unlink()
        files.append(out)
    return files


def bare_decode(path: Path) -> int:
    """Decode every frame and drop it; returns the frames decoded."""
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            frames += frame.samples
    return frames


def best_cpu(fn: object, arg: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn(arg)  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="analyse the audio files in DIR instead")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=180.0, help="corpus track length")
    args = parser.parse_args()
    options = AnalysisOptions()
    with tempfile.TemporaryDirectory() as tmp:
        if args.dir:
            files = sorted(p for p in args.dir.rglob("*") if p.suffix.lower() in EXTS)
        else:
            print(f"writing the corpus ({args.seconds:.0f} s tracks) …", flush=True)
            files = make_corpus(Path(tmp), args.seconds)
        total_audio = total_decode = total_analyse = 0.0
        print(f"{'file':<16}{'audio s':>9}{'decode ×rt':>12}{'analyse ×rt':>13}{'ratio':>8}")
        for path in files:
            analysis = analyze_file(str(path), options)
            audio_s = analysis.duration_ms / 1000
            decode = best_cpu(bare_decode, path, args.repeats)
            analyse = best_cpu(lambda p: analyze_file(str(p), options), path, args.repeats)
            total_audio += audio_s
            total_decode += decode
            total_analyse += analyse
            print(
                f"{path.name[:15]:<16}{audio_s:>9.1f}{audio_s / decode:>12.0f}"
                f"{audio_s / analyse:>13.0f}{analyse / decode:>8.2f}"
            )
        speed = total_audio / total_analyse
        print(
            f"{'all':<16}{total_audio:>9.1f}{total_audio / total_decode:>12.0f}"
            f"{speed:>13.0f}{total_analyse / total_decode:>8.2f}"
        )
        cores = os.cpu_count() or 1
        with ProcessPoolExecutor(cores) as pool:
            list(pool.map(analyze_file, [str(files[0])] * cores, [options] * cores))  # warm up
            start = time.perf_counter()
            list(pool.map(analyze_file, [str(p) for p in files], [options] * len(files)))
            wall = time.perf_counter() - start
        print(
            f"pool of {cores} workers: {total_audio / wall:.0f}× realtime "
            f"({total_audio / wall / cores:.0f}× per core, wall clock)"
        )
        verdict = "meets" if speed >= GOAL else "MISSES"
        print(f"analysis {speed:.0f}× realtime per core {verdict} the goal of {GOAL:.0f}×")


if __name__ == "__main__":
    main()
