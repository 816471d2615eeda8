"""One station on air: the engine, its outputs, the built-in server and the harbor.

``StationRuntime`` turns a station config into a running engine process:
a realtime ``Engine`` on its own thread; every configured output (Icecast,
built-in HTTP mounts, HLS, recordings, files); the built-in server for
listeners, HLS files and live DJs (harbor). It implements ``EngineControl``,
so the gRPC server drives it exactly as it drives a bare engine in tests.

Nothing here waits on a peer: outputs reconnect on their own threads, the
harbor decodes on its own threads, and the block loop only moves audio.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from grimnir.config import PathProblem, create_output_folders
from grimnir.config.station import StationConfig
from grimnir.domain.errors import NotFoundError
from grimnir.domain.layers import Layer
from grimnir.engine.audience import POLL_S as AUDIENCE_POLL_S
from grimnir.engine.audience import MountAudience, audience_status
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.control import LocalControl, Metadata
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EngineEvent
from grimnir.engine.harbor import ApiHarborAuth, HarborGate
from grimnir.engine.outputs import IcecastOutput, RecordingOutput, StreamInfo
from grimnir.engine.runtime_outputs import open_output
from grimnir.engine.server import ListenerMount, StreamServer
from grimnir.engine.v1.status import MetadataStatus, StatusReport, StreamAddress

log = logging.getLogger(__name__)

LISTENER_BATCH_S = 0.1
"""Listeners get the stream in pieces of at least this long (the burst counts)."""

HarborAuth = Callable[[str, str, str, str], bool]
"""(mount path, user, password, client address) → allowed? Runs on a worker thread."""


@dataclass(slots=True)
class RuntimeOptions:
    """How one engine process runs its station (everything not in the station file)."""

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    burst_blocks: int = 10
    """Blocks mixed per wake-up (10 = 200 ms): fewer wake-ups, same audio."""
    harbor_users: dict[str, str] = field(default_factory=dict)
    harbor_auth_url: str | None = None
    """The control plane's harbor callback (DJ accounts, live tokens); static
    ``harbor_users`` are checked first."""
    harbor_auth_secret: str = ""
    """The station's shared secret for that callback."""
    mp3_quality: int = 2
    audience_poll_s: float = AUDIENCE_POLL_S
    """How often Icecast servers are asked how many listeners they have."""


