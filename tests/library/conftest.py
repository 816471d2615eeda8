"""A corpus of real audio files with known loudness and silence edges, for library tests.

Every file holds music-like audio (pink-ish noise with a beat envelope) whose
integrated loudness is measured with libebur128 on the PCM *before* encoding,
framed by digital silence of known length, so analysis can be checked
against values that do not come from the code under test. Lossy files are
encoded at the bit rates stations use; Ogg Vorbis through the ffmpeg CLI
(PyAV bundles only FFmpeg's experimental Vorbis encoder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.library._audio import (
    BODY_S,
    FORMATS,
    HEAD_S,
    TAIL_S,
    Known,
    MakeAudio,
    Pcm,
    encode,
    loudness,
    music,
)


@pytest.fixture
def make_audio(tmp_path: Path) -> MakeAudio:
    """Encode ``pcm`` to ``tmp_path/name`` (format from the suffix)."""

    def make(name: str, pcm: Pcm, rate: int = 44100) -> Path:
        return encode(tmp_path / name, pcm, 48000 if name.endswith(".opus") else rate)

    return make


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Known]:
    """One file per format: 1.25 s silence, 6 s of music at its measured LUFS, 0.75 s silence."""
    folder = tmp_path_factory.mktemp("corpus")
    files: dict[str, Known] = {}
    for i, fmt in enumerate(FORMATS):
        rate = 48000 if fmt == "opus" else 44100
        body = music(BODY_S, rate=rate, lufs=-14.0 - 2 * i, seed=i + 1)
        pcm = np.pad(body, ((0, 0), (round(HEAD_S * rate), round(TAIL_S * rate))))
        files[fmt] = Known(
            path=encode(folder / f"song.{fmt}", pcm, rate),
            lufs=loudness(pcm, rate),  # the silence edges weigh a little in the gating
            cue_in_ms=HEAD_S * 1000,
            cue_out_ms=(HEAD_S + BODY_S) * 1000,
            duration_ms=(HEAD_S + BODY_S + TAIL_S) * 1000,
        )
    return files
