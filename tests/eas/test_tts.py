"""Text to speech with Debian's espeak-ng, English and French."""

from __future__ import annotations

import numpy as np
import pytest

from grimnir.eas import SpeechError, decode_same, speak
from grimnir.eas.tts import resample
from tests._require import peer


@peer("espeak-ng")
@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "This is a test of the emergency alert system."),
        ("fr-CA", "Ceci est un test du système d'alerte. Mettez-vous à l'abri."),
        ("en", "-v xx --this-is-text-not-an-option"),
    ],
)
def test_speaks_at_the_engine_rate(language: str, text: str) -> None:
    pcm = speak(text, language, 48_000)
    assert pcm.dtype == np.float32
    assert 1.0 < len(pcm) / 48_000 < 15.0
    rms = float(np.sqrt(np.mean(pcm**2)))
    assert 0.01 < rms < 1.0
    assert np.max(np.abs(pcm)) <= 1.0
    assert decode_same(pcm, 48_000).bursts == ()  # speech is not mistaken for SAME


@peer("espeak-ng")
def test_rate_is_the_callers() -> None:
    at_48k = speak("Take cover now.", "en", 48_000)
    at_22k = speak("Take cover now.", "en", 22_050)
    assert len(at_48k) / 48_000 == pytest.approx(len(at_22k) / 22_050, abs=0.01)


def test_unsupported_language_and_empty_text() -> None:
    with pytest.raises(SpeechError, match="language 'de': we speak en, fr only"):
        speak("Hallo", "de")
    with pytest.raises(SpeechError, match="nothing to speak"):
        speak("   ", "en")


def test_missing_espeak_says_how_to_install_it() -> None:
    with pytest.raises(SpeechError, match=r"espeak-ng is not installed: install Debian's package"):
        speak("Take cover now.", "en", program="espeak-ng-not-here")


def test_resampling_keeps_a_tone() -> None:
    tone = np.sin(2 * np.pi * 1000 * np.arange(22_050) / 22_050).astype(np.float32)
    out = resample(tone, 22_050, 48_000)
    assert len(out) == 48_000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 1000  # 1 s at 48 kHz: bin n is n Hz
