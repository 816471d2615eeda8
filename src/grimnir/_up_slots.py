"""One station's place in ``grimnir up``: its engine's addresses, URLs and executor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from grimnir._up_addresses import (
    DEFAULT_STREAM_PORT,
    StreamPorts,
    check_control_address,
    url_host,
)
from grimnir.config.station import StationConfig
from grimnir.engine.client import GrpcEngineClient
from grimnir.engine.client.supervisor import find_engine
from grimnir.executor.station import StationExecutor
from grimnir.store.models import Station

log = logging.getLogger("grimnir.up")


@dataclass(slots=True)
class StationSlot:
    """One station's engine addresses, URLs and executor."""

    station: Station
    config: StationConfig
    grpc_address: str
    stream_host: str
    stream_port: int
    folder: Path
    executor: StationExecutor | None = None
    client: GrpcEngineClient | None = None

    @property
    def stream_address(self) -> str:
        """``HOST:PORT`` the engine's built-in server binds."""
        return f"{self.stream_host}:{self.stream_port}"

    @property
    def config_file(self) -> Path:
        """The station file the engine runs from (it names the engine as this dir's)."""
        return self.folder / "station.yaml"

    def listener_paths(self) -> list[str]:
        """Paths of the engine's listener mounts (``http`` outputs)."""
        return [
            out.path for mount in self.config.mounts for out in mount.outputs if out.type == "http"
        ]

    def hls_prefixes(self) -> list[str]:
        """Path prefixes of the engine's HLS folders."""
        return [
            f"/hls/{mount.id}"
            for mount in self.config.mounts
            if any(out.type == "hls" for out in mount.outputs)
        ]

    def stream_paths(self) -> list[str]:
        """What a listener opens: each mount, and each HLS playlist."""
        return self.listener_paths() + [f"{p}/index.m3u8" for p in self.hls_prefixes()]

    def serves(self, path: str) -> bool:
        """True when ``path`` is one of this engine's streams (or an HLS segment)."""
        if path in self.listener_paths():
            return True
        return any(path.startswith(prefix + "/") for prefix in self.hls_prefixes())

    def engine_url(self, path: str) -> str:
        """The engine's own URL of ``path`` (it keeps serving when the control plane is down)."""
        return f"http://{url_host(self.stream_host)}:{self.stream_port}{path}"

    def harbor_urls(self) -> list[str]:
        """Where DJs connect their encoders."""
        if not self.config.harbor.enabled:
            return []
        host = f"{url_host(self.stream_host)}:{self.stream_port}"
        return [f"icecast://{host}{mount.path}" for mount in self.config.harbor.mounts]


async def place_engines(slots: list[StationSlot], host: str, stream_port: int | None) -> None:
    """Give each engine its stream port; fail at once on an address that is taken.

    An engine of this data dir left running is adopted where it is: it
    keeps the port it serves on (it says which in its status).
    """
    ports = StreamPorts(host, stream_port)
    for index, slot in enumerate(slots):
        name = slot.station.short_name
        running = await find_engine(
            slot.grpc_address, str(slot.station.id), marker=str(slot.config_file)
        )
        if running is None:
            check_control_address(slot.grpc_address, name)
            slot.stream_port = ports.assign(index, name)
            continue
        wanted = (stream_port or DEFAULT_STREAM_PORT) + index
        server = running.stream_server
        slot.stream_port = ports.keep(wanted if server is None else server.port)
        if stream_port and slot.stream_port != wanted:
            log.warning(
                "%s's engine, left running, serves on port %d, not %d: stop "
                "grimnir up and start it again to move it",
                name,
                slot.stream_port,
                wanted,
            )
