"""Our ``grimnir render`` against Liquidsoap 2.1 on the same corpus and chain (issue 14).

Generates a corpus of music-like MP3 tracks (the demo synth, 48 kHz; by
default 10 tracks of 75–100 s at levels from −1 to −20 dB), then renders it with both, one after
the other and each as fast as it can: the playlist in order and looping, 3 s
crossfades, loudness normalisation to −16 LUFS, compressor, limiter, MP3
128 kbps (LAME quality 2) to a file. Liquidsoap runs the script printed by
``--show-script`` (``clock(sync="none")``); ours runs ``grimnir render
--playlist`` with a station config whose ``dsp_graph`` holds the same nodes.

For each renderer it measures, as a child process (``os.wait4``, from a small
launcher so that peak RSS is the child's own): CPU seconds
(user + sys, every thread), wall time and peak RSS, for a ``--minutes`` long
render and for a start-up render of ``--startup-seconds`` of audio (ours with
its bytecode cached, as installed, and once more without). Both
outputs are decoded with ffmpeg: durations must agree, and their loudness
(``ebur128``) is printed. The headline is the CPU ratio ours / Liquidsoap
(goal ≤ 0.8), measured in the same run. When ours misses the goal (or with
``--profile always``) our render runs again under cProfile and the top 15
cumulative entries are printed.

Needs ``liquidsoap`` (Debian's 2.1.3: ``apt-get install -y liquidsoap``) and
``ffmpeg`` on PATH.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _liquidsoap import Chain, PeerMissing, find_liquidsoap, render_script  # noqa: E402

from grimnir.demo._encode import write_mp3  # noqa: E402
from grimnir.demo.music import render_track, track_specs  # noqa: E402

GOAL = 0.8
LEVELS_DB = (-1.0, -14.0, -6.0, -20.0, -9.0, -3.0, -17.0, -11.0, -4.0, -8.0)
"""Gain of each generated track (after the synth's −1 dBFS peak normalisation)."""


@dataclass(frozen=True, slots=True)
class Run:
    """What one child process cost."""

    user_s: float
    sys_s: float
    wall_s: float
    peak_rss_mib: float

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


@dataclass(frozen=True, slots=True)
class Loudness:
    """What ffmpeg's ebur128 filter says about a decoded file."""

    seconds: float
    integrated_lufs: float
    lra_lu: float
    true_peak_dbfs: float


def make_corpus(folder: Path, tracks: int, track_seconds: float) -> list[Path]:
    """``tracks`` demo-synth MP3s (0.9–1.3 × ``track_seconds`` long) at different levels."""
    paths = []
    for spec in track_specs(tracks, seconds=track_seconds, seed=14):
        gain = np.float32(10 ** (LEVELS_DB[spec.index % len(LEVELS_DB)] / 20))
        path = folder / f"{spec.index:02d}.mp3"
        write_mp3(path, render_track(spec) * gain, spec.tags())
        paths.append(path)
    return paths


def station_yaml(chain: Chain) -> str:
    """A station whose DSP graph is the chain Liquidsoap runs (render ignores the mount)."""
    c = chain
    return f"""\
station:
  id: "8a0c14e2-6b3f-4d7a-9e21-5c4b3a2f1e14"
  name: "vs Liquidsoap"
  timezone: "UTC"
mounts:
  - id: main
    name: "Main"
    outputs:
      - type: http
        path: "/radio.mp3"
        format: mp3
        bitrate_kbps: {c.bitrate_kbps}
dsp_graph:
  nodes:
    - type: loudness_normalize
      target_lufs: {c.target_lufs}
      true_peak_limit: {c.true_peak_db}
      max_gain_db: {c.max_gain_db}
    - type: compressor
      threshold_db: {c.comp_threshold_db}
      ratio: {c.comp_ratio}
      attack_ms: {c.comp_attack_ms}
      release_ms: {c.comp_release_ms}
    - type: limiter
      threshold_db: {c.limit_threshold_db}
      release_ms: {c.limit_release_ms}
"""


def grimnir_command() -> list[str]:
    """The ``grimnir`` entry point of this interpreter's environment."""
    script = Path(sys.executable).with_name("grimnir")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "grimnir"]


