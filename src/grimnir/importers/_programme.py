"""Programming: playlists with their items, AzuraCast schedules as shows and the
general rotation as the station's ``default`` clock; each through our programming
services (LibreTime's shows are ``_shows``)."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import SlotKind, Timing
from grimnir.importers._mapping import clock_layout, general_rotation, rotation_of
from grimnir.importers._recurrence import schedule_rule
from grimnir.importers._run import Run
from grimnir.importers.model import Finding, Media, Playlist, PlaylistEntry
from grimnir.importers.plan import DEFAULT_ROTATION_KEY, PlanRow
from grimnir.services.programming.clocks import create_clock
from grimnir.services.programming.playlists import create_playlist, replace_items
from grimnir.services.programming.shows import create_show
from grimnir.store.models import Playlist as PlaylistRow
from grimnir.store.models import Show as ShowRow
from grimnir.store.models import ShowContent


async def free_name(session: AsyncSession, station_id: uuid.UUID, name: str) -> str:
    """``name``, or ``name (2)``… when the station has a show of that name."""
    candidate, n = name, 1
    while await session.scalar(
        select(ShowRow.id).where(ShowRow.station_id == station_id, ShowRow.name == candidate)
    ):
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def overrides_of(entry: PlaylistEntry, media: Media | None) -> dict[str, Any]:
    """The item's overrides: its weight, its own cue points (LibreTime), its own
    fades or else the track's."""
    out: dict[str, Any] = {}
    if entry.weight > 0 and entry.weight != 1.0:
        out["weight"] = float(entry.weight)
    cue_in, cue_out = entry.cue_in_ms, entry.cue_out_ms
    if cue_in is not None and cue_in >= 0 and (cue_out is None or cue_out > cue_in):
        out["cue_in_ms"] = cue_in
    if cue_out is not None and cue_out > max(cue_in or 0, 0):
        out["cue_out_ms"] = cue_out
    fade_in, fade_out = entry.fade_in_ms, entry.fade_out_ms
    if media is not None:
        fade_in = media.fade_in_ms if fade_in is None else fade_in
        fade_out = media.fade_out_ms if fade_out is None else fade_out
    if fade_in is not None and fade_in >= 0:
        out["fade_in_ms"] = fade_in
    if fade_out is not None and fade_out >= 0:
        out["fade_out_ms"] = fade_out
    return out


def _items(run: Run, playlist: Playlist) -> tuple[list[tuple[uuid.UUID, dict[str, Any]]], int]:
    """(media id, overrides) of the entries whose media came over; how many did not."""
    media = {m.key: m for m in run.snapshot.media}
    items, missing = [], 0
    for entry in playlist.entries:
        media_id = run.ledger.find("media", entry.media_key)
        if media_id is None:
            missing += 1
            continue
        items.append((media_id, overrides_of(entry, media.get(entry.media_key))))
    return items, missing


async def playlist_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """Playlists: order (sequential, else shuffled), rotation, jingle, weighted items."""
    out, station_id = [], run.station()
    for playlist in run.snapshot.playlists:
        if run.ledger.find("playlist", playlist.key) is not None:
            out.append(run.done("playlist", playlist.key, playlist.name, "exists"))
            continue
        twin = await session.scalar(
            select(PlaylistRow.id).where(
                PlaylistRow.station_id == station_id, PlaylistRow.name == playlist.name
            )
        )
        if twin is not None:
            run.ledger.add(session, "playlist", playlist.key, "playlists", twin, created=False)
            out.append(run.done("playlist", playlist.key, playlist.name, "exists"))
            continue
        row = await create_playlist(
            session,
            station_id,
            name=playlist.name,
            description=playlist.description or "",
            shuffle=playlist.order != "sequential",
            rotation=rotation_of(playlist),
            jingle=playlist.jingle,
        )
        items, missing = _items(run, playlist)
        await replace_items(session, row, items)
        if missing:
            run.findings.append(
                Finding(
                    "playlist",
                    playlist.name,
                    f"{missing} of its {len(playlist.entries)} tracks did not come over (see "
                    "the media findings): the playlist has the others",
                    skipped=False,
                )
            )
        run.ledger.add(session, "playlist", playlist.key, "playlists", row.id, created=True)
        out.append(
            run.done("playlist", playlist.key, playlist.name, "create", f"{len(items)} items")
        )
    return out


async def schedule_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """AzuraCast schedules: a show per schedule whose content is the playlist."""
    out, station_id = [], run.station()
    tz = ZoneInfo(run.plan.timezone)
    for playlist in run.snapshot.playlists:
        for n, schedule in enumerate(playlist.schedules, 1):
            key = f"{playlist.key}/{schedule.key}"
            if run.ledger.find("schedule", key) is not None:
                out.append(run.done("schedule", key, playlist.name, "exists"))
                continue
            playlist_id = run.ledger.find("playlist", playlist.key)
            if playlist_id is None:
                out.append(
                    run.done(
                        "schedule", key, playlist.name, "skip", "its playlist did not come over"
                    )
                )
                continue
            rule = schedule_rule(schedule, tz)
            name = playlist.name if len(playlist.schedules) == 1 else f"{playlist.name} {n}"
            show = await create_show(
                session,
                station_id,
                {
                    "name": await free_name(session, station_id, name),
                    "description": f"AzuraCast schedule of the playlist {playlist.name!r}",
                    "rrule": rule.rrule,
                    "dtstart": rule.dtstart,
                    "duration_ms": rule.duration_ms,
                    "enabled": playlist.enabled,
                    "content": ShowContent.PLAYLIST,
                    "playlist_id": playlist_id,
                },
            )
            run.ledger.add(session, "schedule", key, "shows", show.id, created=True)
            out.append(run.done("schedule", key, playlist.name, "create", rule.rrule))
    return out


async def clock_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """The general rotation as the station's ``default`` clock (every hour no show
    claims): the hour shared by weight, the once-per playlists' short slots in it."""
    rotation = general_rotation(run.snapshot)
    action = run.action("clock", DEFAULT_ROTATION_KEY)
    names = ", ".join(p.name for p in rotation)
    if not rotation or action is None:
        return []
    if action != "create" or run.ledger.find("clock", DEFAULT_ROTATION_KEY) is not None:
        return [run.done("clock", DEFAULT_ROTATION_KEY, "default", action, names)]
    ids = {p.key: run.ledger.find("playlist", p.key) for p in rotation}
    layout = clock_layout(rotation, {key for key, found in ids.items() if found is not None})
    slots = [
        {
            "name": slot.playlist.name,
            "offset_ms": slot.offset_ms,
            "duration_ms": slot.duration_ms,
            "kind": SlotKind.PLAYLIST,
            "timing": Timing.SOFT,
            "playlist_id": ids[slot.playlist.key],
        }
        for slot in layout.slots
    ]
    if not slots:
        return [run.done("clock", DEFAULT_ROTATION_KEY, "default", "skip", "no playlist came over")]
    clock = await create_clock(
        session,
        run.station(),
        name="default",
        description="AzuraCast's general rotation: each playlist a share of the hour by "
        "weight, each once-per playlist a short slot where its rotation lets it air",
        slots=slots,
    )
    run.ledger.add(session, "clock", DEFAULT_ROTATION_KEY, "clocks", clock.id, created=True)
    return [run.done("clock", DEFAULT_ROTATION_KEY, "default", "create", layout.summary())]
