"""Moving a relayed web stream that is on air to another of its URLs.

The engine's web stream chain fails over by itself when a URL stalls; an
operator who hears a bad (but not silent) stream needs to force it. The
engine has no command for that, so the control plane does it with the ones
it has: it sends the rest of the entry's slot again as a new item whose
chain starts at the chosen URL (the others follow as its backups), next
in the queue, and skips the item on air (a short fade). The new chain
checks the URL before it goes on air (failing over again if it is dead).
The as-run log gets one row per URL segment, each linked to the entry; the
new item's id is ``relay-<entry id>-<url index>-<nonce>``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request

from grimnir.api.auth import StationScope, context
from grimnir.api.problems import Problem
from grimnir.api.routes._playout_common import entry_id_of, load_entry
from grimnir.bus import Event
from grimnir.domain import CuePoints, EntryKind, Millis
from grimnir.engine.client import PlayRequest
from grimnir.executor.asrun import RELAY_PREFIX
from grimnir.executor.station import StationExecutor
from grimnir.store.models import TimelineEntry, Webstream

CUT_FADE_MS = 300


def on_air_index(executor: StationExecutor, item_id: str, urls: list[str]) -> int:
    """Which of ``urls`` the item's chain plays now (its own failovers included)."""
    url = executor.stream_urls.get(item_id)
    if url in urls:
        return urls.index(url)
    if item_id.startswith(RELAY_PREFIX):
        parts = item_id[len(RELAY_PREFIX) + 37 :].split("-")
        if parts and parts[0].isdigit() and int(parts[0]) < len(urls):
            return int(parts[0])
    return 0


async def stream_on_air(
    request: Request, scope: StationScope, executor: StationExecutor, stream: Webstream
) -> tuple[str, TimelineEntry] | None:
    """(engine item id, timeline entry) of ``stream`` if it plays on automation now."""
    current = executor.current
    if current is None:
        return None
    entry = await load_entry(request, scope.station.id, entry_id_of(current))
    if entry is None or entry.kind is not EntryKind.WEBSTREAM or entry.webstream_id != stream.id:
        return None
    return current, entry


async def switch_to(
    request: Request,
    scope: StationScope,
    executor: StationExecutor,
    stream: Webstream,
    playing: tuple[str, TimelineEntry],
    index: int,
    reason: str,
) -> str:
    """Put URL ``index`` of ``stream`` on air for the rest of the entry's slot."""
    item_id, entry = playing
    urls = list(stream.urls)
    now = executor.clock()
    left = round((entry.ends_at - now) / timedelta(milliseconds=1))
    if left <= 0:
        raise Problem(409, f"web stream {stream.name!r} is at the end of its slot: nothing to move")
    order = urls[index:] + urls[:index]
    new_id = f"{RELAY_PREFIX}{entry.id}-{index}-{uuid.uuid4().hex[:8]}"
    play = PlayRequest(
        item_id=new_id,
        path=order[0],
        cue=CuePoints(cue_out=Millis(left)),
        fade_in_ms=CUT_FADE_MS,
        fade_out_ms=entry.fade_out_ms,
        title=entry.title or stream.name,
        artist=entry.artist or "",
        gain_db=entry.gain_db,
        meta={
            "entry_id": str(entry.id),
            "kind": EntryKind.WEBSTREAM.value,
            "backup_urls": order[1:],
        },
    )
    await executor.insert(play)
    await executor.skip(CUT_FADE_MS)
    was = urls[on_air_index(executor, item_id, urls)]
    kind = "webstream.recovered" if index == 0 else "webstream.failover"
    data = {"item_id": new_id, "from": was, "to": order[0], "url": order[0], "reason": reason}
    await context(request).bus.publish(Event(kind, str(scope.station.id), now, data))
    return new_id


async def failover_now(
    request: Request, scope: StationScope, executor: StationExecutor, stream: Webstream
) -> tuple[str, str]:
    """Move ``stream`` on air to its next URL: (new item id, the URL now on air)."""
    playing = await stream_on_air(request, scope, executor, stream)
    if playing is None:
        raise Problem(
            409,
            f"web stream {stream.name!r} is not playing now: failover only moves a stream "
            "that is on air (reset clears its health)",
        )
    urls = list(stream.urls)
    if len(urls) < 2:
        raise Problem(409, f"web stream {stream.name!r} has one URL: add a backup URL first")
    index = (on_air_index(executor, playing[0], urls) + 1) % len(urls)
    reason = f"forced by {scope.principal.username}"
    new_id = await switch_to(request, scope, executor, stream, playing, index, reason)
    return new_id, urls[index]