def render_args(work: Path, out: Path, seconds: float, chain: Chain) -> list[str]:
    """``grimnir render`` arguments for ``seconds`` of the corpus playlist to ``out``."""
    return [
        "render",
        "-o",
        str(out),
        "--playlist",
        str(work / "list.m3u"),
        "--crossfade",
        str(chain.crossfade_s),
        "--curve",
        "linear",  # NOTE: Liquidsoap's crossfade fades are linear by default
        "-c",
        str(work / "station.yaml"),
        "--duration",
        str(seconds),
        "--bitrate",
        str(chain.bitrate_kbps),
        "--json",
    ]


def python_env(pycache: Path, *, write: bool) -> dict[str, str]:
    """Our child's environment: bytecode cached under ``pycache`` (or never written there).

    NOTE: this machine sets PYTHONDONTWRITEBYTECODE and the venv holds no .pyc, so
    every start compiles numpy, pydantic & co. from source (~1.5 CPU-s). An installed
    station has its bytecode cached; a private cache prefix gives that without
    writing into src/ or .venv/. ``write=False`` with an empty prefix measures the
    cold, compile-everything start as well.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


_LAUNCHER = """
import json, os, sys, time
result, argv = sys.argv[1], sys.argv[2:]
began = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - began
with open(result, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "user": usage.ru_utime,
               "sys": usage.ru_stime, "maxrss_kib": usage.ru_maxrss, "wall": wall}, out)
"""
"""Starts the measured program and reports its ``wait4`` usage.

NOTE: on Linux a child's ru_maxrss starts at the RSS of the process it was
forked from (exec records the old mm's high-water mark), and this script holds
the generated corpus: ~180 MiB would hide the peer's real peak. A bare
``python -I -S`` (~10 MiB) in between keeps the number honest.
"""


def measured(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to completion (output to ``log``) and return what it cost."""
    result = log.with_suffix(".usage.json")
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(result), *argv]
    with log.open("wb") as sink:
        subprocess.run(launcher, stdout=sink, stderr=subprocess.STDOUT, env=env, check=True)
    usage = json.loads(result.read_text())
    if usage["code"] != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise SystemExit(
            f"{' '.join(argv[:3])} … exited with {usage['code']}; its log ends:\n{tail}"
        )
    # NOTE: ru_maxrss is in KiB on Linux.
    return Run(usage["user"], usage["sys"], usage["wall"], usage["maxrss_kib"] / 1024)


def run_liquidsoap(binary: str, work: Path, out: Path, seconds: float, chain: Chain) -> Run:
    script = work / f"{out.stem}.liq"
    script.write_text(render_script(work / "list.m3u", out, seconds, chain))
    return measured([binary, str(script)], work / f"{out.stem}.log")


def run_ours(work: Path, out: Path, seconds: float, chain: Chain, *, cached: bool = True) -> Run:
    log = work / f"{out.stem}.log"
    env = (
        python_env(work / "pycache", write=True)
        if cached
        else python_env(work / "cold", write=False)
    )
    run = measured([*grimnir_command(), *render_args(work, out, seconds, chain)], log, env)
    text = log.read_text(errors="replace")
    summary = json.loads(text[text.index("{") : text.rindex("}") + 1])
    if summary["errors"]:
        raise SystemExit(f"grimnir render skipped files: {summary['errors']}")
    return run


_SUMMARY = {
    "integrated_lufs": re.compile(r"I:\s+(-?[\d.]+|-inf) LUFS"),
    "lra_lu": re.compile(r"LRA:\s+(-?[\d.]+) LU"),
    "true_peak_dbfs": re.compile(r"Peak:\s+(-?[\d.]+|-inf) dBFS"),
}


