"""Items that are feeds, not files: relayed web streams, RTP and SRT inputs.

An item whose path is a URL (``FEED_SCHEMES``) becomes one of these sources,
by its scheme (``open_feed``). A feed has no length of its own: the item's
cue-out gives it its slot (``TimedSource``), or it plays until skipped or
stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from grimnir.domain.errors import EngineError
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.events import EventType, WebStreamEventType
from grimnir.engine.sources._base import Source
from grimnir.engine.sources._network import RtpSource, SrtSource
from grimnir.engine.sources._timed import TimedSource
from grimnir.engine.sources._webchain import WebStreamChain

Announce = Callable[[EventType, dict[str, Any]], None]
"""How a feed's events reach the engine (``Engine.announce``)."""

STREAM_SCHEMES: Final = ("http://", "https://")
"""Relayed web streams (Icecast, Shoutcast, HLS…)."""
CONTRIBUTION_SCHEMES: Final = ("rtp://", "srt://")
"""Contribution feeds we listen for."""
FEED_SCHEMES: Final = STREAM_SCHEMES + CONTRIBUTION_SCHEMES


def is_feed(path: str) -> bool:
    """Whether an item's ``path`` names a feed rather than a file."""
    return path.startswith(FEED_SCHEMES)


def open_feed(
    path: str,
    *,
    item_id: str,
    meta: Mapping[str, Any],
    cue_in_ms: int = 0,
    cue_out_ms: int | None = None,
    grace_s: float = 5.0,
    announce: Announce,
) -> Source:
    """The source for the feed ``path`` (``EngineError`` when it names none).

    A web stream tries ``path`` first, then ``meta["backup_urls"]``; its
    failover, recovery and titles come out through ``announce`` as engine
    events carrying ``item_id`` (``meta["grace_sec"]`` overrides ``grace_s``).
    ``rtp://[HOST]:PORT`` (``meta["sdp"]`` for dynamic payloads such as Opus)
    or ``srt://[HOST]:PORT`` (``meta["passphrase"]``, ``meta["latency_ms"]``)
    is a contribution we listen for. With ``cue_out_ms`` the feed plays that
    slot, from ``cue_in_ms``.
    """
    source: Source
    if path.startswith(STREAM_SCHEMES):
        source = _stream(path, item_id, meta, grace_s, announce)
    elif path.startswith(CONTRIBUTION_SCHEMES):
        source = _contribution(path, meta)
    else:
        raise EngineError(f"{path}: not a feed (use {', '.join(FEED_SCHEMES)})")
    if cue_out_ms is None:
        return source
    return TimedSource(source, int(millis_to_frames(Millis(cue_out_ms - cue_in_ms))))


def _stream(
    path: str, item_id: str, meta: Mapping[str, Any], grace_s: float, announce: Announce
) -> Source:
    backups = [str(url) for url in meta.get("backup_urls", ()) if url != path]

    def on_event(kind: WebStreamEventType, data: dict[str, Any]) -> None:
        announce(kind, {"item_id": item_id, **data})

    def on_title(title: str) -> None:
        announce("stream.title", {"item_id": item_id, "title": title})

    return WebStreamChain(
        [path, *backups],
        grace_s=float(meta.get("grace_sec", grace_s)),
        on_event=on_event,
        on_metadata=on_title,
    )


def _contribution(path: str, meta: Mapping[str, Any]) -> Source:
    parts = urlsplit(path)
    if parts.port is None:
        raise EngineError(f"{path}: give the port to listen on, e.g. srt://:9000")
    if parts.scheme == "rtp":
        sdp = meta.get("sdp")
        host = parts.hostname or "0.0.0.0"  # noqa: S104 - contributions come from outside
        return RtpSource(parts.port, sdp=None if sdp is None else str(sdp), host=host)
    latency = meta.get("latency_ms")
    passphrase = meta.get("passphrase")
    return SrtSource(
        parts.port,
        host=parts.hostname or "",
        latency_ms=None if latency is None else int(latency),
        passphrase=None if passphrase is None else str(passphrase),
    )
