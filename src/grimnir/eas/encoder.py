"""SAME audio: header bursts, attention signals, end of message, a whole alert.

Everything returns mono float32 PCM at the caller's sample rate (48 kHz for the
engine; any rate works). Levels are peak levels in dBFS; the default keeps the
programme's peaks under −1 dBFS with a margin for the station's processing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grimnir.eas._afsk import PREAMBLE, Pcm, modulate, ramp, silence, text_bits, tones
from grimnir.eas.errors import SameError
from grimnir.eas.same import EOM_TEXT, SameHeader

#: Default peak level of every part of an alert, in dBFS.
DEFAULT_PEAK_DBFS = -3.0
#: The US attention signal (§11.31(a)(2)): 853 Hz and 960 Hz together.
ATTENTION_HZ = (853.0, 960.0)
#: The Canadian Alerting Attention Signal's two chords, alternated every 0.5 s.
CANADIAN_CHORDS = ((932.33, 1046.50, 3135.96), (440.0, 659.26, 3135.96))


def _amplitude(peak_dbfs: float) -> float:
    if peak_dbfs > -1.0:
        raise SameError(f"alert level {peak_dbfs} dBFS: must be at most −1 dBFS")
    return float(10 ** (peak_dbfs / 20))


def same_burst(text: str, rate: int, peak_dbfs: float = DEFAULT_PEAK_DBFS) -> Pcm:
    """One burst: the 16-byte preamble then ``text`` (a header or ``NNNN``)."""
    if not text or not all(" " <= c <= "~" for c in text):
        raise SameError(f"SAME text {text!r}: must be printable 7-bit ASCII")
    return modulate(text_bits(PREAMBLE + text.encode("ascii")), rate, _amplitude(peak_dbfs))


def _three(text: str, rate: int, peak_dbfs: float) -> Pcm:
    burst = same_burst(text, rate, peak_dbfs)
    gap = silence(1.0, rate)
    return np.concatenate([burst, gap, burst, gap, burst])


def header_bursts(header: SameHeader, rate: int, peak_dbfs: float = DEFAULT_PEAK_DBFS) -> Pcm:
    """The header sent three times with one-second pauses between (§11.31(a))."""
    return _three(str(header), rate, peak_dbfs)


def eom_bursts(rate: int, peak_dbfs: float = DEFAULT_PEAK_DBFS) -> Pcm:
    """End of message: preamble + ``NNNN``, three times, one-second pauses."""
    return _three(EOM_TEXT, rate, peak_dbfs)


def attention_signal(seconds: float, rate: int, peak_dbfs: float = DEFAULT_PEAK_DBFS) -> Pcm:
    """The two-tone attention signal, 853 + 960 Hz, for 8 to 25 seconds (§11.31(a)(2))."""
    if not 8.0 <= seconds <= 25.0:
        raise SameError(f"attention signal of {seconds} s: §11.31 requires 8 to 25 seconds")
    return tones(ATTENTION_HZ, seconds, rate, _amplitude(peak_dbfs))


def canadian_attention_signal(
    rate: int, seconds: float = 8.0, peak_dbfs: float = DEFAULT_PEAK_DBFS
) -> Pcm:
    """The Canadian Alerting Attention Signal of Alert Ready (NPAS).

    Source: the NPAS *Common Look and Feel Guidance* (SOREM Public Alerting
    Working Group, v2.x, section "Alerting Attention Signal") requires LMDs to
    precede broadcast-immediate alerts with the Canadian Alerting Attention
    Signal, about 8 seconds long, published as a reference recording on
    npas.ca. That recording alternates every half second between two complex
    tones, 932.33 + 1046.50 + 3135.96 Hz and 440 + 659.26 + 3135.96 Hz (as
    described in the Alert Ready article and broadcasters' test notices). We
    synthesise it from those frequencies with equal-level sines.
    """
    amplitude = _amplitude(peak_dbfs)
    half = round(0.5 * rate)
    total = round(seconds * rate)
    parts = [
        tones(CANADIAN_CHORDS[i % 2], half / rate, rate, amplitude)
        for i in range(-(-total // half))
    ]
    return np.concatenate(parts)[:total]


@dataclass(frozen=True, slots=True)
class AlertAudio:
    """A whole alert programme and where its parts start (sample offsets)."""

    pcm: Pcm
    rate: int
    sections: tuple[tuple[str, int], ...]

    @property
    def seconds(self) -> float:
        """Duration of the programme."""
        return len(self.pcm) / self.rate


def alert_programme(
    header: SameHeader | None,
    message: Pcm,
    rate: int,
    *,
    attention_seconds: float = 8.0,
    canadian: bool = False,
    peak_dbfs: float = DEFAULT_PEAK_DBFS,
) -> AlertAudio:
    """Header ×3, attention signal, ``message`` (already at ``rate``), ≥ 1 s pause,
    EOM ×3 — the order of §11.31 / §11.51.

    ``canadian`` puts the Canadian Alerting Attention Signal in place of the
    two-tone signal; with ``header=None`` (a CAP-CP alert for a Canadian
    station) no SAME codes are sent at all, only tone, message and pause.
    Message audio louder than the level is turned down to it, never up.
    """
    amplitude = _amplitude(peak_dbfs)
    speech = np.asarray(message, dtype=np.float32).reshape(-1)
    peak = float(np.max(np.abs(speech))) if len(speech) else 0.0
    if peak > amplitude:
        speech = speech * np.float32(amplitude / peak)
    tone = (
        canadian_attention_signal(rate, attention_seconds, peak_dbfs)
        if canadian
        else attention_signal(attention_seconds, rate, peak_dbfs)
    )
    parts: list[tuple[str, Pcm]] = []
    if header is not None:
        parts += [("header", header_bursts(header, rate, peak_dbfs)), ("pause", silence(1.0, rate))]
    parts += [("attention", tone), ("pause", silence(0.5, rate))]
    parts += [("message", ramp(speech, rate)), ("pause", silence(1.0, rate))]
    if header is not None:
        parts += [("eom", eom_bursts(rate, peak_dbfs)), ("pause", silence(0.5, rate))]
    sections: list[tuple[str, int]] = []
    at = 0
    for name, pcm in parts:
        if name != "pause":
            sections.append((name, at))
        at += len(pcm)
    return AlertAudio(np.concatenate([p for _, p in parts]), rate, tuple(sections))
