"""MP3 files for the demo library: LAME encoding and ID3 tags.

Files are written under a temporary name and renamed into place, so a file
that exists is complete: a demo set-up interrupted half way is simply resumed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import lameenc
import numpy as np
from mutagen.id3 import COMM, ID3, TALB, TBPM, TCON, TDRC, TIT2, TKEY, TPE1, TRCK, TXXX

from grimnir.demo._synth import SR, Audio

_TEXT_FRAMES = {
    "title": TIT2,
    "artist": TPE1,
    "album": TALB,
    "genre": TCON,
    "date": TDRC,
    "bpm": TBPM,
    "key": TKEY,
    "tracknumber": TRCK,
}


def mp3_bytes(audio: Audio, *, bitrate_kbps: int = 192, quality: int = 5) -> bytes:
    """Stereo float audio (2, n) at :data:`SR` as MP3 (LAME; quality 5 is ~150× realtime)."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(SR)
    encoder.set_channels(2)
    encoder.set_quality(quality)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    data = bytes(encoder.encode(np.ascontiguousarray(pcm.T).tobytes()))
    return data + bytes(encoder.flush())


def write_mp3(path: Path, audio: Audio, tags: Mapping[str, str]) -> Path:
    """Encode ``audio`` to ``path`` with ID3v2.4 ``tags`` (the keys of ``_TEXT_FRAMES``,
    ``comment``, anything else as a TXXX frame); atomic (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(mp3_bytes(audio))
    # NOTE: mutagen has no type hints; the tag tests read these frames back
    id3 = ID3()  # type: ignore[no-untyped-call]
    for key, value in tags.items():
        if key in _TEXT_FRAMES:
            frame = _TEXT_FRAMES[key](encoding=3, text=[value])  # type: ignore[no-untyped-call]
        elif key == "comment":
            frame = COMM(encoding=3, lang="eng", desc="", text=[value])  # type: ignore[no-untyped-call]
        else:
            frame = TXXX(encoding=3, desc=key, text=[value])  # type: ignore[no-untyped-call]
        id3.add(frame)  # type: ignore[no-untyped-call]
    id3.save(str(part), v2_version=4)
    os.replace(part, path)
    return path
