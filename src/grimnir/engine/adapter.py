"""Requests in client terms → the engine's own objects (PlayItem, DspGraph).

Shared by the gRPC server and ``InProcessEngineClient`` so both refuse the
same requests with the same words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from grimnir.config import DspGraph
from grimnir.config.documents import data_problems
from grimnir.domain.errors import EngineError
from grimnir.engine.control import Metadata
from grimnir.engine.mixing.automation import PlayItem
from grimnir.engine.v1.timebase import Timebase
from grimnir.engine.v1.types import PlayRequest


def to_play_item(request: PlayRequest, timebase: Timebase) -> PlayItem:
    """The engine item for ``request`` (its UTC ``start_at`` becomes an engine frame)."""
    return PlayItem(
        item_id=request.item_id,
        path=request.path,
        start_at=None if request.start_at is None else timebase.frame_at(request.start_at),
        timing=request.timing,
        cue=request.cue,
        gain_db=request.gain_db,
        fade_in_ms=request.fade_in_ms,
        fade_out_ms=request.fade_out_ms,
        curve=request.curve,
        title=request.title,
        artist=request.artist,
        analyze=request.analyze,
        meta=dict(request.meta),
    )


def fallback_items(requests: Sequence[PlayRequest], timebase: Timebase) -> list[PlayItem]:
    """The engine items of a fallback rotation (the engine refuses a ``start_at``)."""
    return [to_play_item(request, timebase) for request in requests]


def parse_graph(graph: str | Mapping[str, Any]) -> DspGraph:
    """Validate a ``dsp_graph`` section (JSON text or data).

    Raises ``EngineError`` with one line per problem, each naming the key
    (``dsp_graph.nodes[0].ratio: must be ≥ 1 (got 0.5)``).
    """
    if isinstance(graph, str):
        try:
            data: Any = json.loads(graph) if graph.strip() else {}
        except json.JSONDecodeError as exc:
            raise EngineError(f"dsp_graph is not valid JSON: {exc}") from None
    else:
        data = graph
    if not isinstance(data, Mapping):
        raise EngineError('dsp_graph must be a mapping such as {"nodes": [...]}')
    try:
        return DspGraph.model_validate(data)
    except ValidationError as exc:
        problems = data_problems(exc, data, DspGraph)
        lines = [f"dsp_graph.{path}: {message}" for path, message in problems]
        count = len(lines)
        plural = "" if count == 1 else "s"
        head = f"dsp_graph refused ({count} problem{plural}); the old graph keeps running"
        raise EngineError("\n".join([head, *lines])) from None


def metadata(title: str, artist: str, extra: Mapping[str, str] | None) -> Metadata:
    return Metadata(title=title, artist=artist, extra=dict(extra or {}))
