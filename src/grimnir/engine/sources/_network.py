"""Contribution feeds over the network: RTP (with or without SDP) and SRT.

Both are opened with FFmpeg (PyAV) and retried forever: when the sender
goes away the source reports the stall in ``error``, plays silence, and
reopens after a backoff, so a remote studio that comes back is on air again
without anyone touching the engine. SRT reaches us through
``srt-live-transmit`` (Debian package srt-tools), which listens for the SRT
caller and forwards the MPEG-TS it carries to a local UDP port we read.
"""

from __future__ import annotations

import abc
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from typing import Any

import av
import av.error

from grimnir.domain.errors import EngineError
from grimnir.engine.sources._netdecode import PROBE_OPTIONS, LiveSource, decode_audio, ffmpeg_reason

_MAX_BACKOFF_S = 10.0


class ReopeningSource(LiveSource):
    """A live source that opens a URL with FFmpeg and reopens it whenever it fails.

    ``open_timeout_s`` bounds waiting for the first packets of each attempt;
    ``stall_timeout_s`` is how long the stream may go silent before the
    attempt counts as failed. Between attempts it waits ``retry_s``, doubling
    up to 10 s while failures continue. ``error`` holds the last failure
    until audio flows again; ``finished`` only becomes True on ``close``.
    """

    def __init__(
        self,
        name: str,
        *,
        stall_timeout_s: float = 5.0,
        open_timeout_s: float = 5.0,
        retry_s: float = 1.0,
        prebuffer_ms: int = 200,
        buffer_ms: int = 2000,
    ) -> None:
        super().__init__(name, prebuffer_ms=prebuffer_ms, buffer_ms=buffer_ms)
        self.stall_timeout_s = stall_timeout_s
        self.open_timeout_s = open_timeout_s
        self.retry_s = retry_s
        self.connected = False
        self.attempts = 0

    @abc.abstractmethod
    def _target(self) -> tuple[str, str | None, dict[str, str]]:
        """The URL to open, its demuxer (None: probe) and extra FFmpeg options."""

    def _prepare(self) -> None:
        """Get ready for an attempt (SRT: start the bridge process if it is not running)."""

    def _after(self, delivered: bool) -> None:
        """Clean up after an attempt that ``delivered`` audio or not."""

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, EngineError):
            return str(exc)
        return super()._describe(exc)

    def _work(self) -> None:
        backoff = self.retry_s
        while not self._stopping.is_set():
            self.attempts += 1
            delivered = False
            try:
                self._prepare()
                url, fmt, options = self._target()
                with av.open(
                    url,
                    format=fmt,
                    options={**PROBE_OPTIONS, **options},
                    timeout=(self.open_timeout_s, self.stall_timeout_s),
                    metadata_errors="ignore",
                ) as container:
                    for chunk in decode_audio(container, self._stopping):
                        if not delivered:
                            delivered, self.connected, self._error = True, True, None
                            backoff = self.retry_s
                        if not self._deliver(chunk):
                            return
                reason = "the sender stopped"
            except av.error.ExitError:
                reason = (
                    f"no audio for {self.stall_timeout_s:g} s"
                    if delivered
                    else f"nothing received within {self.open_timeout_s:g} s"
                )
            except Exception as exc:
                if isinstance(exc, EngineError):
                    raise  # a setup problem a retry cannot fix
                reason = ffmpeg_reason(exc)
            finally:
                self.connected = False
                self._after(delivered)
            if self._stopping.is_set():
                return
            self._error = f"{self.name}: {reason}; is the sender running? retrying in {backoff:g} s"
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)


