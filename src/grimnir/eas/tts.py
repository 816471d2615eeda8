"""Text to speech with Debian's espeak-ng, as float32 PCM at the caller's rate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt

from grimnir.eas.errors import SpeechError

#: espeak-ng voice per language we speak.
VOICES = {"en": "en-us", "fr": "fr-fr"}
#: Words per minute: a little slower than espeak's 175, as alerts are read.
DEFAULT_WORDS_PER_MINUTE = 160


def espeak_path(program: str = "espeak-ng") -> str:
    """Where ``program`` (espeak-ng) is; :class:`SpeechError` says how to install it."""
    path = shutil.which(program) or (
        f"/usr/bin/{program}" if Path(f"/usr/bin/{program}").exists() else None
    )
    if path is None:
        raise SpeechError(
            "espeak-ng is not installed: install Debian's package (apt-get install espeak-ng) "
            "to read alerts aloud"
        )
    return path


def _wav_samples(data: bytes) -> tuple[npt.NDArray[np.float32], int]:
    """Mono 16-bit PCM of a WAV stream whose size fields may be unset (streamed)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError("espeak-ng did not produce a WAV stream")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk == b"fmt ":
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
        elif chunk == b"data":
            if bits != 16 or channels != 1 or rate <= 0:
                raise SpeechError(
                    f"espeak-ng WAV is {bits}-bit, {channels} channels; expected 16-bit mono"
                )
            end = len(data) if size in (0, 0xFFFFFFFF) or body + size > len(data) else body + size
            raw = data[body : end - (end - body) % 2]
            return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, rate
        pos = body + size + (size & 1)
    raise SpeechError("espeak-ng WAV has no audio data")


def resample(pcm: npt.NDArray[np.float32], source: int, target: int) -> npt.NDArray[np.float32]:
    """Band-limited resampling by FFT (exact for a clip, no imaging)."""
    if source == target or len(pcm) == 0:
        return pcm.astype(np.float32)
    length = round(len(pcm) * target / source)
    spectrum = np.fft.rfft(pcm)
    bins = length // 2 + 1
    out = np.zeros(bins, dtype=complex)
    keep = min(bins, len(spectrum))
    out[:keep] = spectrum[:keep]
    return (np.fft.irfft(out, n=length) * (length / len(pcm))).astype(np.float32)


def speak(
    text: str,
    language: str,
    rate: int = 48_000,
    *,
    words_per_minute: int = DEFAULT_WORDS_PER_MINUTE,
    program: str = "espeak-ng",
) -> npt.NDArray[np.float32]:
    """``text`` spoken in ``language`` (``en`` or ``fr``) as mono float32 PCM at ``rate``.

    The text goes to espeak-ng on standard input (never on the command line,
    so no text is read as an option). ``program`` names or locates espeak-ng.
    """
    base = language.split("-")[0].lower()
    if base not in VOICES:
        raise SpeechError(f"language {language!r}: we speak {', '.join(VOICES)} only")
    if not text.strip():
        raise SpeechError("nothing to speak: the alert's text is empty")
    command = [
        espeak_path(program),
        "--stdout",
        "-b",
        "1",
        "-v",
        VOICES[base],
        "-s",
        str(words_per_minute),
        "--stdin",
    ]
    try:
        done = subprocess.run(  # noqa: S603 - our own fixed command line; text goes on stdin
            command, input=text.encode("utf-8"), capture_output=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        raise SpeechError("espeak-ng took over 120 s; the text is too long to read aloud") from None
    if done.returncode != 0:
        raise SpeechError(
            f"espeak-ng failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}"
        )
    pcm, source = _wav_samples(done.stdout)
    return resample(pcm, source, rate)
