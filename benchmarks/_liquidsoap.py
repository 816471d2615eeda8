"""Liquidsoap as a peer for ``vs_liquidsoap.py`` (not a benchmark itself).

Builds the Liquidsoap 2.1 script that renders a playlist through the same chain
as our station config (3 s crossfades, loudness normalisation, compressor,
limiter, MP3 128 kbps to a file) as fast as the CPU allows, and finds the
binary with an error that says how to get it.

NOTE: Liquidsoap 2.1 renders faster than real time when the output's clock is
unsynchronised: ``clock(sync="none", s)`` (the 2.1 wrapper around
``clock.assign_new(sync="none", [s])``). ``max_duration`` ends the stream after
the asked length; the output is ``fallible`` and calls ``shutdown`` when its
source ends, so the process exits on its own once the file is written.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "install Debian's Liquidsoap 2.1 (as root: apt-get update && apt-get install -y "
    "liquidsoap), or give its path with --liquidsoap"
)


class PeerMissing(RuntimeError):
    """A program the benchmark compares against (or checks with) is not installed."""


@dataclass(frozen=True, slots=True)
class Chain:
    """The processing both renderers apply; one place for the numbers they share."""

    crossfade_s: float = 3.0
    target_lufs: float = -16.0
    true_peak_db: float = -1.0
    max_gain_db: float = 12.0
    comp_threshold_db: float = -20.0
    comp_ratio: float = 3.0
    comp_attack_ms: float = 5.0
    comp_release_ms: float = 50.0
    limit_threshold_db: float = -1.0
    limit_release_ms: float = 10.0
    bitrate_kbps: int = 128
    mp3_quality: int = 2
    """LAME's 0–9 quality; 2 is what our engine uses (``EngineOptions.mp3_quality``)."""
    rate: int = 48_000


def find_liquidsoap(given: str | None = None) -> tuple[str, str]:
    """Path and version line of the Liquidsoap binary, or :class:`PeerMissing`."""
    path = given if given is not None else shutil.which("liquidsoap")
    if path is None or not Path(path).is_file():
        raise PeerMissing(f"liquidsoap not found ({given or 'not on PATH'}): {INSTALL_HINT}")
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=120, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PeerMissing(f"{path} --version failed ({exc}): {INSTALL_HINT}") from None
    version = done.stdout.strip().splitlines()[0] if done.stdout.strip() else "Liquidsoap ?"
    if not version.startswith("Liquidsoap 2."):
        raise PeerMissing(f"{path} is {version!r}; this script is written for 2.1: {INSTALL_HINT}")
    return path, version


def _string(text: str) -> str:
    """A Liquidsoap string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _num(value: float) -> str:
    """A Liquidsoap float literal (it wants the dot: ``3.``, not ``3``)."""
    return repr(float(value))


def render_script(playlist: Path, out: Path, seconds: float, chain: Chain) -> str:
    """The ``.liq`` script: ``playlist`` (an M3U, played in order, looping) to ``out``."""
    c = chain
    return f"""\
# Render as fast as possible: {seconds:g} s of {playlist.name} to {out.name}.
settings.init.allow_root.set(true)
settings.log.stdout.set(true)
settings.log.file.set(false)
settings.frame.audio.samplerate.set({c.rate})

s = playlist(mode="normal", reload_mode="never", loop=true, {_string(str(playlist))})
s = crossfade(duration={_num(c.crossfade_s)}, fade_in={_num(c.crossfade_s)},
              fade_out={_num(c.crossfade_s)}, s)
s = normalize(target={_num(c.target_lufs)}, lufs=true, gain_max={_num(c.max_gain_db)}, s)
s = compress(threshold={_num(c.comp_threshold_db)}, ratio={_num(c.comp_ratio)},
             attack={_num(c.comp_attack_ms)}, release={_num(c.comp_release_ms)}, s)
s = limit(threshold={_num(c.limit_threshold_db)}, release={_num(c.limit_release_ms)}, s)
s = max_duration({_num(seconds)}, s)
s = clock(sync="none", s)
output.file(%mp3(bitrate={c.bitrate_kbps}, samplerate={c.rate}, stereo=true,
                 internal_quality={c.mp3_quality}),
            {_string(str(out))}, fallible=true, on_stop=shutdown, s)
"""