class RtpSource(ReopeningSource):
    """Audio received over RTP on a UDP port.

    Static payload types (L16 as type 10/11, MPEG audio as type 14) play
    from the port alone; dynamic ones (Opus, AAC, L24) need the sender's
    ``sdp`` text (``ffmpeg … -sdp_file``), which also names the port.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        sdp: str | None = None,
        host: str = "0.0.0.0",  # noqa: S104 - a contribution input listens on every interface
        **kwargs: Any,
    ) -> None:
        if (port is None) == (sdp is None):
            raise EngineError("an RTP input needs either a port or the sender's SDP, not both")
        label = f"RTP input :{port}" if port is not None else "RTP input (SDP)"
        super().__init__(label, **kwargs)
        self.port, self.host, self.sdp = port, host, sdp
        self._sdp_path: str | None = None

    def _target(self) -> tuple[str, str | None, dict[str, str]]:
        if self.sdp is None:
            return f"rtp://{self.host}:{self.port}", "rtp", {}
        if self._sdp_path is None:
            fd, path = tempfile.mkstemp(prefix="grimnir-rtp-", suffix=".sdp")
            with os.fdopen(fd, "w") as sdp_file:
                sdp_file.write(self.sdp)
            self._sdp_path = path
        return self._sdp_path, "sdp", {"protocol_whitelist": "file,udp,rtp"}

    def close(self) -> None:
        super().close()
        path, self._sdp_path = self._sdp_path, None
        if path is not None:
            os.unlink(path)


class SrtSource(ReopeningSource):
    """Audio sent to us by an SRT caller (MPEG-TS over SRT, as ffmpeg and OBS send it).

    ``srt-live-transmit`` listens on ``port`` and forwards to a local UDP port
    (``udp_port``, or a free one). When the feed stalls the bridge is
    restarted so a reconnecting sender is not refused by a listener still
    holding the dead session. ``latency_ms`` and ``passphrase`` are SRT's own
    options (both ends must agree on the passphrase).
    """

    def __init__(
        self,
        port: int,
        *,
        host: str = "",
        udp_port: int | None = None,
        latency_ms: int | None = None,
        passphrase: str | None = None,
        binary: str = "srt-live-transmit",
        **kwargs: Any,
    ) -> None:
        super().__init__(f"SRT input :{port}", **kwargs)
        self.port, self.host = port, host
        self.udp_port = udp_port if udp_port is not None else _free_udp_port()
        self.latency_ms, self.passphrase = latency_ms, passphrase
        self._binary = binary
        self._child: subprocess.Popen[bytes] | None = None
        self._child_lock = threading.Lock()
        self.bridge_message = ""
        """What srt-live-transmit last wrote to stderr before it ended by itself."""

    @property
    def child_pid(self) -> int | None:
        """The bridge process's id while it runs (for supervision and tests)."""
        child = self._child
        return None if child is None or child.poll() is not None else child.pid

    def _srt_url(self) -> str:
        params = ["mode=listener"]
        if self.latency_ms is not None:
            params.append(f"latency={self.latency_ms}")
        if self.passphrase is not None:
            params.append(f"passphrase={self.passphrase}")
        return f"srt://{self.host}:{self.port}?{'&'.join(params)}"

    def _prepare(self) -> None:
        binary = shutil.which(self._binary)
        if binary is None:
            raise EngineError(
                f"{self.name}: {self._binary} is not installed; install it with "
                "`apt-get install srt-tools`"
            )
        with self._child_lock:
            if self._stopping.is_set():
                raise EngineError(f"{self.name}: closed")
            if self._child is not None:
                return  # still listening from the last attempt
            self._child = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [binary, "-q", self._srt_url(), f"udp://127.0.0.1:{self.udp_port}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )

    def _target(self) -> tuple[str, str | None, dict[str, str]]:
        url = f"udp://127.0.0.1:{self.udp_port}?overrun_nonfatal=1&fifo_size=50000"
        return url, "mpegts", {}

    def _after(self, delivered: bool) -> None:
        # NOTE: after a session the bridge is restarted: srt-live-transmit keeps a
        # dead caller's session for several seconds and refuses a new caller until
        # then. Without a session it stays up, listening for the caller.
        child = self._child
        if delivered or (child is not None and child.poll() is not None):
            message = self._stop_child()
            if message:
                self.bridge_message = message

    def _interrupt(self) -> None:
        self._stop_child()

    def _stop_child(self) -> str:
        """Kill and reap the bridge; what it wrote to stderr, if it had ended by itself."""
        with self._child_lock:
            child, self._child = self._child, None
        if child is None:
            return ""
        ended_alone = child.poll() is not None
        child.kill()
        try:
            _, err = child.communicate(timeout=2.0)
        except subprocess.TimeoutExpired:
            return ""
        return err.decode("utf-8", "replace").strip()[-300:] if ended_alone else ""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
