"""Where ``grimnir up``'s engines listen, chosen so two control planes on one
machine (different data dirs) never clash.

Control goes over a unix socket in the station's folder unless a TCP port is
asked for. Each engine's listener/harbor server takes 8000 + n when that is
free, else a free port; a port the user asked for that is taken stops
``grimnir up`` at once with what to change, instead of an engine restart loop.
Two ``grimnir up`` started together take turns (``PortTurn``), so both
cannot find 8000 free before either engine has bound it.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import socket
import tempfile
from pathlib import Path

from grimnir.domain.errors import GrimnirError
from grimnir.engine.v1.address import socket_state, unix_socket_path

log = logging.getLogger("grimnir.up")

SOCKET_NAME = "engine.sock"
DEFAULT_STREAM_PORT = 8000
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 - recognised, not bound here


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: loopback for "all interfaces", IPv6 bracketed."""
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def control_address(folder: Path, grpc_port: int | None, index: int) -> str:
    """Station ``index``'s engine control: its folder's socket, or ``127.0.0.1:PORT+index``."""
    if grpc_port is None:
        return f"unix:{folder / SOCKET_NAME}"
    return f"127.0.0.1:{grpc_port + index}"


def port_free(host: str, port: int) -> bool:
    """True when a server could listen on ``host:port`` now (as the engine binds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or "0.0.0.0", port))  # noqa: S104 - empty means all interfaces
            probe.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise GrimnirError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return True


def any_free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host or "0.0.0.0", 0))  # noqa: S104 - empty means all interfaces
        return int(probe.getsockname()[1])


class StreamPorts:
    """Chooses each engine's listener/harbor port on ``host``.

    ``base`` is ``--stream-port``: ``None`` (not given) takes 8000 + n when free,
    else any free port; ``0`` takes any free port; a number takes base + n or
    fails at once when that is in use.
    """

    def __init__(self, host: str, base: int | None) -> None:
        self.host = host
        self.base = base
        self.used: set[int] = set()

    def keep(self, port: int) -> int:
        """An adopted engine's port: it stays where it is."""
        self.used.add(port)
        return port

    def assign(self, index: int, station: str) -> int:
        if self.base is None:
            port = DEFAULT_STREAM_PORT + index
            if port <= 65535 and port not in self.used and port_free(self.host, port):
                return self.keep(port)
            return self.keep(self._any())
        if self.base == 0:
            return self.keep(self._any())
        port = self.base + index
        where = f"{url_host(self.host)}:{port}"
        if port > 65535:
            raise GrimnirError(
                f"station {station} would get port {port} (--stream-port {self.base} + {index}), "
                "past 65535: pass a lower --stream-port"
            )
        if port in self.used or not port_free(self.host, port):
            raise GrimnirError(
                f"{where} is already in use (station {station}'s listener/harbor port): "
                "pass --stream-port with a free port, or leave it out to have free ports "
                "chosen, or stop what uses it"
            )
        return self.keep(port)

    def _any(self) -> int:
        while (port := any_free_port(self.host)) in self.used:
            pass
        return port


def check_control_address(address: str, station: str) -> None:
    """Fail at once when ``address`` (no engine of ours answers there) is taken."""
    path = unix_socket_path(address)
    if path is None:
        host, _, port = address.rpartition(":")
        if int(port) > 65535:
            raise GrimnirError(
                f"station {station} would get gRPC port {port}, past 65535: "
                "pass a lower --grpc-port"
            )
        if not port_free(host, int(port)):
            raise GrimnirError(
                f"{address} is already in use (station {station}'s engine control port): "
                "pass another --grpc-port, or leave it out to control engines over a unix "
                "socket in each station's folder"
            )
        return
    state = socket_state(path)
    if state == "not_a_socket":
        raise GrimnirError(
            f"{path} is in the way of station {station}'s engine control socket: move it away"
        )
    if state == "in_use":
        raise GrimnirError(
            f"{path} (station {station}'s engine control socket) is in use by a program "
            "that is not this station's engine: stop it, then start grimnir up again"
        )


class PortTurn:
    """This user's machine-wide turn to choose ports and bind them (a lock file).

    Held from probing a port until the engine has bound it. A turn not free
    within ``wait_s`` (a control plane stuck at start) is taken anyway.
    """

    def __init__(self) -> None:
        self._fd: int | None = None

    @classmethod
    async def take(cls, wait_s: float = 120.0) -> PortTurn:
        turn = cls()
        path = Path(tempfile.gettempdir()) / f"grimnir-{os.getuid()}-ports.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.warning("cannot take turns choosing ports (%s): going ahead", exc)
            return turn
        turn._fd = fd
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return turn
            except BlockingIOError:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("another grimnir up holds %s too long: going ahead", path)
                    return turn
                try:
                    await asyncio.sleep(0.1)
                except BaseException:
                    turn.release()
                    raise

    def release(self) -> None:
        """Let the next ``grimnir up`` choose (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the file ends the lock
            self._fd = None
