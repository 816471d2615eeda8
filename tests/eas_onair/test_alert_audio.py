"""The audio of an alert on air: the two parts join into ``alert_programme`` sample for
sample, the CAP audio resource is aired when present, Canadian stations get the
Alert Ready tone and no SAME codes."""

from __future__ import annotations

import base64
import io
import wave
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from grimnir.eas import EasSettings, SameHeader, alert_programme, decode_same, parse_cap
from grimnir.services import alerts_audio
from tests._require import require_peer
from tests.eas import _cap_samples as cap

RATE = alerts_audio.RATE
HEADER = SameHeader(
    "WXR", "TOR", ("048453",), 60, datetime(2026, 3, 1, 18, 5, tzinfo=UTC), "WGMR/FM "
)


def _sound(header: SameHeader | None = HEADER, *, canadian: bool = False) -> alerts_audio.Sound:
    return alerts_audio.Sound(header, canadian, 8.0, 0, -3.0)


def _tone_wav(hz: float, seconds: float, rate: int = 22_050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.4 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return out.getvalue()


def test_opening_and_closing_are_the_programme_cut_in_two() -> None:
    message = (0.2 * np.sin(2 * np.pi * 300 * np.arange(RATE) / RATE)).astype(np.float32)
    whole = alert_programme(HEADER, message, RATE, attention_seconds=8.0).pcm
    joined = np.concatenate(
        [alerts_audio.opening(_sound()), alerts_audio.closing(_sound(), message)]
    )
    assert np.array_equal(joined, whole[: len(joined)])
    assert not np.any(whole[len(joined) :])  # only the trailing pause is left out
    decoded = decode_same(joined, RATE, year=2026)
    assert [m.text for m in decoded.messages if m.confirmed] == [str(HEADER), "NNNN"]


def test_preroll_is_silence_before_the_header() -> None:
    sound = alerts_audio.Sound(HEADER, False, 8.0, 500, -3.0)
    opening = alerts_audio.opening(sound)
    assert not np.any(opening[: RATE // 2])
    assert np.array_equal(opening[RATE // 2 :], alerts_audio.opening(_sound()))


def test_a_canadian_station_airs_the_alert_ready_tone_without_same() -> None:
    opening = alerts_audio.opening(_sound(None, canadian=True))
    assert decode_same(opening, RATE).messages == ()
    spectrum = np.abs(np.fft.rfft(opening[: RATE // 2]))
    freqs = np.fft.rfftfreq(RATE // 2, 1 / RATE)
    peak = float(freqs[int(np.argmax(spectrum))])
    assert min(abs(peak - hz) for hz in (932.33, 1046.50, 3135.96)) < 5  # the first chord
    assert len(opening) >= 8 * RATE


def test_the_cap_audio_resource_is_aired_instead_of_speech() -> None:
    wav = base64.b64encode(_tone_wav(440.0, 1.5)).decode()
    document = cap.alert(infos=(cap.info(same="TOR", capcp=None).replace(cap.AUDIO, wav),))
    alert = parse_cap(document)
    pcm = alerts_audio.message_audio(alert.infos, EasSettings(), "unused")
    assert abs(len(pcm) / RATE - 1.5) < 0.01
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.fft.rfftfreq(len(pcm), 1 / RATE)[int(np.argmax(spectrum))] - 440.0) < 2


def test_speech_when_the_resource_is_not_audio(tmp_path: Path) -> None:
    require_peer("espeak-ng")
    alert = parse_cap(cap.alert(infos=(cap.info(same="TOR", capcp=None),)))
    pcm = alerts_audio.message_audio(alert.infos, EasSettings(), "unused")
    assert len(pcm) > RATE  # a second and more of speech
    path = alerts_audio.write_wav(tmp_path, "m.wav", pcm)
    with wave.open(str(path)) as out:
        assert (out.getnchannels(), out.getframerate(), out.getnframes()) == (2, RATE, len(pcm))
