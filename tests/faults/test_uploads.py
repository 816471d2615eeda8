"""Damaged and hostile uploads through the real API, analysis pool and ffmpeg-made files.

An upload either becomes a ready item (201, with warnings for damage it plays
through) or is refused with a problem that says what is wrong, and then
nothing of it is left: no item, no file in the media store, no artwork.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import av
import numpy as np
import pytest
from mutagen.id3 import APIC, TIT2
from sqlalchemy import func, select

from grimnir.store.models import MediaItem
from tests._api import ApiWorld, api_world
from tests._require import require_peer
from tests._tagging import id3_frame, id3_tags

MEDIA = "/api/v1/stations/wgmr/media"
KBPS = 128


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with api_world(tmp_path / "station") as w:
        yield w


def mp3(path: Path, *, seconds: float, silent: bool = False) -> bytes:
    """A CBR MP3 (with its LAME header, which states the length) by the ffmpeg CLI."""
    source = f"anullsrc=r=44100:cl=mono,atrim=duration={seconds}"
    if not silent:
        source = f"sine=f=440:r=44100:d={seconds},volume=4"
    subprocess.run(
        [
            *(require_peer("ffmpeg"), "-v", "error", "-nostdin", "-y", "-f", "lavfi"),
            *("-i", source, "-c:a", "libmp3lame", "-b:a", f"{KBPS}k", str(path)),
        ],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def jpeg() -> bytes:
    """A real 64×64 JPEG (the artwork code decodes covers, so fake bytes would not do)."""
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[:, :, 0] = np.arange(64, dtype=np.uint8)[:, None] * 4
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuvj420p")
    out = io.BytesIO()
    with av.open(out, "w", format="mjpeg") as container:
        stream = container.add_stream("mjpeg")
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        for packet in (*stream.encode(frame), *stream.encode(None)):
            container.mux(packet)
    return out.getvalue()


def with_cover(path: Path, seconds: float) -> bytes:
    """An MP3 tagged with a title and a front cover; returns its bytes."""
    mp3(path, seconds=seconds)
    id3_tags(
        id3_frame(TIT2, encoding=3, text="Damaged Goods"),
        id3_frame(APIC, encoding=3, mime="image/jpeg", type=3, desc="front", data=jpeg()),
    ).save(path)
    return path.read_bytes()


def first_frame(data: bytes) -> int:
    """Where the MP3 frames start: after the ID3v2 tag (its size is syncsafe)."""
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:
        size = size << 7 | byte
    return 10 + size


def leftovers(world: ApiWorld) -> list[Path]:
    """Every file an upload can leave: the media store (temporaries too) and artwork."""
    data = world.ctx.settings.data_dir
    roots = (world.ctx.settings.media_dir, data / "artwork")
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


async def rows(world: ApiWorld) -> int:
    async with world.ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(MediaItem)) or 0


async def post(world: ApiWorld, name: str, data: bytes) -> tuple[int, dict[str, object], str]:
    async with world.client("manager") as client:
        r = await client.post(MEDIA, files={"file": (name, data, "audio/mpeg")})
    return r.status_code, r.json(), r.headers["content-type"]


async def test_truncated_mp3_is_kept_and_plays_what_decodes(
    world: ApiWorld, tmp_path: Path
) -> None:
    whole = with_cover(tmp_path / "whole.mp3", seconds=20.0)
    cut = whole[: 96 * 1024]  # the download that stopped early
    expected_ms = (len(cut) - first_frame(cut)) * 8 / KBPS  # CBR: bytes say the time
    status, item, _ = await post(world, "cut.mp3", cut)
    assert status == 201, item
    assert item["state"] == "ready"
    assert item["title"] == "Damaged Goods"
    duration = item["duration_ms"]
    assert isinstance(duration, int)
    assert abs(duration - expected_ms) < 150, (duration, expected_ms)
    warnings = item["warnings"]
    assert isinstance(warnings, list)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("truncated: the header promises 20.0 s but only")
    assert f"it plays those {duration / 1000:.1f} s" in warnings[0]
    assert await rows(world) == 1
    store = world.ctx.settings.media_dir
    assert [p.relative_to(store).name for p in leftovers(world) if p.is_relative_to(store)] == [
        f"{item['sha256']}.mp3"
    ]


FRAME = 417
"""Bytes in one 128 kbit/s MP3 frame at 44.1 kHz (26 ms; some frames have one more)."""


def _header_then_garbage(tmp_path: Path) -> bytes:
    """The tag (with its cover), the LAME header and half a second of frames of a
    real MP3 (enough for FFmpeg to take it for one), then random bytes."""
    whole = with_cover(tmp_path / "source.mp3", seconds=5.0)
    head = first_frame(whole) + FRAME * 21
    return whole[:head] + np.random.default_rng(7).bytes(300_000)


def _scrambled_frames(tmp_path: Path) -> bytes:
    """Every frame keeps its 4-byte header, its contents are random: a valid-looking
    MP3 (the probe takes it) whose frames are noise or fail to decode."""
    data = bytearray(with_cover(tmp_path / "source.mp3", seconds=5.0))
    rng = np.random.default_rng(3)
    at, frames = first_frame(bytes(data)), 0
    while at + 4 <= len(data) and data[at] == 0xFF:
        size = FRAME + (data[at + 2] >> 1 & 1)  # the padding bit
        if frames:  # the LAME header stays, to state the length
            data[at + 4 : at + size] = rng.bytes(len(data[at + 4 : at + size]))
        at, frames = at + size, frames + 1
    assert frames > 150
    return bytes(data)


def _random_bytes(tmp_path: Path) -> bytes:
    return np.random.default_rng(11).bytes(300_000)


def _sliver(tmp_path: Path) -> bytes:
    """The first 3 KB of a 20 s MP3: a few frames, far under a second."""
    whole = mp3(tmp_path / "long.mp3", seconds=20.0)
    return whole[: first_frame(whole) + 3000]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_header_then_garbage, "the file is corrupt"),
        (_random_bytes, "not an audio file"),
        (_sliver, "too little to air"),
    ],
    ids=["header-then-garbage", "random-bytes", "sliver"],
)
async def test_no_audio_is_refused_415_and_nothing_is_kept(
    world: ApiWorld, tmp_path: Path, make: Callable[[Path], bytes], words: str
) -> None:
    data = make(tmp_path)
    status, problem, kind = await post(world, "song.mp3", data)
    assert status == 415, problem
    assert kind == "application/problem+json"
    detail = problem["detail"]
    assert isinstance(detail, str)
    assert detail.startswith("song.mp3 is not audio that can go on air (")
    assert words in detail
    assert "nothing was stored" in detail
    assert "upload an MP3" in detail  # what to do about it
    assert await rows(world) == 0
    assert leftovers(world) == []


async def test_scrambled_frames_are_refused_and_nothing_is_kept(
    world: ApiWorld, tmp_path: Path
) -> None:
    status, problem, kind = await post(world, "noise.mp3", _scrambled_frames(tmp_path))
    # 415 when no frame decodes, 422 when a few decode to noise: refused either way
    assert status in (415, 422), problem
    assert kind == "application/problem+json"
    assert "the file is corrupt" in str(problem["detail"])
    assert "nothing was stored" in str(problem["detail"])
    assert await rows(world) == 0
    assert leftovers(world) == []


async def test_silent_audio_is_refused_422_every_time(world: ApiWorld, tmp_path: Path) -> None:
    data = mp3(tmp_path / "silence.mp3", seconds=3.0, silent=True)
    for _ in range(2):  # refused again, not "already uploaded" (409)
        status, problem, kind = await post(world, "silence.mp3", data)
        assert status == 422, problem
        assert kind == "application/problem+json"
        detail = problem["detail"]
        assert isinstance(detail, str)
        assert "cannot go on air" in detail
        assert "the file is silent" in detail
        assert "nothing was stored" in detail
        assert await rows(world) == 0
        assert leftovers(world) == []
