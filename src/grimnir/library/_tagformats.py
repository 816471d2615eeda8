"""Format adapters: each tag format's fields as (name, text) pairs in one vocabulary.

ID3 frames, MP4 atoms, Vorbis comments, APEv2 items and RIFF INFO chunks all
say "title" differently. Each adapter here turns a mutagen tag object (or a
WAV file's INFO list) into ``(key, value)`` pairs whose keys are either one of
the canonical names ``tags.py`` maps onto ``TagInfo`` fields (``title``,
``albumartist``, ``date``, ``replaygain_track_gain`` …) or a normalised name
for a custom field, plus the embedded pictures found.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from mutagen.flac import Picture
from mutagen.id3 import ID3, TextFrame
from mutagen.mp4 import MP4Cover, MP4FreeForm, MP4Tags

MAX_ARTWORK = 16 * 1024 * 1024
"""Embedded pictures larger than this are ignored (and reported): 16 MiB."""


@dataclass
class EmbeddedPicture:
    """One embedded picture: its bytes (None if too large), MIME type, front-cover flag, size."""

    data: bytes | None
    mime: str
    front: bool
    size: int


Pair = tuple[str, str]

_ID3 = {
    "TIT2": "title",
    "TPE1": "artist",
    "TALB": "album",
    "TPE2": "albumartist",
    "TCON": "genre",
    "TMOO": "mood",
    "TDRC": "date",
    "TYER": "date",
    "TBPM": "bpm",
    "TSRC": "isrc",
    "TPUB": "label",
    "TCOM": "composer",
    "TLAN": "language",
    "TRCK": "tracknumber",
    "TPOS": "discnumber",
}
_MP4 = {
    "©nam": "title",
    "©ART": "artist",
    "aART": "albumartist",
    "©alb": "album",
    "©gen": "genre",
    "©day": "date",
    "©wrt": "composer",
    "©cmt": "comment",
    "tmpo": "bpm",
    "trkn": "tracknumber",
    "disk": "discnumber",
    "rtng": "explicit",
}
_RIFF = {
    "INAM": "title",
    "IART": "artist",
    "IPRD": "album",
    "IGNR": "genre",
    "ICRD": "date",
    "ICMT": "comment",
    "ITRK": "tracknumber",
    "IPRT": "tracknumber",
    "ILNG": "language",
    "IMUS": "composer",
    "IPUB": "label",
}
_FRONT_COVER = 3


def norm_key(key: str) -> str:
    """A tag name as a custom-field key: lower case, runs of other characters as '_'."""
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")[:64] or "tag"


def _picture(data: bytes, mime: str, kind: int) -> EmbeddedPicture:
    size = len(data)
    return EmbeddedPicture(data if size <= MAX_ARTWORK else None, mime, kind == _FRONT_COVER, size)


def id3_pairs(tags: ID3) -> tuple[list[Pair], list[EmbeddedPicture]]:
    """Text frames, TXXX, COMM and USLT as pairs; APIC frames as pictures."""
    pairs: list[Pair] = []
    pictures: list[EmbeddedPicture] = []
    frame: Any
    for frame in cast(Any, tags).values():
        fid = frame.FrameID
        if fid == "APIC":
            pictures.append(_picture(frame.data, frame.mime or "image/jpeg", frame.type))
        elif fid == "TXXX":
            pairs.extend((norm_key(frame.desc or "txxx"), str(t)) for t in frame.text)
        elif fid == "COMM":
            desc = frame.desc or ""
            if desc.lower().startswith("itun"):
                continue  # iTunes' binary-ish housekeeping (iTunNORM, iTunSMPB …)
            key = "comment" if not desc else f"comment_{norm_key(desc)}"
            pairs.extend((key, str(t)) for t in frame.text)
        elif fid == "USLT":
            pairs.append(("lyrics", str(frame.text)))
        elif fid == "TCON":
            pairs.extend(("genre", g) for g in frame.genres)
        elif isinstance(frame, TextFrame):
            key = _ID3.get(fid, norm_key(fid))
            pairs.extend((key, str(t)) for t in getattr(frame, "text", []))
    return pairs, pictures


def _mp4_text(value: Any) -> str:
    if isinstance(value, MP4FreeForm | bytes):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    if isinstance(value, tuple):
        return str(value[0])
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def mp4_pairs(tags: MP4Tags) -> tuple[list[Pair], list[EmbeddedPicture]]:
    """MP4 atoms (incl. ``----:com.apple.iTunes:NAME`` freeform) as pairs; ``covr`` as pictures."""
    pairs: list[Pair] = []
    pictures: list[EmbeddedPicture] = []
    for atom, values in cast(Any, tags).items():
        if atom == "covr":
            for cover in values:
                mime = "image/png" if cover.imageformat == MP4Cover.FORMAT_PNG else "image/jpeg"
                pictures.append(_picture(bytes(cover), mime, _FRONT_COVER))
            continue
        if atom.startswith("----:"):
            key = norm_key(atom.rsplit(":", 1)[-1])
        elif atom == "rtng":
            # iTunes content rating: 1 or 4 explicit, 2 clean, 0 none
            pairs.extend(("explicit", "1" if v in (1, 4) else "0") for v in values)
            continue
        else:
            key = _MP4.get(atom, norm_key(atom.lstrip("©")))
        for value in values if isinstance(values, list) else [values]:
            pairs.append((key, _mp4_text(value)))
    return pairs, pictures


def vorbis_pairs(items: list[tuple[str, str]]) -> tuple[list[Pair], list[EmbeddedPicture]]:
    """Vorbis comments (FLAC, Ogg, Opus) and APEv2 items; METADATA_BLOCK_PICTURE decoded."""
    pairs: list[Pair] = []
    pictures: list[EmbeddedPicture] = []
    for key, value in items:
        name = norm_key(key)
        if name == "metadata_block_picture":
            text = str(value)
            if len(text) * 3 // 4 > MAX_ARTWORK + 1024:
                pictures.append(EmbeddedPicture(None, "image/jpeg", True, len(text) * 3 // 4))
                continue
            try:
                pic = cast(Any, Picture)(base64.b64decode(text))
            except Exception:  # noqa: S112 - a broken picture is not worth failing the tags for
                continue
            pictures.append(_picture(pic.data, pic.mime or "image/jpeg", pic.type))
        elif name == "coverart":
            continue  # the old unofficial base64 cover without a MIME type
        else:
            pairs.append((name, str(value)))
    return pairs, pictures


def flac_pictures(pictures: list[Picture]) -> list[EmbeddedPicture]:
    """FLAC PICTURE blocks."""
    return [_picture(p.data, p.mime or "image/jpeg", p.type) for p in pictures]


def riff_info(path: Path, limit: int = 1 << 20) -> Iterator[Pair]:
    """The LIST/INFO chunk of a WAV file as pairs (text as UTF-8, else cp1252).

    Walks the chunk headers only (data chunks are skipped, not read), and reads
    at most ``limit`` bytes of INFO, so a huge or lying file costs nothing.
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return
        for _ in range(64):
            header = f.read(8)
            if len(header) < 8:
                return
            cid, size = header[:4], struct.unpack("<I", header[4:])[0]
            if cid == b"LIST" and f.read(4) == b"INFO":
                yield from _info_items(f.read(min(size - 4, limit)))
                return
            if cid == b"LIST":
                size -= 4
            f.seek(size + (size & 1), 1)


def _info_items(data: bytes) -> Iterator[Pair]:
    pos = 0
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4].decode("latin-1")
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        raw = data[pos + 8 : pos + 8 + size].split(b"\x00", 1)[0]
        pos += 8 + size + (size & 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        yield _RIFF.get(cid, norm_key(cid)), text
