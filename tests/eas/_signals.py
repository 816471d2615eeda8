"""Shared test material: the alert table, noise, level steps, music-like audio,
and Debian's multimon-ng as the independent decoder."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from grimnir.eas import SameHeader
from tests._require import FFMPEG_PATH, peer_path, require_peer, skip_or_fail

RATE = 48_000
Pcm = npt.NDArray[np.float32]


def _header(org: str, event: str, codes: list[str], purge: int, sender: str) -> SameHeader:
    return SameHeader(
        org, event, tuple(codes), purge, datetime(2026, 3, 1, 18, 5, tzinfo=UTC), sender
    )


#: Every state FIPS code from 01 to 31 (some unused by states: fine for SAME).
_THIRTY_ONE = [f"0{s:02d}001" for s in range(1, 32)]

#: The table of alerts: event codes, originators, locations (1 to 31, state and
#: county wildcards, subdivisions), purge times and senders.
CASES: dict[str, SameHeader] = {
    "rwt-one-county": _header("EAS", "RWT", ["048453"], 15, "WXYZ/FM "),
    "rmt-three": _header("CIV", "RMT", ["048453", "048491", "048209"], 30, "KABC/AM "),
    "tor-nws": _header("WXR", "TOR", ["048453", "048021"], 60, "KEWX/NWS"),
    "svr-five": _header(
        "WXR", "SVR", ["029095", "029047", "029165", "020091", "020209"], 90, "KEAX/NWS"
    ),
    "ean-national": _header("PEP", "EAN", ["000000"], 360, "WHITEHSE"),
    "cae-31": _header("CIV", "CAE", _THIRTY_ONE, 30, "ALERT-TX".replace("-", "_")),
    "rwt-statewide": _header("EAS", "RWT", ["048000", "040000"], 15, "GRIMNIR "),
    "ffw-subdivisions": _header("WXR", "FFW", ["148453", "248453", "948453"], 45, "KEWX/NWS"),
    "evi-long": _header("CIV", "EVI", ["006037", "006059"], 120, "LACOEM  "),
    "npt-test": _header("PEP", "NPT", ["000000"], 60, "FEMA    "),
}


def noise(pcm: Pcm, snr_db: float, seed: int = 7) -> Pcm:
    """``pcm`` plus white noise at ``snr_db`` below the power of its non-silent part."""
    active = pcm[np.abs(pcm) > 1e-4]
    power = float(np.mean(active.astype(np.float64) ** 2))
    sigma = np.sqrt(power / 10 ** (snr_db / 10))
    rng = np.random.default_rng(seed)
    return (pcm + rng.normal(0.0, sigma, len(pcm))).astype(np.float32)


def level_steps(pcm: Pcm, rate: int, steps_db: tuple[float, ...]) -> Pcm:
    """``pcm`` with its gain changed in steps: stretch ``k`` of sound (stretches are
    split by pauses of ≥ 0.5 s, so each SAME burst is one) gets ``steps_db[k]``."""
    loud = np.flatnonzero(np.abs(pcm) > 1e-6)
    breaks = loud[1:][np.diff(loud) >= rate // 2]
    part = np.searchsorted(breaks, np.arange(len(pcm)), side="right")
    gains = 10 ** (np.asarray(steps_db)[np.minimum(part, len(steps_db) - 1)] / 20)
    out: Pcm = (pcm * gains).astype(np.float32)
    return out


def music(seconds: float, rate: int, seed: int = 3) -> Pcm:
    """Music-like audio: chords with harmonics through 1.5–2.1 kHz (where SAME
    lives), a beat of noise bursts, at about −6 dBFS peak."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * rate))
    beat, hit = rate // 2, rate // 20
    t = np.arange(beat) / rate
    for start in range(0, len(out), beat):
        span = out[start : start + beat]
        for f in rng.choice([261.6, 329.6, 392.0, 440.0, 523.3, 587.3, 659.3], size=3):
            for harmonic in (1, 2, 3, 4):
                span += np.sin(2 * np.pi * f * harmonic * t[: len(span)]) / (harmonic * 6)
        span[:hit] += rng.normal(0, 0.3, len(span[:hit]))
    scaled: Pcm = (0.5 * out / np.max(np.abs(out))).astype(np.float32)
    return scaled


def multimon(pcm: Pcm, rate: int) -> list[str]:
    """What Debian's ``multimon-ng -a EAS`` decodes from ``pcm`` (resampled by
    ffmpeg to mono s16 22050 Hz raw, the input multimon-ng reads), in order."""
    program = peer_path("multimon-ng")
    if program is None:
        skip_or_fail(
            "needs multimon-ng (Debian's package): run `bash scripts/test-peers.sh`, "
            "which installs it, or apt-get install multimon-ng"
        )
    require_peer("ffmpeg")
    raw = subprocess.run(
        [FFMPEG_PATH, "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "-",
         "-f", "s16le", "-ar", "22050", "-ac", "1", "-"],
        input=np.clip(pcm, -1, 1).astype("<f4").tobytes(), capture_output=True, check=True,
    ).stdout  # fmt: skip
    done = subprocess.run(
        [str(program), "-q", "-t", "raw", "-a", "EAS", "-"],
        input=raw,
        capture_output=True,
        check=True,
    )
    return [
        line.removeprefix("EAS: ").strip()
        for line in done.stdout.decode("ascii", errors="replace").splitlines()
        if line.startswith("EAS: ")
    ]


def distinct(texts: list[str]) -> list[str]:
    """``texts`` without consecutive repeats (three EOMs read as one)."""
    return [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]
