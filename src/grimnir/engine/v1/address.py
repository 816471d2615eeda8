"""Engine control addresses: ``HOST:PORT`` over TCP, or ``unix:PATH``, a socket file.

A unix socket lives in the station's folder, so it belongs to one data dir:
no port to clash with another ``grimnir up`` on the machine, and only users
who may enter the folder reach it. The kernel limits a socket path to 107
bytes; a longer one (deep data dirs, long station names, pytest's temporary
folders) is reached through ``/proc/self/fd/N/NAME``, ``N`` being a
descriptor this process holds open on the socket's folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Literal

from grimnir.domain.errors import AddressError, EngineError

UNIX_PREFIX = "unix:"
SUN_PATH_MAX = 107
"""Bytes of a socket path the kernel accepts (``sun_path`` holds 108 with the NUL)."""

_folders: dict[str, int] = {}
_folders_lock = threading.Lock()


def unix_socket_path(address: str) -> Path | None:
    """The socket file of a ``unix:PATH`` address (``unix:///abs`` too); ``None`` for TCP."""
    if not address.startswith(UNIX_PREFIX):
        return None
    path = address[len(UNIX_PREFIX) :]
    if path.startswith("//"):
        path = path[2:]
    if not path:
        raise AddressError(f"{address!r} names no socket file: write unix:/path/to/engine.sock")
    return Path(path)


def reachable_path(path: Path) -> str:
    """A path to ``path`` short enough for ``bind``/``connect`` (see the module docstring)."""
    text = str(path)
    if len(os.fsencode(text)) <= SUN_PATH_MAX:
        return text
    if len(os.fsencode(path.name)) > SUN_PATH_MAX - len("/proc/self/fd/NNNNNNNNNN/"):
        raise AddressError(f"socket name {path.name!r} is too long: name it engine.sock")
    if not Path("/proc/self/fd").is_dir():
        raise AddressError(
            f"socket path {text} is {len(os.fsencode(text))} bytes, over the "
            f"{SUN_PATH_MAX}-byte limit of unix sockets: use a shorter data dir, or a TCP port"
        )
    return f"/proc/self/fd/{_folder_fd(path.parent)}/{path.name}"


def _folder_fd(folder: Path) -> int:
    """A descriptor held open on ``folder`` for the life of the process (one per folder)."""
    key = os.path.abspath(folder)
    try:
        now = os.stat(key)
    except OSError as exc:
        raise EngineError(f"socket folder {key} cannot be reached: {exc.strerror}") from None
    with _folders_lock:
        held = _folders.get(key)
        if held is not None:
            was = os.fstat(held)
            if (was.st_dev, was.st_ino) == (now.st_dev, now.st_ino):
                return held
            os.close(held)  # the folder was replaced: hold the new one
        fd = os.open(key, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        _folders[key] = fd
        return fd


def grpc_target(address: str) -> str:
    """What to hand gRPC for ``address`` (a unix path shortened when it must be)."""
    path = unix_socket_path(address)
    return address if path is None else UNIX_PREFIX + reachable_path(path)


def unix_socket_answers(path: Path, timeout_s: float = 1.0) -> bool:
    """True when a program accepts connections on the socket file ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout_s)
        try:
            probe.connect(reachable_path(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return False
        except TimeoutError:
            return True  # there, but too busy to accept at once
        except OSError as exc:
            # NOTE: a full backlog means a live (if busy) server.
            return exc.errno in (errno.EAGAIN, errno.ETIMEDOUT)
    return True


SocketState = Literal["absent", "stale", "in_use", "not_a_socket"]


def socket_state(path: Path) -> SocketState:
    """What is at ``path``: nothing, a socket nobody serves on, a live one, or another file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "absent"
    if not stat.S_ISSOCK(mode):
        return "not_a_socket"
    return "in_use" if unix_socket_answers(path) else "stale"


def claim_unix_socket(path: Path) -> None:
    """Make ``path`` free to bind: remove a stale socket file that nobody serves on.

    Raises ``AddressError`` when a program still answers there, or when the
    path is something other than a socket (never deleted).
    """
    state = socket_state(path)
    if state == "absent":
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if state == "not_a_socket":
        raise AddressError(
            f"{path} exists and is not a socket: move it away or choose another socket path"
        )
    if state == "in_use":
        raise AddressError(
            f"{path} is already in use: another engine answers there; stop it "
            "(or give this one another --grpc address)"
        )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left behind by an engine that was killed
