"""The ``EngineClient`` interface: what the control plane may ask of one station's engine.

Two implementations pass one contract suite (``tests/engine/test_engine_contract.py``):
``GrpcEngineClient`` talks to an engine process, ``InProcessEngineClient``
to an engine in the same process. Errors are ours on both: ``NotFoundError``
(wrong station, missing file, unknown mount), ``ConflictError`` and
``EngineError`` (refused, unreachable, or failed).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Protocol

from grimnir.domain.fades import FadeCurve
from grimnir.engine.v1.status import StatusReport
from grimnir.engine.v1.types import EngineEventRecord, MediaAnalysis, PlayRequest


class EngineClient(Protocol):
    """Async control of one station's media engine."""

    @property
    def station_id(self) -> str: ...

    async def load_graph(self, graph: Mapping[str, Any]) -> None:
        """Replace the DSP graph (the ``dsp_graph`` section of a station config).

        A bad graph raises ``EngineError`` with one line per problem; the
        engine keeps running its old graph.
        """

    async def play(self, item: PlayRequest, *, layer: str = "automation") -> None:
        """Queue ``item`` (``layer="emergency"``: play it at once on the emergency layer)."""

    async def stop(
        self, layer: str = "automation", fade_ms: int = 20, clear_queue: bool = True
    ) -> None:
        """Fade out what plays on ``layer`` (and drop its queue)."""

    async def fade(
        self,
        layer: str = "automation",
        duration_ms: int = 3000,
        curve: FadeCurve = FadeCurve.LINEAR,
    ) -> None:
        """Fade out the current item over ``duration_ms``; the queue follows."""

    async def skip(self, layer: str = "automation", fade_ms: int = 20) -> None:
        """End the current item; the next queued item starts."""

    async def unqueue(self, item_ids: Sequence[str], layer: str = "automation") -> None:
        """Drop queued items that have not started (ids not queued are ignored); the
        item on air is never touched. Applied at the next block boundary."""

    async def insert_emergency(self, item: PlayRequest) -> None:
        """Play ``item`` now on the emergency layer (it pre-empts everything)."""

    async def route_live(self, mount: str | None) -> None:
        """Put harbor ``mount`` on the live layer (None: take live off air)."""

    async def kick_live(self, mount: str) -> None:
        """Disconnect the DJ on harbor ``mount`` (NotFoundError: nobody is connected)."""

    async def set_metadata(
        self, title: str, artist: str = "", extra: Mapping[str, str] | None = None
    ) -> None:
        """Now-playing text for the outputs."""

    async def set_fallback(self, items: Sequence[PlayRequest]) -> None:
        """Replace the fallback rotation: what the engine plays, in this order and looped,
        whenever the programme has nothing (no item playing, none due within 500 ms).

        Before the station's ``fallback_paths`` and ``emergency_audio_path``. It
        takes over at the next fallback item boundary (the item on air plays
        on); an empty sequence clears it. Items carry no ``start_at`` and are
        soft (``EngineError`` otherwise); title, artist and ``meta`` come back
        in their ``item.started`` events (layer ``fallback``, ``meta["fallback"]``
        = ``"rotation"``), cue points, gain and fades apply. A file that cannot
        be played is skipped when its turn comes (``source.error``).
        """

    async def status(self) -> StatusReport:
        """What plays, what is queued, output states and more (``StatusReport``)."""

    def events(
        self, *, include_telemetry: bool = False, since_frame: int | None = None
    ) -> AsyncGenerator[EngineEventRecord, None]:
        """Engine events as they happen; the first is always ``subscribed``.

        With ``since_frame`` the engine's journal from that frame on comes first
        (right after ``subscribed``, in order): what aired while the caller was
        away. Stop iterating (or cancel the task) to unsubscribe.
        """

    def telemetry(self) -> AsyncGenerator[dict[str, Any], None]:
        """One telemetry record a second (with ``frame`` and UTC ``time``)."""

    async def analyze_media(self, path: str, target_lufs: float = -16.0) -> MediaAnalysis:
        """Loudness and cue points of a file the engine can read."""

    async def generate_waveform(self, path: str, points: int) -> list[tuple[float, float]]:
        """``points`` (min, max) pairs over the whole file, for drawing."""

    async def close(self) -> None:
        """Release the connection (the engine keeps running)."""
