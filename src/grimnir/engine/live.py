"""The live layer: the DJ routed on air (a harbor mount, …), one source at a time.

Like the other layers it is a child of the layer switch (``LayerPlayer``):
the engine asks it for a block and whether it holds the air, and the mixer
decides. What it owns is the session: when it starts (the DJ's audio first
flows), the grace a dropout or a reconnect gets, and when it ends.
"""

from __future__ import annotations

from collections.abc import Callable

from grimnir.engine.audio import BLOCK, HOLD_FRAMES, Block
from grimnir.engine.events import EngineEvent
from grimnir.engine.sources import Source

LIVE_HOLD_FRAMES = HOLD_FRAMES
"""A live source holds the air this long after its audio last arrived (100 ms: network
jitter), then automation takes it back while the DJ has ``live_grace_sec`` to return."""


class LivePlayer:
    """Plays the routed live source and keeps its session (block loop thread only).

    The air is held only while the DJ's audio flows: the moment it stops (a
    dropout, a disconnect) the layer lets go, and what plays underneath
    (automation) is audible again within the layer fade. The session lasts: a
    DJ whose audio returns (or who reconnects) within ``grace_frames`` takes the
    air back; after that a disconnected source is dropped, and a connected one
    that stays quiet for ``timeout_frames`` too. Events: ``live.started``
    {mount} when the audio first flows, ``live.ended`` {mount, reason}.
    """

    def __init__(
        self, emit: Callable[[EngineEvent], None], *, grace_frames: int, timeout_frames: int
    ) -> None:
        self._emit = emit
        self._grace = grace_frames
        self._timeout = timeout_frames
        self.source: Source | None = None
        """The routed source (None: no DJ routed)."""
        self.label = ""
        """What names the source in events (the harbor mount)."""
        self._heard: int | None = None
        """Engine frame after the live source's last real audio (None: none yet)."""
        self._holds_air = False

    def route(self, source: Source | None, label: str, frame: int) -> None:
        """Put ``source`` on the layer at ``frame`` (None takes the routed one off at once).

        A source replacing one that is still holding the air (a DJ reconnecting
        within the grace time) keeps the session, and so the air, without a switch.
        """
        if self.source is not None:
            self.source.close()
            if source is None:
                self._end("routed_off", frame, close=False)
        self.source = source
        self.label = label
        if source is not None:
            source.start()

    @property
    def active(self) -> bool:
        """True while a source is routed (in session, or waiting for its audio)."""
        return self.source is not None

    @property
    def holds_air(self) -> bool:
        """Whether the DJ held the air in the block ``render`` gave last."""
        return self._holds_air

    def render(self, frame0: int, n: int, *, steady: bool = False) -> Block | None:
        """The live audio for ``[frame0, frame0 + n)`` (None: no source routed).

        ``n`` is one block, or with ``steady`` as many as ``steady_blocks`` said
        the DJ holds the air throughout as it is (offline spans).
        """
        live = self.source
        if live is None:
            self._holds_air = False
            return None
        block, real = live.read(n)
        if steady:  # NOTE: flowing throughout: no session rule can apply
            self._heard = frame0 + real
            self._holds_air = True
            return block
        if real > 0:
            if self._heard is None:
                self._emit(EngineEvent("live.started", frame0, {"mount": self.label}))
            self._heard = frame0 + real
        heard = self._heard
        gap = BLOCK if heard is None else frame0 + BLOCK - heard
        if live.finished and (heard is None or gap >= self._grace):
            self._end("error" if live.error else "disconnected", frame0)
            self._holds_air = False
        elif heard is None:
            self._holds_air = False
        elif gap >= self._timeout:
            self._end("timeout", frame0)
            self._holds_air = False
        else:
            self._holds_air = gap < LIVE_HOLD_FRAMES
        return block

    def steady_blocks(self, frame0: int) -> int | None:
        """Blocks from ``frame0`` in which the DJ surely holds the air as now (offline spans).

        None: no source routed. A DJ whose audio flowed in the last block whole and
        is known to go on flowing (``steady_frames``: scripted feeds) holds it as it
        is; otherwise 0.
        """
        live = self.source
        if live is None:
            return None
        if self._heard != frame0 or live.finished or live.dry_frames:
            return 0
        return live.steady_frames // BLOCK

    def close(self) -> None:
        if self.source is not None:
            self.source.close()

    def _end(self, reason: str, frame: int, *, close: bool = True) -> None:
        if close and self.source is not None:
            self.source.close()
            self.source = None
        if self._heard is not None:
            self._emit(EngineEvent("live.ended", frame, {"mount": self.label, "reason": reason}))
        self._heard = None
