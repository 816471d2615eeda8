"""The audio of an alert on air: SAME header and attention signal first, the message after.

The programme is :func:`grimnir.eas.alert_programme`'s (header ×3, attention
signal, message, EOM ×3), cut in two where the message starts, so the first
part goes on air at once while the speech is still being rendered: both parts
are slices of programmes that agree sample for sample up to the message.
Files are 48 kHz stereo 16-bit WAVs under ``<data dir>/alerts/<station>/``.
"""

from __future__ import annotations

import io
import logging
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from grimnir.eas import (
    CapInfo,
    EasError,
    EasSettings,
    SameHeader,
    alert_programme,
    audio_resource,
    speak,
    speech_for,
)

log = logging.getLogger("grimnir.services.alerts")

RATE = 48_000
#: Pause between the message in two languages.
LANGUAGE_GAP_S = 0.7

Pcm = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Sound:
    """How an alert sounds on this station."""

    header: SameHeader | None
    """``None``: a Canadian station airing CAP-CP (Alert Ready tone, no SAME codes)."""
    canadian: bool
    attention_seconds: float
    preroll_ms: int
    peak_dbfs: float


def _programme(sound: Sound, message: Pcm) -> tuple[Pcm, int]:
    """The whole programme for ``message`` and the sample where the message starts."""
    audio = alert_programme(
        sound.header,
        message,
        RATE,
        attention_seconds=sound.attention_seconds,
        canadian=sound.canadian,
        peak_dbfs=sound.peak_dbfs,
    )
    start = dict(audio.sections)["message"]
    return audio.pcm, start


def opening(sound: Sound) -> Pcm:
    """Pre-roll silence, header ×3 and the attention signal: aired at once."""
    pcm, start = _programme(sound, np.zeros(RATE // 10, dtype=np.float32))
    preroll = np.zeros(round(sound.preroll_ms * RATE / 1000), dtype=np.float32)
    return np.concatenate([preroll, pcm[:start]])


def closing(sound: Sound, message: Pcm) -> Pcm:
    """The message, its pause and the EOM ×3: aired right after :func:`opening`.

    The programme's trailing pause is left out: automation follows at once
    (a pause there would be dead air on the station).
    """
    pcm, start = _programme(sound, message)
    heard = np.flatnonzero(pcm[start:])
    end = start + (int(heard[-1]) + 1 if len(heard) else 0)
    return pcm[start:end]


def _decode(data: bytes | str) -> Pcm:
    """Mono float32 PCM at 48 kHz of an audio file's bytes or address (PyAV)."""
    source: io.BytesIO | str = io.BytesIO(data) if isinstance(data, bytes) else data
    chunks: list[Pcm] = []
    with av.open(source, mode="r", timeout=10.0) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    if not chunks:
        raise EasError("the alert's audio resource holds no audio")
    return np.concatenate(chunks)


def message_audio(infos: tuple[CapInfo, ...], settings: EasSettings, fallback: str) -> Pcm:
    """What the alert says: its own audio resource when it has one (and it decodes),
    else espeak-ng reading headline, description and instruction in its languages.

    Blocking (PyAV, espeak-ng): run it in a thread.
    """
    for info in infos:
        resource = audio_resource(info)
        if resource is None:
            continue
        where = resource.deref if resource.deref is not None else resource.uri
        if where is None:
            continue
        try:
            return _decode(where)
        except (EasError, av.FFmpegError, OSError) as error:
            log.warning("alert audio resource %s did not decode (%s): speaking", resource, error)
    speeches = speech_for(infos, settings)
    gap = np.zeros(round(LANGUAGE_GAP_S * RATE), dtype=np.float32)
    parts: list[Pcm] = []
    for speech in speeches or []:
        if parts:
            parts.append(gap)
        parts.append(speak(speech.text, speech.language, RATE))
    if not parts:
        parts.append(speak(fallback, settings.languages[0], RATE))
    return np.concatenate(parts)


def write_wav(folder: Path, name: str, pcm: Pcm) -> Path:
    """``pcm`` as a 48 kHz stereo 16-bit WAV ``folder/name`` (written whole, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    samples = np.clip(np.asarray(pcm, dtype=np.float32), -1.0, 1.0)
    ints = np.round(samples * 32767.0).astype("<i2")
    interleaved = np.repeat(ints, 2)
    partial = folder / f".{name}.{uuid.uuid4().hex[:8]}"
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(interleaved.tobytes())
    partial.replace(path)
    return path
