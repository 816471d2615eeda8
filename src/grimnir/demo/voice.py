"""Station IDs for the demo: a spoken line over a short synthesized sting.

The voice comes from espeak-ng (or the older ``espeak``) when one is on the
PATH: it writes a WAV that is resampled to :data:`SR` and mixed over a
musical sting (a bell arpeggio and a pad chord that ducks under the voice).
Without espeak the IDs are the sting alone, and the log says so. Every ID of
a set has the same length, so a clock slot sized for one fits each of them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from grimnir.demo import _synth as syn
from grimnir.demo._encode import write_mp3
from grimnir.demo._synth import SR, Audio

log = logging.getLogger("grimnir.demo")

STATION_ID_GENRE = "Station ID"
"""The genre tag of every station ID; the demo's music block leaves this genre out."""

LINES = (
    "You're listening to {name}.",
    "{name}. Music all day, and all night.",
    "This is {name}: broadcast automation, right on time.",
    "{name}. Stay tuned.",
)
_VOICES = ("en-us", "en-us+f3", "en-gb", "en-us+m3")
_VOICE_AT_S = 0.9  # the voice enters after the sting's first notes
_TAIL_S = 1.3
_HEAD_S = 0.1


@dataclass(frozen=True, slots=True)
class StationIds:
    """The station ID files made, and whether they speak."""

    files: tuple[Path, ...]
    spoken: bool


def espeak_binary() -> str | None:
    """``espeak-ng`` or ``espeak`` from the PATH, if either is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def speak(text: str, *, binary: str, voice: str = "en-us", speed: int = 150) -> Audio:
    """``text`` spoken by espeak: mono float32 at :data:`SR`."""
    with tempfile.TemporaryDirectory(prefix="grimnir-voice-") as tmp:
        wav = Path(tmp) / "voice.wav"
        subprocess.run(  # noqa: S603 — our own arguments, no shell
            [binary, "-v", voice, "-s", str(speed), "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with wave.open(str(wav), "rb") as w:
            rate, width = w.getframerate(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
            channels = w.getnchannels()
    if width != 2:
        raise ValueError(f"{binary} wrote {8 * width}-bit audio; expected 16-bit")
    pcm = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)[:, 0]
    return _resample(np.ascontiguousarray(pcm), rate)


def _resample(pcm: np.ndarray, rate: int) -> Audio:
    """16-bit mono ``pcm`` at ``rate`` → float32 at :data:`SR` (FFmpeg's resampler)."""
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.time_base, frame.pts = rate, Fraction(1, rate), 0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def sting(seconds: float, *, key: int = 0, seed: int = 0) -> Audio:
    """A station sting of ``seconds``: a rising bell arpeggio over a major pad chord
    that swells, holds and fades (stereo float32)."""
    rng = np.random.default_rng([seed, 3])
    n = int(seconds * SR)
    out = np.zeros((2, n), dtype=np.float32)
    tonic = 60 + key
    for i, step in enumerate((0, 4, 7, 12, 16)):
        env = syn.adsr(int(0.5 * SR), int(0.9 * SR), 0.003, 0.6, 0.25, curve=2.0)
        tone = syn.fm(syn.midi_hz(tonic + step), env.size, 3.5, 2.0, 0.3) * env
        syn.add(out, int(i * 0.14 * SR), tone, -0.5 + 0.25 * i, 0.22)
    pad = syn.Wavetable((1.0, 0.4, 0.2, 0.1))
    env = syn.adsr(n, 1, 0.4, 0.8, 0.8, curve=1.0)[:n]
    for note, side in ((tonic - 12, 0.0), (tonic + 4, -0.6), (tonic + 7, 0.6), (tonic, 0.2)):
        cents = float(rng.uniform(-5, 5))
        syn.add(out, 0, pad.render(syn.midi_hz(note), n, detune_cents=cents) * env, side, 0.07)
    return out


def render_id(voice: Audio | None, seconds: float, *, key: int = 0, seed: int = 0) -> Audio:
    """A station ID of ``seconds``: the sting, with ``voice`` (mono) mixed in at
    0.9 s while the sting ducks under it; ``None`` gives the sting alone."""
    out = sting(seconds, key=key, seed=seed)
    if voice is not None and voice.size:
        at = int(_VOICE_AT_S * SR)
        span = min(voice.size, out.shape[1] - at)
        # duck the music 10 dB under the voice, with 80 ms ramps
        duck = np.ones(out.shape[1], dtype=np.float32)
        duck[at : at + span] = 0.32
        ramp = int(0.08 * SR)
        duck = np.convolve(duck, np.ones(ramp, np.float32) / ramp, mode="same").astype(np.float32)
        out *= duck
        level = 0.7 / max(1e-6, float(np.max(np.abs(voice))))
        syn.add(out, at, voice[:span] * np.float32(level), 0.0, 1.0)
    peak = float(np.max(np.abs(out))) or 1.0
    out *= np.float32(0.89 / peak)
    syn.fade(out, 0.02, 0.8, head_s=_HEAD_S, tail_s=0.2)
    return out


def make_station_ids(folder: Path, station_name: str, *, seed: int = 0) -> StationIds:
    """Write the station's IDs into ``folder`` (tagged genre "Station ID", artist the
    station) unless they exist; spoken when espeak-ng is installed."""
    binary = espeak_binary()
    kind = "voice" if binary else "sting"
    names = [folder / f"station-id-{i + 1}-{kind}.mp3" for i in range(len(LINES))]
    if all(path.exists() for path in names):
        return StationIds(tuple(names), spoken=binary is not None)
    voices: list[Audio | None] = [None] * len(LINES)
    if binary is None:
        log.info(
            "espeak-ng not found: the demo's station IDs are synthesized stings only "
            "(apt-get install espeak-ng, then run again, for spoken IDs)"
        )
    else:
        voices = [
            speak(line.format(name=station_name), binary=binary, voice=_VOICES[i % len(_VOICES)])
            for i, line in enumerate(LINES)
        ]
        log.info("station IDs spoken by %s", Path(binary).name)
    longest = max((v.size / SR for v in voices if v is not None), default=1.5)
    seconds = round(_VOICE_AT_S + longest + _TAIL_S, 1)
    for i, (path, voice) in enumerate(zip(names, voices, strict=True)):
        if path.exists():
            continue
        text = LINES[i].format(name=station_name) if voice is not None else "(sting)"
        audio = render_id(voice, seconds, key=(5 * i + seed) % 12, seed=seed + i)
        tags = {
            "title": f"Station ID {i + 1}",
            "artist": station_name,
            "album": "Station IDs",
            "genre": STATION_ID_GENRE,
            "comment": text,
            "kind": "station_id",
            "spoken": "yes" if voice is not None else "no",
        }
        write_mp3(path, audio, tags)
    return StationIds(tuple(names), spoken=binary is not None)
