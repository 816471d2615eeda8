"""SAME audio as §11.31 describes it: bit rate, tones, bursts, pauses, levels."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pytest

from grimnir.eas import (
    SameError,
    SameHeader,
    alert_programme,
    attention_signal,
    canadian_attention_signal,
    eom_bursts,
    header_bursts,
    same_burst,
)

RATE = 48_000
HEADER = SameHeader(
    "EAS", "RWT", ("048453",), 15, datetime(2026, 3, 1, 18, 5, tzinfo=UTC), "WXYZ/FM "
)


def _peak_hz(pcm: npt.NDArray[np.float32], rate: int, count: int = 1) -> list[float]:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    freqs = np.fft.rfftfreq(len(pcm), 1 / rate)
    found: list[float] = []
    for index in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[index] - f) > 30 for f in found):
            found.append(float(freqs[index]))
        if len(found) == count:
            break
    return sorted(found)


def _runs(pcm: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
    """(start, end) of each stretch of sound."""
    loud = np.abs(pcm) > 0
    edges = np.flatnonzero(np.diff(loud.astype(np.int8)))
    bounds: list[int] = [0, *(int(e) + 1 for e in edges), len(pcm)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if loud[a]]


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_burst_length_is_bits_times_1_92_ms(rate: int) -> None:
    text = str(HEADER)
    burst = same_burst(text, rate)
    bits = (16 + len(text)) * 8
    assert len(burst) == round(bits * 0.00192 * rate)


def _tone_power(chunk: npt.NDArray[np.float64], hz: float) -> float:
    t = np.arange(len(chunk)) / RATE
    return float(abs(np.sum(chunk * np.exp(-2j * np.pi * hz * t))) ** 2)


def test_bits_lsb_first_on_mark_and_space_with_continuous_phase() -> None:
    """'N' = 0x4E = 01001110: LSB first → space, mark, mark, mark, space, space,
    mark, space; each bit window holds only its own tone (2083.3 / 1562.5 Hz)."""
    burst = same_burst("N", RATE).astype(np.float64)
    per_bit = 0.00192 * RATE
    start = round(128 * per_bit)
    for k, bit in enumerate([0, 1, 1, 1, 0, 0, 1, 0]):
        chunk = burst[start + round(k * per_bit) : start + round((k + 1) * per_bit)]
        mark, space = _tone_power(chunk, 6250 / 3), _tone_power(chunk, 1562.5)
        assert (mark > 50 * space) if bit else (space > 50 * mark), (k, mark, space)
    # No jump anywhere: the largest step is that of the mark sine's steepest slope.
    assert np.max(np.abs(np.diff(burst))) <= 2 * np.pi * 2083.34 / RATE * np.max(np.abs(burst))


def test_three_bursts_with_one_second_pauses() -> None:
    for audio in (header_bursts(HEADER, RATE), eom_bursts(RATE)):
        runs = _runs(audio)
        assert len(runs) == 3
        gaps = [(b[0] - a[1]) / RATE for a, b in itertools.pairwise(runs)]
        assert gaps == pytest.approx([1.0, 1.0], abs=0.002)


def test_attention_signal_is_853_and_960_hz() -> None:
    tone = attention_signal(8.0, RATE)
    assert len(tone) == 8 * RATE
    assert _peak_hz(tone, RATE, 2) == pytest.approx([853.0, 960.0], abs=1)
    assert len(attention_signal(25.0, RATE)) == 25 * RATE
    with pytest.raises(SameError, match="requires 8 to 25 seconds"):
        attention_signal(7.5, RATE)
    with pytest.raises(SameError, match="requires 8 to 25 seconds"):
        attention_signal(26, RATE)


def test_canadian_signal_alternates_its_two_chords() -> None:
    tone = canadian_attention_signal(RATE)
    assert len(tone) == 8 * RATE
    first, second = tone[: RATE // 2], tone[RATE // 2 : RATE]
    assert _peak_hz(first, RATE, 3) == pytest.approx([932.33, 1046.5, 3135.96], abs=3)
    assert _peak_hz(second, RATE, 3) == pytest.approx([440.0, 659.26, 3135.96], abs=3)


def test_programme_order_and_level() -> None:
    message = (0.9 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
    audio = alert_programme(HEADER, message, RATE, attention_seconds=10.0)
    names = [name for name, _ in audio.sections]
    assert names == ["header", "attention", "message", "eom"]
    starts = dict(audio.sections)
    header_end = starts["header"] + len(header_bursts(HEADER, RATE))
    assert starts["attention"] - header_end == RATE  # one second after the third header
    message_end = starts["message"] + RATE
    assert starts["eom"] - message_end >= RATE  # ≥ 1 s before the EOM
    peak = 20 * np.log10(np.max(np.abs(audio.pcm)))
    assert peak < -1.0
    assert peak == pytest.approx(-3.0, abs=0.01)  # the loud message was turned down to the level
    quieter = alert_programme(HEADER, message, RATE, peak_dbfs=-12.0)
    assert 20 * np.log10(np.max(np.abs(quieter.pcm))) == pytest.approx(-12.0, abs=0.01)
    with pytest.raises(SameError, match="must be at most −1 dBFS"):
        alert_programme(HEADER, message, RATE, peak_dbfs=0.0)


def test_canadian_programme_has_no_same_codes() -> None:
    message = np.zeros(RATE, dtype=np.float32)
    audio = alert_programme(None, message, RATE, canadian=True)
    assert [name for name, _ in audio.sections] == ["attention", "message"]
    assert audio.seconds == pytest.approx(8 + 0.5 + 1 + 1)


def test_burst_text_must_be_printable_ascii() -> None:
    with pytest.raises(SameError, match="printable 7-bit ASCII"):
        same_burst("ZCZC-é", RATE)
