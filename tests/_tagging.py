"""Typed ways into mutagen, for the tests that tag files.

mutagen ships ``py.typed`` but hardly any annotations: its constructors and
most of its methods are untyped, so strict mypy flags every call
(``no-untyped-call``), and ``FileType.tags`` is the class attribute ``None``,
so mypy takes ``wav.tags`` for ``None``. The tests tag files through these
functions, the one place that ignores (or casts) that.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from mutagen import FileType
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3, Frame
from mutagen.wave import WAVE

FrameT = TypeVar("FrameT", bound=Frame)
FileT = TypeVar("FileT", bound=FileType)


def id3_frame(kind: type[FrameT], **fields: Any) -> FrameT:
    """An ID3 frame: ``id3_frame(TIT2, encoding=3, text="Title")``."""
    return kind(**fields)


def add_frames(tags: ID3, *frames: Frame) -> None:
    for item in frames:
        tags.add(item)  # type: ignore[no-untyped-call]


def id3_tags(*frames: Frame) -> ID3:
    """A new ID3 tag holding ``frames`` (``.save(path)`` writes it)."""
    tags = ID3()  # type: ignore[no-untyped-call]
    add_frames(tags, *frames)
    return tags


def open_audio(kind: type[FileT], path: Path | str) -> FileT:
    """``kind(path)``: the file at ``path`` and its tags, as mutagen reads them."""
    return kind(path)


def tag_wave(path: Path | str, *frames: Frame) -> None:
    """Give the WAV file at ``path`` an ID3 chunk holding ``frames``."""
    wav = open_audio(WAVE, path)
    wav.add_tags()  # type: ignore[no-untyped-call]
    tags = cast(ID3 | None, wav.tags)
    assert tags is not None
    add_frames(tags, *frames)
    wav.save()


def update(audio: FileType, values: Mapping[str, str]) -> None:
    """Set the tags ``values`` on ``audio`` (``audio.update``)."""
    audio.update(values)  # type: ignore[no-untyped-call]


def picture(data: bytes, mime: str, kind: int = 3) -> Picture:
    """A FLAC picture block (``kind`` 3: the front cover)."""
    block = Picture()  # type: ignore[no-untyped-call]
    block.type, block.mime, block.data = kind, mime, data
    return block


def picture_bytes(block: Picture) -> bytes:
    """``block`` as bytes (an Ogg file keeps them, base64, in METADATA_BLOCK_PICTURE)."""
    data: bytes = block.write()  # type: ignore[no-untyped-call]
    return data


def add_picture(flac: FLAC, block: Picture) -> None:
    flac.add_picture(block)  # type: ignore[no-untyped-call]
