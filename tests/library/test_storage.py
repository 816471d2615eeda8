"""LocalStorage on a real temporary disk: both layouts, dedup, traversal, atomic writes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from grimnir.domain.errors import LibraryError, NotFoundError
from grimnir.library import LocalStorage, Storage, safe_name

DATA = b"ID3" + bytes(range(256)) * 9000  # ~2.3 MB: several copy pieces


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_content_layout_hashes_and_stores_once(tmp_path: Path) -> None:
    storage: Storage = LocalStorage(tmp_path / "lib", "content")
    src = tmp_path / "song.MP3"
    src.write_bytes(DATA)
    first = storage.put(src, "Artist/song.MP3", "wgmr")
    digest = hashlib.sha256(DATA).hexdigest()
    assert (first.sha256, first.size) == (digest, len(DATA))
    assert first.key == f"{digest[:2]}/{digest[2:4]}/{digest}.mp3"
    again = storage.put(io.BytesIO(DATA), "other-name.mp3", "kxyz")
    assert again.key == first.key
    assert _files(tmp_path / "lib") == [first.path]
    assert storage.path(first.key).read_bytes() == DATA
    with storage.open(first.key) as f:
        assert f.read(3) == b"ID3"
    assert storage.exists(first.key)
    storage.delete(first.key)
    assert not storage.exists(first.key)
    storage.delete(first.key)  # deleting twice is fine
    with pytest.raises(NotFoundError):
        storage.path(first.key)


def test_station_layout_keeps_names_and_never_overwrites(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "lib", "station")
    a = storage.put(io.BytesIO(b"one"), "Jazz/tune.flac", "wgmr")
    assert a.key == "wgmr/Jazz/tune.flac"
    same = storage.put(io.BytesIO(b"one"), "Jazz/tune.flac", "wgmr")
    assert same.key == a.key
    b = storage.put(io.BytesIO(b"two"), "Jazz/tune.flac", "wgmr")
    assert b.key == "wgmr/Jazz/tune (2).flac"
    assert a.path.read_bytes() == b"one"
    assert b.path.read_bytes() == b"two"
    assert storage.put(io.BytesIO(b"one"), "tune.flac", "kxyz").key == "kxyz/tune.flac"


@pytest.mark.parametrize(
    "name", ["../evil.mp3", "a/../../evil.mp3", "/etc/passwd", "a\\b.mp3", "nul\x00.mp3", "", "."]
)
def test_traversal_names_are_refused(tmp_path: Path, name: str) -> None:
    storage = LocalStorage(tmp_path / "lib", "station")
    with pytest.raises(LibraryError, match="unsafe file name"):
        storage.put(io.BytesIO(b"x"), name, "wgmr")
    with pytest.raises(LibraryError, match="unsafe file name"):
        storage.put(io.BytesIO(b"x"), "ok.mp3", name)
    with pytest.raises(LibraryError):
        safe_name(name)
    assert _files(tmp_path / "lib") == []
    assert not (tmp_path / "evil.mp3").exists()


def test_keys_are_checked_too(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "lib", "content")
    (tmp_path / "secret").write_bytes(b"s")
    with pytest.raises(LibraryError):
        storage.path("../secret")
    with pytest.raises(LibraryError):
        storage.delete("../secret")
    assert (tmp_path / "secret").exists()


class _FailingReader(io.RawIOBase):
    """Gives 3 MiB, then the disk (or network) fails."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.sent >= 3 << 20:
            raise OSError("connection reset by peer")
        self.sent += 1 << 20
        return b"a" * (1 << 20)


@pytest.mark.parametrize("layout", ["content", "station"])
def test_failed_copy_leaves_nothing(tmp_path: Path, layout: str) -> None:
    storage = LocalStorage(tmp_path / "lib", layout)  # type: ignore[arg-type]
    kept = storage.put(io.BytesIO(b"keep me"), "song.mp3", "wgmr")
    with pytest.raises(OSError, match="connection reset"):
        storage.put(_FailingReader(), "song.mp3", "wgmr")  # type: ignore[arg-type]
    assert _files(tmp_path / "lib") == [kept.path]
    assert kept.path.read_bytes() == b"keep me"


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="layout"):
        LocalStorage(tmp_path, "flat")  # type: ignore[arg-type]