def loudness(ffmpeg: str, path: Path) -> Loudness:
    """Decode ``path`` with ffmpeg through ``ebur128`` (true peak on)."""
    argv = [ffmpeg, "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true"]
    done = subprocess.run(
        [*argv, "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ffmpeg could not decode {path}:\n{done.stderr[-2000:]}")
    text = done.stderr
    times = re.findall(r"\bt:\s+([\d.]+)", text)
    summary = text[text.rindex("Summary:") :]
    values = {key: float(rx.findall(summary)[-1]) for key, rx in _SUMMARY.items()}
    return Loudness(seconds=float(times[-1]) if times else 0.0, **values)


def profile_ours(work: Path, seconds: float, chain: Chain) -> str:
    """Top 15 cumulative entries of our render under cProfile."""
    stats_path = work / "ours.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(stats_path), "-m", "grimnir"]
    measured(
        [*argv, *render_args(work, work / "profiled.mp3", seconds, chain)],
        work / "prof.log",
        python_env(work / "pycache", write=True),
    )
    report = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=report)
    print("top 15 by cumulative time, everything:", file=report)
    stats.sort_stats("cumulative").print_stats(15)
    print("top 15 by cumulative time, grimnir's own code:", file=report)
    stats.print_stats(r"src/grimnir/", 15)
    print("top 15 by own time:", file=report)
    stats.sort_stats("tottime").print_stats(15)
    return report.getvalue()


def row(label: str, run: Run, seconds: float) -> str:
    return (
        f"{label:<30} {run.cpu_s:8.2f} {run.user_s:8.2f} {run.sys_s:6.2f} {run.wall_s:8.2f} "
        f"{seconds / run.cpu_s:9.1f}× {run.peak_rss_mib:9.0f}"
    )


