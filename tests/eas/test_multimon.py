"""Our SAME audio against Debian's multimon-ng, and our decoder against both.

For every alert of the table: the whole programme at 48 kHz (header ×3,
attention signal, a message, EOM ×3) goes through ffmpeg to multimon-ng's
22050 Hz input; multimon-ng must read exactly our header and the EOM, and
our decoder must read the same. Then again with white noise at 6 dB SNR,
with the bursts' level stepping by ±12 dB, and with music before and after.
"""

from __future__ import annotations

import numpy as np
import pytest

from grimnir.eas import SameHeader, alert_programme, decode_same
from tests.eas._signals import CASES, RATE, Pcm, distinct, level_steps, multimon, music, noise

#: Signal-to-noise ratio of the noisy variant, in dB: the power of the alert's
#: non-silent audio over that of white noise across the whole 0–24 kHz band.
SNR_DB = 6.0


def _programme(header: SameHeader) -> Pcm:
    t = np.arange(RATE * 2) / RATE
    message = (0.3 * np.sin(2 * np.pi * 300 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32)
    return alert_programme(header, message, RATE, attention_seconds=8.0).pcm


def _check(header: SameHeader, pcm: Pcm) -> None:
    expected = [str(header), "NNNN"]
    theirs = distinct(multimon(pcm, RATE))
    assert theirs == expected, f"multimon-ng read {theirs}"
    ours = decode_same(pcm, RATE, year=2026)
    assert [m.text for m in ours.messages if m.confirmed] == expected
    assert ours.headers == [header]
    assert [len(m.bursts) for m in ours.messages] == [3, 3]


@pytest.mark.parametrize("name", sorted(CASES))
def test_clean_programme(name: str) -> None:
    _check(CASES[name], _programme(CASES[name]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_white_noise(name: str) -> None:
    _check(CASES[name], noise(_programme(CASES[name]), SNR_DB, seed=len(name)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_level_steps_of_12_db(name: str) -> None:
    quiet = _programme(CASES[name]) * np.float32(10 ** (-12 / 20))
    # Bursts 1, 2, 3 at 0, −12, +12 dB from −15 dBFS; the rest of the programme follows.
    stepped = level_steps(quiet, RATE, (0.0, -12.0, 12.0, 0.0, 0.0, -12.0, 12.0, 0.0))
    assert np.max(np.abs(stepped)) < 1.0
    _check(CASES[name], stepped)


@pytest.mark.parametrize("name", ["cae-31", "rmt-three", "tor-nws"])
def test_with_music_before_and_after(name: str) -> None:
    pcm = np.concatenate([music(6.0, RATE), _programme(CASES[name]), music(6.0, RATE, seed=9)])
    _check(CASES[name], pcm)