class StationRuntime(LocalControl):
    """A station's engine with its outputs, built-in server and harbor."""

    def __init__(
        self,
        config: StationConfig,
        options: RuntimeOptions | None = None,
        *,
        harbor_auth: HarborAuth | None = None,
    ) -> None:
        self.config = config
        self.options = options or RuntimeOptions()
        burst = max(1, self.options.burst_blocks)
        engine = Engine(
            RealtimeClock(burst=burst),
            EngineOptions(
                dsp_graph=config.dsp_graph,
                failover=config.failover,
                realtime=True,
                mp3_quality=self.options.mp3_quality,
                process_blocks=burst,
            ),
        )
        super().__init__(engine, str(config.station.id))
        # NOTE: listener mounts batch writes (batch_s) to save wake-ups; the block loop
        # already writes once per burst, so batching on top of a 200 ms burst only
        # delays the stream (by 100 ms: also a restarted engine's first audio)
        self.server = StreamServer(
            self.options.http_host,
            self.options.http_port,
            server_name=config.station.name,
            batch_s=max(0.0, LISTENER_BATCH_S - burst * BLOCK / RATE),
        )
        self._remote_auth = (
            None
            if self.options.harbor_auth_url is None
            else ApiHarborAuth(
                self.options.harbor_auth_url,
                self.options.harbor_auth_secret,
                str(config.station.id),
            )
        )
        self.harbor = HarborGate(
            self.engine,
            self.server,
            [mount.path for mount in config.harbor.mounts] if config.harbor.enabled else [],
            harbor_auth or self._authenticate,
            on_title=self._live_title,
        )
        self.recordings: list[RecordingOutput] = []
        self.audience: dict[str, MountAudience] = {}
        """Per configured mount, the outputs its listeners reach (``engine.audience``):
        the one record of them (``listener_mounts``, ``icecast``, ``hls_paths`` read it)."""
        self.path_problems: list[PathProblem] = []
        """Output folders that could not be created or written at start (those outputs
        report DOWN and keep trying; the rest of the station is on air)."""
        self._started = time.monotonic()
        self._metadata_lock = threading.Lock()
        self._metadata_wake = threading.Condition(self._metadata_lock)
        self._metadata_next: Metadata | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self.crashed: BaseException | None = None
        self.engine.subscribe(self._on_event)

    # -- building -------------------------------------------------------------------

    def start(self) -> None:
        """Create the output folders, bind the server, open the outputs, go on air.

        Paths are used as the config gives them (``load_station_config`` has made
        a station file's relative paths absolute).
        """
        self.path_problems = create_output_folders(self.config)
        for problem in self.path_problems:
            log.warning("%s", problem)
        self.server.start()
        info = self._stream_info()
        for mount in self.config.mounts:
            for out in mount.outputs:
                open_output(self, mount.id, out, info)
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()
        self._metadata_thread = threading.Thread(
            target=self._push_metadata_loop, name="metadata", daemon=True
        )
        self._metadata_thread.start()

    def _stream_info(self) -> StreamInfo:
        station = self.config.station
        return StreamInfo(
            name=station.name,
            description=station.description,
            genre=station.genre,
            url=str(station.url or ""),
        )

    @property
    def listener_mounts(self) -> list[ListenerMount]:
        """Our listener server's mounts, in mount order."""
        return [m for a in self.audience.values() for m in a.http]

    @property
    def icecast(self) -> list[IcecastOutput]:
        """The Icecast outputs, in mount order."""
        return [o for a in self.audience.values() for o in a.icecast]

    @property
    def hls_paths(self) -> list[str]:
        """Where each HLS output is served (``/hls/<mount>``)."""
        return [s.prefix for a in self.audience.values() for s in a.hls]

    def audience_of(self, mount_id: str) -> MountAudience:
        """The audience record of configured mount ``mount_id`` (made on first use)."""
        return self.audience.setdefault(mount_id, MountAudience())

    # -- running ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.engine.run()
        except BaseException as exc:  # the process must not stay up without audio
            self.crashed = exc
            log.exception("engine loop crashed")
            raise

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the engine loop to end; False if it is still running."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Stop the engine, flush and close every output, stop the server."""
        self._closing.set()
        with self._metadata_wake:
            self._metadata_wake.notify_all()
        self.harbor.close()
        self.engine.close()  # on the engine's own thread, which it waits for
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.server.close()

    # -- metadata -----------------------------------------------------------------------

    def _on_event(self, event: EngineEvent) -> None:
        # NOTE: runs on the engine thread; it only logs and queues the title for the pusher.
        if event.type != "telemetry":
            details = " ".join(f"{k}={v}" for k, v in event.data.items() if k != "path")
            log.info("%s %s", event.type, details)
        if event.type == "item.started":
            layer = Layer(str(event.data.get("layer")))
            on_air = self.engine.mixer.on_air
            if on_air is None or layer.priority <= on_air.priority:
                self._queue_metadata(
                    Metadata(str(event.data.get("title", "")), str(event.data.get("artist", "")))
                )
        elif event.type == "stream.title":
            # A relayed stream's own titles are now-playing while it is on air.
            current = self.engine.automation.current
            on_air = self.engine.mixer.on_air
            if (
                current is not None
                and current.item.item_id == event.data.get("item_id")
                and (on_air is None or on_air is Layer.AUTOMATION)
            ):
                self._queue_metadata(Metadata(title=str(event.data.get("title", ""))))
        elif event.type == "layer.changed":
            to = event.data.get("to")
            player = {"automation": self.engine.automation, "emergency": self.engine.emergency}
            current = player[to].current if to in player else None
            if to == Layer.FALLBACK.value:
                current = self.engine.fallback.current
            if current is not None:
                self._queue_metadata(Metadata(current.item.title, current.item.artist))
            elif to == "live":
                title = self.harbor.title(self.engine.live_label)
                if title:
                    self._queue_metadata(Metadata(title=title))

    def _live_title(self, mount: str, title: str) -> None:
        # NOTE: runs on a harbor thread: the live mount comes from the loop's snapshot.
        if self.engine.snapshot().live_label == mount:
            self._queue_metadata(Metadata(title=title))

    def set_metadata(self, metadata: Metadata) -> None:
        super().set_metadata(metadata)
        self._queue_metadata(metadata)

    def _queue_metadata(self, metadata: Metadata) -> None:
        self.metadata = metadata
        with self._metadata_wake:
            self._metadata_next = metadata
            self._metadata_wake.notify()

    def _push_metadata_loop(self) -> None:
        # NOTE: Icecast's /admin/metadata and /admin/listclients are HTTP round trips:
        # they run here, never on the block loop; only the latest title is pushed.
        every = self.options.audience_poll_s
        polled = time.monotonic() - every
        while not self._closing.is_set():
            with self._metadata_wake:
                while self._metadata_next is None and not self._closing.is_set():
                    wait = polled + every - time.monotonic()
                    if wait <= 0:
                        break
                    self._metadata_wake.wait(wait)
                metadata, self._metadata_next = self._metadata_next, None
            if self._closing.is_set():
                return
            if time.monotonic() - polled >= every:
                polled = time.monotonic()
                self._poll_icecast_listeners()
            if metadata is None:
                continue
            for mount in self.listener_mounts:
                mount.set_metadata(metadata.stream_title)
            for output in self.icecast:
                try:
                    output.set_metadata(metadata.title, metadata.artist)
                except Exception:  # a metadata failure must not stop the next one
                    log.warning("metadata update to %s failed", output.name, exc_info=True)

    def _poll_icecast_listeners(self) -> None:
        for output in self.icecast:
            try:
                output.poll_listeners()
            except Exception:  # a count that fails must not stop titles or other counts
                log.debug("listener count from %s failed", output.name, exc_info=True)

    # -- control ------------------------------------------------------------------------

    def route_live(self, mount: str | None) -> None:
        if mount is not None and mount not in self.harbor.paths:
            known = ", ".join(self.harbor.paths) or "none configured"
            raise NotFoundError(f"no harbor mount {mount!r} (harbor mounts: {known})")
        self.harbor.route(mount)

    def kick_live(self, mount: str) -> None:
        if not self.server.kick(mount):
            raise NotFoundError(f"no live source is connected on {mount}")

    def status(self) -> StatusReport:
        snapshot = self.engine.snapshot()
        host, port = self.server.address
        return replace(
            self._status(snapshot),
            uptime_s=round(time.monotonic() - self._started, 1),
            stream_server=StreamAddress(host, port),
            listeners={m.name: m.listener_count for m in self.listener_mounts},
            audience=audience_status(self.audience),
            harbor=self.harbor.status(),
            live=snapshot.live_label or None,
            metadata=MetadataStatus(self.metadata.title, self.metadata.artist),
        )

    def _authenticate(self, mount: str, user: str, password: str, remote: str) -> bool:
        """Static ``harbor_users`` first, then the control plane (when configured)."""
        expected = self.options.harbor_users.get(user)
        if expected is not None and _same(expected, password):
            return True
        if self._remote_auth is not None:
            return self._remote_auth(mount, user, password, remote)
        return False


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