def median_run(runs: list[Run]) -> Run:
    """The run with the median CPU time (start-ups are short, so noisy)."""
    return sorted(runs, key=lambda r: r.cpu_s)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the long render")
    parser.add_argument("--startup-seconds", type=float, default=5.0)
    parser.add_argument("--startup-repeats", type=int, default=3, help="median of this many")
    parser.add_argument("--tracks", type=int, default=10)
    parser.add_argument("--track-seconds", type=float, default=80.0, help="×0.9–1.3 per track")
    parser.add_argument("--liquidsoap", help="path of the liquidsoap binary (default: PATH)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--profile-minutes", type=float, default=5.0)
    parser.add_argument("--show-script", action="store_true", help="print the Liquidsoap script")
    args = parser.parse_args()
    if args.minutes <= 0 or args.startup_seconds <= 0 or args.startup_repeats < 1:
        parser.error("--minutes and --startup-seconds must be > 0, --startup-repeats ≥ 1")
    try:
        liquidsoap, version = find_liquidsoap(args.liquidsoap)
    except PeerMissing as exc:
        raise SystemExit(f"vs_liquidsoap: {exc}") from None
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("vs_liquidsoap: ffmpeg not found on PATH (apt-get install -y ffmpeg)")
    chain = Chain()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="vs-liquidsoap-") as tmp:
        work = Path(tmp)
        print(f"generating {args.tracks} tracks of ~{args.track_seconds:.0f} s …", flush=True)
        corpus = make_corpus(work, args.tracks, args.track_seconds)
        (work / "list.m3u").write_text("".join(f"{p}\n" for p in corpus))
        (work / "station.yaml").write_text(station_yaml(chain))
        if args.show_script:
            print(render_script(work / "list.m3u", work / "liquidsoap.mp3", seconds, chain))

        print("start-up renders …", flush=True)
        short = args.startup_seconds
        # NOTE: one unmeasured start each first: page cache, and our bytecode cache.
        run_liquidsoap(liquidsoap, work, work / "ls-warm.mp3", short, chain)
        run_ours(work, work / "ours-warm.mp3", short, chain)
        ls_start: list[Run] = []
        our_start: list[Run] = []
        our_cold: list[Run] = []
        for i in range(args.startup_repeats):
            ls_start.append(run_liquidsoap(liquidsoap, work, work / f"ls-s{i}.mp3", short, chain))
            our_start.append(run_ours(work, work / f"ours-s{i}.mp3", short, chain))
            cold = run_ours(work, work / f"ours-c{i}.mp3", short, chain, cached=False)
            our_cold.append(cold)
        print(f"{args.minutes:g}-minute renders …", flush=True)
        ls_run = run_liquidsoap(liquidsoap, work, work / "liquidsoap.mp3", seconds, chain)
        our_run = run_ours(work, work / "ours.mp3", seconds, chain)
        ls_loud = loudness(ffmpeg, work / "liquidsoap.mp3")
        our_loud = loudness(ffmpeg, work / "ours.mp3")

        ratio = our_run.cpu_s / ls_run.cpu_s
        profile = ""
        if args.profile == "always" or (args.profile == "auto" and ratio > GOAL):
            profile_seconds = min(seconds, args.profile_minutes * 60)
            print(f"profiling our render ({profile_seconds / 60:g} min) …", flush=True)
            profile = profile_ours(work, profile_seconds, chain)

    lengths = [s.seconds for s in track_specs(args.tracks, seconds=args.track_seconds, seed=14)]
    print()
    print(
        f"corpus: {len(lengths)} MP3 tracks, 48 kHz, {min(lengths):.0f}–{max(lengths):.0f} s, "
        f"levels {max(LEVELS_DB):g} … {min(LEVELS_DB):g} dB; chain: {chain.crossfade_s:g} s "
        f"crossfade → normalise {chain.target_lufs:g} LUFS → compress → limit → "
        f"MP3 {chain.bitrate_kbps}k q{chain.mp3_quality}"
    )
    print(f"peer: {version}; ours: grimnir render ({' '.join(grimnir_command())})")
    print()
    print(
        f"{'render':<30} {'CPU s':>8} {'user':>8} {'sys':>6} {'wall s':>8} "
        f"{'× rt CPU':>10} {'RSS MiB':>9}"
    )
    short_s = args.startup_seconds
    n = args.startup_repeats
    print(row(f"Liquidsoap, {args.minutes:g} min", ls_run, seconds))
    print(row(f"grimnir render, {args.minutes:g} min", our_run, seconds))
    print(row(f"Liquidsoap start-up ({short_s:g} s, med/{n})", median_run(ls_start), short_s))
    print(row(f"grimnir start-up ({short_s:g} s, med/{n})", median_run(our_start), short_s))
    print(row("  same, no bytecode cache", median_run(our_cold), short_s))
    print()
    print(
        f"{'output (ffmpeg decode)':<30} {'seconds':>8} {'I LUFS':>8} {'LRA LU':>7} {'TP dBFS':>8}"
    )
    for label, loud in (("Liquidsoap", ls_loud), ("grimnir render", our_loud)):
        print(
            f"{label:<30} {loud.seconds:8.1f} {loud.integrated_lufs:8.1f} "
            f"{loud.lra_lu:7.1f} {loud.true_peak_dbfs:8.1f}"
        )
    gap = abs(ls_loud.seconds - our_loud.seconds)
    verdict = "OK" if gap <= max(1.0, 0.01 * seconds) else "MISMATCH"
    print(f"durations differ by {gap:.1f} s: {verdict}")
    print()
    ls_startup = statistics.median(r.cpu_s for r in ls_start)
    our_startup = statistics.median(r.cpu_s for r in our_start)
    steady = (our_run.cpu_s - our_startup) / max(ls_run.cpu_s - ls_startup, 1e-9)
    print(f"steady state (minus start-up) CPU ours / Liquidsoap = {steady:.2f}")
    cold_startup = statistics.median(r.cpu_s for r in our_cold)
    print(
        f"start-up CPU-s: ours {our_startup:.2f} ({cold_startup:.2f} without .pyc), "
        f"Liquidsoap {ls_startup:.2f}"
    )
    print(f"CPU ours / Liquidsoap = {ratio:.2f} (goal ≤ {GOAL})")
    if profile:
        print()
        print("our render under cProfile:")
        print(profile)


if __name__ == "__main__":
    main()
