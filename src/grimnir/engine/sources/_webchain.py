"""A web stream with backups: failover, pre-flight checks and recovery to the primary.

The chain is one source to the engine. A monitor thread watches the URL on
air; when it fails (error, end of stream, or no audio for ``grace_s``) it
tries the others in order, each first checked on its own thread (connect
and decode ``preflight_ms`` of audio) so a dead backup never goes on air.
While a backup plays, the primary is checked every ``recovery_interval_s``
and taken back as soon as it passes. Each switch is a short crossfade.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import numpy as np

from grimnir.domain.errors import EngineError
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.audio import Block, silence
from grimnir.engine.events import WebStreamEventType
from grimnir.engine.sources._base import Source, Stalling
from grimnir.engine.sources._webstream import WebStreamSource

EventCallback = Callable[[WebStreamEventType, dict[str, Any]], None]

_TICK_S = 0.05
_MAX_BACKOFF_S = 30.0


class StreamHealth(StrEnum):
    """How a URL of a chain is doing."""

    HEALTHY = "healthy"
    """Plays (or passed its last check) without trouble."""
    DEGRADED = "degraded"
    """On air, but with underruns in the last ``degraded_window_s``."""
    UNHEALTHY = "unhealthy"
    """Failed: refused, errored, ended, stalled or failed its pre-flight check."""


class _Preflight:
    """Connect to one URL on a thread of its own and wait for enough decoded audio."""

    def __init__(self, index: int, source: WebStreamSource, frames: int, timeout_s: float):
        self.index = index
        self.source: WebStreamSource | None = source
        self.reason = ""
        self.done = threading.Event()
        self._frames, self._timeout_s = frames, timeout_s
        self._cancel = threading.Event()
        threading.Thread(target=self._run, name=f"preflight {source.url}", daemon=True).start()

    def cancel(self) -> None:
        self._cancel.set()

    def _run(self) -> None:
        source = self.source
        if source is None:
            return
        source.start()
        deadline = time.monotonic() + self._timeout_s
        while source.buffered_frames < self._frames:
            if source.error is not None or source.finished:
                self.reason = source.error or f"{source.url}: the stream ended"
                break
            if time.monotonic() > deadline or self._cancel.is_set():
                self.reason = f"{source.url}: no audio within {self._timeout_s:g} s"
                break
            time.sleep(0.02)
        if self.reason:
            source.close()
            self.source = None
        self.done.set()


class WebStreamChain(Stalling, Source):
    """A failover chain of web stream URLs (primary first), played as one source.

    ``grace_s`` is how long the URL on air may stall before the chain fails
    over; a failed URL is retried later, never the moment it failed. Events
    go to ``on_event(kind, data)``: ``webstream.failover`` {from, to, reason},
    ``webstream.recovered`` {url}, ``webstream.health`` {url, state}. The
    chain never finishes by itself: with every URL down it plays silence
    (counted as underruns) and keeps retrying with a backoff.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        grace_s: float = 5.0,
        recovery_interval_s: float = 30.0,
        preflight_ms: int = 500,
        preflight_timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        prebuffer_ms: int = 200,
        buffer_ms: int = 5000,
        crossfade_ms: int = 50,
        degraded_window_s: float = 30.0,
        on_event: EventCallback | None = None,
        on_metadata: Callable[[str], None] | None = None,
    ) -> None:
        if not urls:
            raise EngineError("a web stream chain needs at least one URL")
        if len(set(urls)) != len(urls):
            raise EngineError(f"web stream chain lists a URL twice: {list(urls)}")
        if preflight_ms >= buffer_ms:
            raise EngineError(
                f"web stream preflight_ms ({preflight_ms}) must be below buffer_ms ({buffer_ms})"
            )
        self.urls = list(urls)
        self.grace_s = grace_s
        self.recovery_interval_s = recovery_interval_s
        self.degraded_window_s = degraded_window_s
        self._preflight_frames = int(millis_to_frames(Millis(preflight_ms)))
        self._preflight_timeout_s = preflight_timeout_s
        self._source_args: dict[str, Any] = {
            "prebuffer_ms": prebuffer_ms,
            "buffer_ms": buffer_ms,
            "connect_timeout_s": connect_timeout_s,
            "stall_timeout_s": grace_s,
        }
        self._fade = max(1, int(millis_to_frames(Millis(crossfade_ms))))
        self._on_event = on_event
        self._on_metadata = on_metadata
        self._health: dict[str, StreamHealth] = {}
        self._title: str | None = None
        self._error: str | None = None
        # block loop side (guarded by _lock where the monitor hands over)
        self._lock = threading.Lock()
        self._handover: tuple[WebStreamSource | None] | None = None
        self._playing: WebStreamSource | None = None
        self._outgoing: WebStreamSource | None = None
        self._fade_pos = 0
        self._retired: deque[WebStreamSource] = deque()
        self._underruns = 0
        self._position = 0
        # monitor side
        self._on_air: WebStreamSource | None = None
        self._on_air_index: int | None = None
        self._probe: _Preflight | None = None
        self._round: list[int] = list(range(len(self.urls)))
        self._next_attempt_at = 0.0
        self._backoff_s = 1.0
        self._next_recovery_at = 0.0
        self._lost: tuple[str, str] | None = None
        self._seen_underruns = 0
        self._trouble_at = -1e9
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- Source ------------------------------------------------------------

    def start(self) -> None:
        """Start the monitor thread, which connects to the first URL that works."""
        if self._thread is not None or self._closed:
            return
        self._thread = threading.Thread(target=self._monitor, name="web stream chain", daemon=True)
        self._thread.start()

    def read(self, frames: int) -> tuple[Block, int]:
        """The next ``frames`` frames of whichever URL is on air; never waits."""
        out, got = self._read(frames)
        self._count_dry(got, frames)  # a stall on air, or no URL works
        return out, got

    def _read(self, frames: int) -> tuple[Block, int]:
        if self._closed:
            return silence(frames), 0
        if self._handover is not None:
            with self._lock:
                (incoming,) = self._handover
                self._handover = None
                if self._outgoing is not None:
                    self._retired.append(self._outgoing)
                self._outgoing, self._playing, self._fade_pos = self._playing, incoming, 0
        playing, outgoing = self._playing, self._outgoing
        out, got = playing.read(frames) if playing is not None else (silence(frames), 0)
        if outgoing is not None:
            old, old_got = outgoing.read(frames)
            n = min(frames, self._fade - self._fade_pos)
            ramp = (np.arange(self._fade_pos, self._fade_pos + n, dtype=np.float32) + 1) / (
                self._fade + 1
            )
            out[:, :n] = out[:, :n] * ramp + old[:, :n] * (1 - ramp)
            got = max(got, min(old_got, n))
            self._fade_pos += n
            if self._fade_pos >= self._fade:
                self._retired.append(outgoing)
                self._outgoing = None
        self._position += got
        if got < frames and self._position:
            self._underruns += 1
        return out, got

    @property
    def finished(self) -> bool:
        """True only once closed: the chain keeps retrying its URLs."""
        return self._closed

    @property
    def error(self) -> str | None:
        """Why nothing plays, while no URL works; None while one does."""
        return self._error

    @property
    def underruns(self) -> int:
        return self._underruns

    @property
    def position_frames(self) -> int:
        return self._position

    @property
    def duration_frames(self) -> int | None:
        return None

    @property
    def buffered_frames(self) -> int:
        playing = self._playing
        return 0 if playing is None else playing.buffered_frames

    def close(self) -> None:
        """Stop the monitor and close every connection."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        if thread is None or not thread.is_alive():
            self._close_all()

    # -- state -------------------------------------------------------------

    @property
    def on_air_url(self) -> str | None:
        """The URL on air now; None while none works."""
        index = self._on_air_index
        return None if index is None else self.urls[index]

    @property
    def title(self) -> str | None:
        """The ICY ``StreamTitle`` of the URL on air."""
        return self._title

    def health(self) -> dict[str, StreamHealth]:
        """Each URL's health, for the URLs tried so far."""
        return dict(self._health)

    # -- monitor -----------------------------------------------------------

    def _monitor(self) -> None:
        try:
            while not self._stopping.is_set():
                self._tick(time.monotonic())
                while self._retired:
                    self._retired.popleft().close()
                self._stopping.wait(_TICK_S)
        finally:
            self._close_all()

    def _tick(self, now: float) -> None:
        source = self._on_air
        if source is not None:
            if source.failed(now):
                reason = source.error or f"no audio for {source.stalled_for(now):.1f} s"
                self._lose(reason)
            else:
                self._watch_underruns(source, now)
        probe = self._probe
        if probe is not None and probe.done.is_set():
            self._probe = None
            if probe.source is not None:
                self._switch_to(probe.index, probe.source, now)
            else:
                self._set_health(probe.index, StreamHealth.UNHEALTHY)
                if self._on_air is None:
                    self._lost = self._lost or (self.urls[probe.index], probe.reason)
                    self._error = f"web stream: no URL works (last: {probe.reason})"
        if self._probe is None:
            if self._on_air is None and now >= self._next_attempt_at:
                self._probe_next(now)
            elif (
                self._on_air_index is not None
                and self._on_air_index > 0
                and now >= self._next_recovery_at
            ):
                self._next_recovery_at = now + self.recovery_interval_s
                self._start_probe(0)

    def _lose(self, reason: str) -> None:
        """The URL on air failed: take it off air and line the others up, it last."""
        index = self._on_air_index
        if index is None:
            return
        self._set_health(index, StreamHealth.UNHEALTHY)
        self._lost = (self.urls[index], reason)
        self._on_air, self._on_air_index = None, None
        self._hand_over(None)
        self._round = [i for i in range(len(self.urls)) if i != index] + [index]
        self._backoff_s = 1.0

    def _probe_next(self, now: float) -> None:
        if not self._round:
            self._next_attempt_at = now + self._backoff_s
            self._backoff_s = min(self._backoff_s * 2, _MAX_BACKOFF_S)
            self._round = list(range(len(self.urls)))
            return
        self._start_probe(self._round.pop(0))

    def _start_probe(self, index: int) -> None:
        url = self.urls[index]
        source = WebStreamSource(
            url, on_metadata=lambda title: self._title_from(index, title), **self._source_args
        )
        self._probe = _Preflight(index, source, self._preflight_frames, self._preflight_timeout_s)

    def _switch_to(self, index: int, source: WebStreamSource, now: float) -> None:
        previous = self._on_air_index
        self._on_air, self._on_air_index = source, index
        self._hand_over(source)
        self._error = None
        self._seen_underruns, self._trouble_at = 0, -1e9
        self._round = list(range(len(self.urls)))
        self._set_health(index, StreamHealth.HEALTHY)
        url = self.urls[index]
        if index == 0:
            if self._lost is not None or previous is not None:
                self._emit("webstream.recovered", {"url": url})
        else:
            self._next_recovery_at = now + self.recovery_interval_s
            old_url, reason = self._lost or (self.urls[previous or 0], "replaced")
            self._emit("webstream.failover", {"from": old_url, "to": url, "reason": reason})
        self._lost = None
        if source.title is not None:
            self._title_from(index, source.title)

    def _hand_over(self, source: WebStreamSource | None) -> None:
        with self._lock:
            if self._handover is not None and self._handover[0] is not None:
                self._retired.append(self._handover[0])  # never reached the block loop
            self._handover = (source,)

    def _watch_underruns(self, source: WebStreamSource, now: float) -> None:
        if source.underruns > self._seen_underruns:
            self._seen_underruns = source.underruns
            self._trouble_at = now
        degraded = now - self._trouble_at < self.degraded_window_s
        state = StreamHealth.DEGRADED if degraded else StreamHealth.HEALTHY
        if self._on_air_index is not None:
            self._set_health(self._on_air_index, state)

    def _set_health(self, index: int, state: StreamHealth) -> None:
        url = self.urls[index]
        if self._health.get(url) is state:
            return
        self._health[url] = state
        self._emit("webstream.health", {"url": url, "state": state.value})

    def _title_from(self, index: int, title: str) -> None:
        if index != self._on_air_index:
            return
        self._title = title
        if self._on_metadata is not None:
            self._on_metadata(title)

    def _emit(self, kind: WebStreamEventType, data: dict[str, Any]) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(kind, data)
        except Exception as exc:  # NOTE: a listener's bug must not stop the failover
            self._error = f"web stream: the event callback failed on {kind}: {exc!r}"

    def _close_all(self) -> None:
        probe = self._probe
        if probe is not None:
            probe.cancel()
            probe.done.wait(timeout=1.0)
            if probe.source is not None:
                probe.source.close()
        for source in (self._on_air, self._playing, self._outgoing, *self._retired):
            if source is not None:
                source.close()
        self._retired.clear()
