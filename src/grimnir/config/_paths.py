"""Where a station's files are: every path-valued key of the station config.

Paths mean what they say. An absolute path is used as written; a relative one
is relative to the folder of the station file that names it, resolved once
when the file is read, so the database, ``grimnir up`` and the engine only
ever see absolute paths. ``~`` is the home folder of whoever reads the file.

``check_paths`` tells, without creating anything, whether the station can
write its output folders (recordings, HLS, files) and read its input files
(fallback, emergency audio); ``create_output_folders`` is what the engine does
at start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from grimnir.config._outputs import FileOutput, HlsOutput, RecordingOutput
from grimnir.config._yamlpos import KeyPath, format_path

if TYPE_CHECKING:
    from grimnir.config.station import StationConfig

_FILE_OUTPUTS = (HlsOutput, RecordingOutput, FileOutput)
"""Outputs whose ``path`` is on disk (an ``http`` output's ``path`` is a mount path)."""


class PathRole(StrEnum):
    """What the station does with a path, which decides how it is checked."""

    OUTPUT_FOLDER = "output folder"
    """Written into (recordings, HLS): created at start when missing."""
    OUTPUT_FILE = "output file"
    """One file written (a ``file`` output): its folder is created at start."""
    INPUT_FILE = "input file"
    """Read when needed (emergency audio)."""
    INPUT_FILE_OR_FOLDER = "input file or folder"
    """Read when needed, a file or a folder of files (fallback)."""


@dataclass(frozen=True, slots=True)
class PathKey:
    """One path-valued key of a station config: where it is, what it says, what it is for."""

    key: KeyPath
    path: str
    role: PathRole


@dataclass(frozen=True, slots=True)
class PathProblem:
    """A path the station cannot use (``fatal``) or may not find when it needs it."""

    key: KeyPath
    message: str
    fatal: bool

    def __str__(self) -> str:
        return f"{format_path(self.key)}: {self.message}"


def path_keys(config: StationConfig) -> list[PathKey]:
    """Every path-valued key of ``config`` (outputs, then failover), URLs left out."""
    keys: list[PathKey] = []
    for m, mount in enumerate(config.mounts):
        for o, output in enumerate(mount.outputs):
            if isinstance(output, _FILE_OUTPUTS):
                role = (
                    PathRole.OUTPUT_FILE
                    if isinstance(output, FileOutput)
                    else PathRole.OUTPUT_FOLDER
                )
                keys.append(PathKey(("mounts", m, "outputs", o, "path"), output.path, role))
    failover = config.failover
    if failover.emergency_audio_path is not None:
        key: KeyPath = ("failover", "emergency_audio_path")
        keys.append(PathKey(key, failover.emergency_audio_path, PathRole.INPUT_FILE))
    for n, path in enumerate(failover.fallback_paths):
        key = ("failover", "fallback_paths", n)
        keys.append(PathKey(key, path, PathRole.INPUT_FILE_OR_FOLDER))
    return [k for k in keys if not _is_url(k.path)]


def resolve_path(path: str, base: Path) -> str:
    """``path`` as an absolute path: as written when absolute, else relative to ``base``."""
    if _is_url(path):
        return path
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        return expanded
    return os.path.normpath(os.path.join(os.path.abspath(base), expanded))


def resolve_paths(config: StationConfig, base: Path) -> StationConfig:
    """``config`` with every relative path made absolute against the folder ``base``."""
    mounts = [
        mount.model_copy(
            update={
                "outputs": [
                    output.model_copy(update={"path": resolve_path(output.path, base)})
                    if isinstance(output, _FILE_OUTPUTS)
                    else output
                    for output in mount.outputs
                ]
            }
        )
        for mount in config.mounts
    ]
    failover = config.failover
    emergency = failover.emergency_audio_path
    failover = failover.model_copy(
        update={
            "emergency_audio_path": None if emergency is None else resolve_path(emergency, base),
            "fallback_paths": [resolve_path(p, base) for p in failover.fallback_paths],
        }
    )
    return config.model_copy(update={"mounts": mounts, "failover": failover})


def check_paths(config: StationConfig) -> list[PathProblem]:
    """What stops the station from writing its outputs or reading its inputs.

    Nothing is created: a missing output folder is fine when its nearest
    existing parent is a folder this user can write. A missing input file is a
    warning (``fatal=False``): it may be put there later, and the engine plays
    on without it. Relative paths (a config built in code) count from the
    current folder.
    """
    problems: list[PathProblem] = []
    for item in path_keys(config):
        path = Path(os.path.abspath(item.path))
        if item.role is PathRole.OUTPUT_FOLDER:
            message = _folder_problem(path)
        elif item.role is PathRole.OUTPUT_FILE:
            message = _output_file_problem(path)
        else:
            if not path.exists():
                problems.append(
                    PathProblem(
                        item.key,
                        f"{path} does not exist (yet) — put the audio there before the "
                        "station needs it, or fix the path",
                        fatal=False,
                    )
                )
                continue
            message = _input_problem(path, folder_ok=item.role is PathRole.INPUT_FILE_OR_FOLDER)
        if message is not None:
            problems.append(PathProblem(item.key, message, fatal=True))
    return problems


def create_output_folders(config: StationConfig) -> list[PathProblem]:
    """Create the folders the outputs write into; the ones that cannot be made or written."""
    problems: list[PathProblem] = []
    for item in path_keys(config):
        if item.role is PathRole.OUTPUT_FOLDER:
            folder = Path(item.path)
        elif item.role is PathRole.OUTPUT_FILE:
            folder = Path(item.path).parent
        else:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot create {folder}: {reason} — {_CHOOSE}"
            problems.append(PathProblem(item.key, message, fatal=True))
            continue
        if not os.access(folder, os.W_OK | os.X_OK):
            message = f"cannot write {folder}: Permission denied — {_CHOOSE}"
            problems.append(PathProblem(item.key, message, fatal=True))
    return problems


_CHOOSE = "choose a folder the station's user can write"


def _is_url(path: str) -> bool:
    return "://" in path


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (``/`` at worst)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or "/")


def _not_a_folder(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return f"{path} is a broken link"
    return f"{path} is a file, not a folder"


def _folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be written into (or created), or None."""
    if folder.is_dir():
        if os.access(folder, os.W_OK | os.X_OK):
            return None
        return f"cannot write {folder}: Permission denied — {_CHOOSE}"
    if os.path.lexists(folder):
        return f"{_not_a_folder(folder)} — remove it or choose another folder"
    ancestor = _nearest_existing(folder)
    if not ancestor.is_dir():
        return f"cannot create {folder}: {_not_a_folder(ancestor)} — choose another folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return (
            f"cannot create {folder}: Permission denied ({ancestor} is not writable) — "
            f"create it for the station's user, or {_CHOOSE}"
        )
    return None


def _output_file_problem(path: Path) -> str | None:
    if path.is_dir():
        return f"{path} is a folder — give the name of the file to write"
    if path.exists() and not os.access(path, os.W_OK):
        return f"cannot write {path}: Permission denied — {_CHOOSE}"
    return _folder_problem(path.parent)


def _input_problem(path: Path, *, folder_ok: bool) -> str | None:
    if path.is_dir():
        if not folder_ok:
            return f"{path} is a folder — give the audio file itself"
        if os.access(path, os.R_OK | os.X_OK):
            return None
    elif os.access(path, os.R_OK):
        return None
    return f"cannot read {path}: Permission denied — give the station's user read access"
