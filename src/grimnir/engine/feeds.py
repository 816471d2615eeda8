"""Timeline items that are feeds, not files: relayed web streams, RTP and SRT inputs.

An item whose path is a URL becomes one of these sources. A feed has no length
of its own: the item's cue-out gives it its slot (``TimedSource``), or it
plays until skipped or stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from grimnir.config.station import Failover
from grimnir.domain.errors import EngineError
from grimnir.domain.units import Millis, millis_to_frames
from grimnir.engine.events import EventType, WebStreamEventType
from grimnir.engine.sources import RtpSource, Source, SrtSource, TimedSource, WebStreamChain
from grimnir.engine.voice import PlayItem

Announce = Callable[[EventType, dict[str, Any]], None]


def make_stream(item: PlayItem, failover: Failover, announce: Announce) -> Source:
    """A relayed web stream: the item's URL first, then ``meta["backup_urls"]``.

    Failover, recovery and the stream's own titles come out through
    ``announce`` as engine events carrying the item id.
    """
    backups = [str(url) for url in item.meta.get("backup_urls", ()) if url != item.path]

    def on_event(kind: WebStreamEventType, data: dict[str, Any]) -> None:
        announce(kind, {"item_id": item.item_id, **data})

    def on_title(title: str) -> None:
        announce("stream.title", {"item_id": item.item_id, "title": title})

    chain = WebStreamChain(
        [item.path, *backups],
        grace_s=float(item.meta.get("grace_sec", failover.live_grace_sec or 5.0)),
        on_event=on_event,
        on_metadata=on_title,
    )
    return _slot(item, chain)


def make_contribution(item: PlayItem) -> Source:
    """An RTP or SRT contribution feed we listen for.

    ``rtp://[HOST]:PORT`` (``meta["sdp"]`` for dynamic payloads such as Opus)
    or ``srt://[HOST]:PORT`` (``meta["passphrase"]``, ``meta["latency_ms"]``).
    """
    parts = urlsplit(item.path)
    if parts.port is None:
        raise EngineError(f"{item.path}: give the port to listen on, e.g. srt://:9000")
    inner: Source
    if parts.scheme == "rtp":
        sdp = item.meta.get("sdp")
        host = parts.hostname or "0.0.0.0"  # noqa: S104 - contributions come from outside
        inner = RtpSource(parts.port, sdp=None if sdp is None else str(sdp), host=host)
    else:
        latency = item.meta.get("latency_ms")
        passphrase = item.meta.get("passphrase")
        inner = SrtSource(
            parts.port,
            host=parts.hostname or "",
            latency_ms=None if latency is None else int(latency),
            passphrase=None if passphrase is None else str(passphrase),
        )
    return _slot(item, inner)


def _slot(item: PlayItem, source: Source) -> Source:
    if item.cue.cue_out is None:
        return source
    length = int(item.cue.cue_out) - int(item.cue.cue_in)
    return TimedSource(source, int(millis_to_frames(Millis(length))))
