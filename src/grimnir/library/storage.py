"""Where library files live: a small storage interface and its local-disk backend.

Ingest copies each file into storage once and refers to it by a ``key``
afterwards (``MediaItem.path``). :class:`LocalStorage` offers two layouts:

- ``content``: ``root/ab/cd/<sha256>.<ext>`` — the file's name is its content
  hash, so the same audio uploaded twice (to any station) is stored once;
- ``station``: ``root/<station>/<name>`` — human-browsable folders, for
  stations that also manage files by hand. An existing different file of the
  same name is never overwritten: the new one gets `` (2)``, `` (3)`` … .

Writes are atomic (a temporary file in the target folder, fsync, then
``os.replace``), hashing happens while copying in 1 MiB pieces, and names that
could escape the root (``..``, absolute paths, backslashes, NUL) are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal, Protocol

from grimnir.domain.errors import LibraryError, NotFoundError

Layout = Literal["content", "station"]
_PIECE = 1 << 20
_EXT = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file in storage: its key, where it is on disk, its size and SHA-256 (hex)."""

    key: str
    path: Path
    size: int
    sha256: str


class Storage(Protocol):
    """What ingest needs from a place to keep audio files."""

    def put(self, source: Path | BinaryIO, name: str, station: str) -> StoredFile:
        """Store ``source`` (a path or a binary stream) under ``name`` for ``station``."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored file for reading."""
        ...

    def path(self, key: str) -> Path:
        """The stored file's local path (for decoding)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the stored file (a missing file is not an error)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...


def safe_name(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its folder, or LibraryError."""
    if not name or "\x00" in name or "\\" in name:
        raise LibraryError(f"unsafe file name {name!r}: empty, or has NUL or backslashes")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", ".") for part in path.parts) or not path.parts:
        raise LibraryError(f"unsafe file name {name!r}: absolute or leaves its folder ('..')")
    if any(len(part.encode()) > 255 for part in path.parts):
        raise LibraryError(f"file name {name!r} has a part longer than 255 bytes")
    return path


class LocalStorage:
    """Files under ``root`` on the local disk, in the ``content`` or ``station`` layout."""

    def __init__(self, root: Path, layout: Layout = "content") -> None:
        if layout not in ("content", "station"):
            raise LibraryError(f"storage layout must be 'content' or 'station' (got {layout!r})")
        self.root = root.resolve()
        self.layout: Layout = layout
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, source: Path | BinaryIO, name: str, station: str) -> StoredFile:
        """Copy ``source`` in atomically, hashing on the way; duplicates are stored once."""
        rel = safe_name(name)
        folder = self.root if self.layout == "content" else self._inside(safe_name(station))
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = _copy(source, out)
                out.flush()
                os.fsync(out.fileno())
            if self.layout == "content":
                return self._place_content(tmp, digest, size, rel)
            return self._place_named(tmp, folder, rel, digest, size)
        finally:
            tmp.unlink(missing_ok=True)

    def _place_content(self, tmp: Path, digest: str, size: int, rel: PurePosixPath) -> StoredFile:
        ext = rel.suffix.lower().lstrip(".")
        name = f"{digest}.{ext}" if _EXT.match(ext) else digest
        key = f"{digest[:2]}/{digest[2:4]}/{name}"
        target = self.root / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        return StoredFile(key, target, size, digest)

    def _place_named(
        self, tmp: Path, folder: Path, rel: PurePosixPath, digest: str, size: int
    ) -> StoredFile:
        target = self._inside(PurePosixPath(folder.relative_to(self.root)) / rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        stem, suffix, n = target.stem, target.suffix, 1
        while target.exists():
            if _sha256(target) == digest:
                break  # the same content is already there under this name
            n += 1
            target = target.with_name(f"{stem} ({n}){suffix}")
        else:
            os.replace(tmp, target)
        key = target.relative_to(self.root).as_posix()
        return StoredFile(key, target, size, digest)

    def _inside(self, rel: PurePosixPath) -> Path:
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):
            raise LibraryError(f"storage path {rel} leaves the storage root (a symlink?)")
        return path

    def path(self, key: str) -> Path:
        """The local path of ``key`` (NotFoundError if it is not stored)."""
        path = self._inside(safe_name(key))
        if not path.is_file():
            raise NotFoundError(f"no stored file {key!r} under {self.root}")
        return path

    def open(self, key: str) -> BinaryIO:
        """``key`` opened for binary reading."""
        return self.path(key).open("rb")

    def delete(self, key: str) -> None:
        """Remove ``key``; removing what is not there is fine."""
        with contextlib.suppress(NotFoundError):
            self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self._inside(safe_name(key)).is_file()


def _copy(source: Path | BinaryIO, out: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(source.open("rb")) if isinstance(source, Path) else source
        while piece := src.read(_PIECE):
            digest.update(piece)
            out.write(piece)
            size += len(piece)
    return digest.hexdigest(), size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(_PIECE):
            digest.update(piece)
    return digest.hexdigest()
