"""The software SAME decoder on its own: positions, rates, votes, noise, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from grimnir.eas import (
    SameError,
    SameStreamDecoder,
    decode_same,
    eom_bursts,
    header_bursts,
    same_burst,
)
from tests.eas._signals import CASES, RATE, music, noise

HEADER = CASES["tor-nws"]


def _silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype=np.float32)


def test_reports_each_burst_with_its_sample_position() -> None:
    lead = 12_345
    pcm = np.concatenate(
        [_silence(lead / RATE), header_bursts(HEADER, RATE), _silence(2.0), eom_bursts(RATE)]
    )
    result = decode_same(pcm, RATE, year=2026)
    burst = len(same_burst(str(HEADER), RATE))
    expected_starts = [lead, lead + burst + RATE, lead + 2 * (burst + RATE)]
    starts = [b.start for b in result.bursts[:3]]
    assert np.max(np.abs(np.subtract(starts, expected_starts))) <= 0.002 * RATE
    ends = [b.end for b in result.bursts[:3]]
    assert np.max(np.abs(np.subtract(ends, [s + burst for s in expected_starts]))) <= 0.002 * RATE
    assert [b.text for b in result.bursts] == [str(HEADER)] * 3 + ["NNNN"] * 3
    assert all(b.complete and b.confidence > 0.9 for b in result.bursts)
    assert result.headers == [HEADER]
    assert len(result.eoms) == 1
    assert result.eoms[0].start > result.messages[0].end


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("level_db", [-40.0, -3.0])
def test_any_rate_and_level(rate: int, level_db: float) -> None:
    pcm = header_bursts(HEADER, rate) * np.float32(10 ** ((level_db + 3) / 20))
    assert decode_same(np.concatenate([_silence(0.3, rate), pcm]), rate, year=2026).headers == [
        HEADER
    ]


def test_follows_a_sender_whose_clock_is_half_a_percent_off() -> None:
    for actual in (RATE * 1.005, RATE * 0.995):
        pcm = header_bursts(HEADER, round(actual))  # played back at RATE: 0.5 % fast or slow
        assert decode_same(pcm, RATE, year=2026).headers == [HEADER]


def test_two_of_three_bursts_agree() -> None:
    pcm = header_bursts(HEADER, RATE).copy()
    burst = len(same_burst(str(HEADER), RATE))
    middle = burst + RATE + burst // 2
    pcm[middle : middle + 2000] = np.random.default_rng(1).normal(0, 0.5, 2000)  # burst 2 damaged
    result = decode_same(pcm, RATE, year=2026)
    (message,) = result.messages
    assert message.confirmed
    assert message.header == HEADER
    assert len(message.bursts) >= 2
    assert any(b.text != str(HEADER) for b in result.bursts)


def test_three_different_bursts_are_voted_character_by_character() -> None:
    text = str(HEADER)
    variants = [
        text[:20] + "X" + text[21:],
        text[:30] + "Y" + text[31:],
        text[:40] + "Z" + text[41:],
    ]
    gap = _silence(1.0)
    pcm = np.concatenate([p for v in variants for p in (same_burst(v, RATE), gap)])
    (message,) = decode_same(pcm, RATE, year=2026).messages
    assert [b.text for b in message.bursts] == variants
    assert message.text == text
    assert message.header == HEADER


def test_a_lone_burst_is_heard_but_not_confirmed() -> None:
    pcm = np.concatenate([_silence(0.5), same_burst(str(HEADER), RATE), _silence(0.5)])
    result = decode_same(pcm, RATE, year=2026)
    assert [b.text for b in result.bursts] == [str(HEADER)]
    (message,) = result.messages
    assert not message.confirmed
    assert message.header is None
    assert message.error is not None
    assert "no two bursts agree" in message.error


def test_invalid_header_text_is_reported_not_raised() -> None:
    bad = "ZCZC-XYZ-TOR-048453+0030-0601805-KEWX/NWS-"
    gap = _silence(1.0)
    pcm = np.concatenate([same_burst(bad, RATE), gap, same_burst(bad, RATE)])
    (message,) = decode_same(pcm, RATE, year=2026).messages
    assert message.header is None
    assert message.error is not None
    assert "SAME originator 'XYZ'" in message.error


def test_nothing_in_noise_or_music() -> None:
    rng = np.random.default_rng(5)
    assert decode_same(rng.normal(0, 0.3, 20 * RATE), RATE).bursts == ()
    assert decode_same(music(20.0, RATE), RATE).bursts == ()


def test_decodes_below_0_db_snr() -> None:
    pcm = np.concatenate([header_bursts(HEADER, RATE), _silence(1.0), eom_bursts(RATE)])
    result = decode_same(noise(pcm, -3.0, seed=11), RATE, year=2026)
    assert result.headers == [HEADER]
    assert len(result.eoms) == 1


def test_too_low_a_rate_is_refused() -> None:
    with pytest.raises(SameError, match="needs at least 8000 Hz"):
        decode_same(np.zeros(100), 4000)


def test_one_minute_decodes_in_well_under_a_second() -> None:
    """CPU time, not wall time: other work on the machine does not count."""
    rng = np.random.default_rng(2)
    pcm = (rng.normal(0, 0.05, 60 * RATE) + music(60.0, RATE) * 0.3).astype(np.float32)
    alert = np.concatenate([header_bursts(HEADER, RATE), _silence(1.0), eom_bursts(RATE)])
    pcm[10 * RATE : 10 * RATE + len(alert)] += alert
    decode_same(pcm[:RATE], RATE)  # warm up numpy's code paths
    started = time.process_time()
    result = decode_same(pcm, RATE, year=2026)
    spent = time.process_time() - started
    assert result.headers == [HEADER]
    assert spent < 0.6, f"decoding 60 s took {spent:.2f} CPU-s"


def test_stream_decoder_emits_each_message_once_with_stream_positions() -> None:
    other = CASES["cae-31"]
    gap = _silence(3.0)
    pcm = np.concatenate([
        music(4.0, RATE) * np.float32(0.2), header_bursts(HEADER, RATE), gap,
        eom_bursts(RATE), _silence(30.0), header_bursts(other, RATE), _silence(1.0),
        same_burst("NNNN", RATE), _silence(1.0), same_burst("NNNN", RATE), _silence(6.0),
    ])  # fmt: skip
    whole = decode_same(pcm, RATE, year=2026)
    stream = SameStreamDecoder(RATE, year=2026)
    got = []
    for offset in range(0, len(pcm), 37_000):  # pieces of ~0.77 s
        got += stream.feed(pcm[offset : offset + 37_000])
    assert [m.text for m in got] == [str(HEADER), "NNNN", str(other), "NNNN"]
    assert [m.start for m in got] == [m.start for m in whole.messages]
    assert [len(m.bursts) for m in got] == [3, 3, 3, 2]  # the last EOM: two bursts, then silence
