"""LibreTime shows: their repeat rule as an RRULE on the station's wall clock, what
fills them, their host, and the occurrences edited there as show exceptions
(cancelled, moved, other content; tracks placed by hand into one occurrence
become a playlist of its own that the occurrence plays)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ShowExceptionKind
from grimnir.importers._recurrence import show_rule
from grimnir.importers._run import Run
from grimnir.importers.model import Finding, Show, ShowInstance
from grimnir.importers.plan import PlanRow
from grimnir.services.programming.exceptions import add_exception
from grimnir.services.programming.playlists import create_playlist, replace_items
from grimnir.services.programming.shows import create_show
from grimnir.store.models import Playlist as PlaylistRow
from grimnir.store.models import Show as ShowRow
from grimnir.store.models import ShowContent

_KINDS = {
    "playlists": (ShowContent.PLAYLIST, "playlist_id"),
    "smart_blocks": (ShowContent.SMART_BLOCK, "smart_block_id"),
    "webstreams": (ShowContent.WEBSTREAM, "webstream_id"),
}
"""What fills a show, by the table the content came over into (a static smart
block came over as a playlist)."""


def _content(run: Run, keys: list[str], live: bool) -> dict[str, Any]:
    """A show's content columns from the first of ``keys`` that came over."""
    if live:
        return {"content": ShowContent.LIVE}
    for key in keys:
        for part in ("playlist", "smart_block", "webstream"):
            known = run.ledger.known.get((part, key))
            if known is not None and known.table_name in _KINDS:
                kind, column = _KINDS[known.table_name]
                return {"content": kind, column: known.row_id}
    # NOTE: a clock show without a clock: the default rotation fills it
    return {"content": ShowContent.CLOCK}


async def _placed(
    run: Run, session: AsyncSession, show: Show, instance: ShowInstance, tz: ZoneInfo
) -> dict[str, Any]:
    """What was placed by hand into the occurrence, as content: a playlist of its
    tracks in order (made here, recorded as this import's), else its web stream."""
    tracks = [run.ledger.find("media", i.key) for i in instance.scheduled if i.kind == "media"]
    found = [t for t in tracks if t is not None]
    streams = [i.key for i in instance.scheduled if i.kind == "webstream"]
    when = instance.occurrence_start.astimezone(tz)
    if not found:
        return _content(run, streams, False) if streams else {}
    if streams or len(found) < len(tracks):
        run.findings.append(
            Finding(
                "show",
                show.name,
                f"the occurrence of {when:%Y-%m-%d %H:%M} plays its {len(found)} track(s) "
                f"placed by hand; {len(streams)} web stream(s) and "
                f"{len(tracks) - len(found)} missing track(s) among them are left out",
                skipped=False,
            )
        )
    name, n = f"{show.name} {when:%Y-%m-%d %H:%M}", 1
    while await session.scalar(
        select(PlaylistRow.id).where(
            PlaylistRow.station_id == run.station(), PlaylistRow.name == name
        )
    ):
        n += 1
        name = f"{show.name} {when:%Y-%m-%d %H:%M} ({n})"
    row = await create_playlist(
        session,
        run.station(),
        name=name,
        description=f"placed by hand into one occurrence of {show.name!r} in LibreTime",
        shuffle=False,
        rotation={"type": "default"},
        jingle=False,
    )
    await replace_items(session, row, [(t, {}) for t in found])
    key = f"{show.key}@{instance.occurrence_start.isoformat()}"
    run.ledger.add(session, "occurrence", key, "playlists", row.id, created=True)
    return {"content": ShowContent.PLAYLIST, "playlist_id": row.id}


async def _exceptions(
    run: Run, session: AsyncSession, show: Show, row: ShowRow, tz: ZoneInfo
) -> None:
    for instance in show.instances:
        sub: dict[str, Any] = {}
        if instance.cancelled:
            kind = ShowExceptionKind.CANCEL
        elif instance.new_start is not None:
            kind = ShowExceptionKind.MOVE
        elif instance.content_keys:
            kind = ShowExceptionKind.SUBSTITUTE
            sub = _content(run, instance.content_keys, False)
        elif instance.scheduled and (sub := await _placed(run, session, show, instance, tz)):
            kind = ShowExceptionKind.SUBSTITUTE
        else:
            continue
        await add_exception(
            session,
            row,
            occurrence_start=instance.occurrence_start,
            kind=kind,
            new_start=instance.new_start,
            new_duration_ms=instance.new_duration_ms if kind is ShowExceptionKind.MOVE else None,
            substitute={k: str(v) for k, v in sub.items()},
            note="edited in LibreTime",
        )


async def show_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """LibreTime shows: their repeat rule as an RRULE, their content, host and edited
    occurrences (cancelled, moved, other content) as exceptions."""
    out, station_id = [], run.station()
    tz = ZoneInfo(run.plan.timezone)
    for show in run.snapshot.shows:
        known = run.ledger.find("show", show.key) is not None
        if known or run.action("show", show.key) != "create":
            out.append(run.done("show", show.key, show.name, "exists"))
            continue
        rule = show_rule(show, tz)
        host = next((h for k in show.host_keys if (h := run.ledger.find("user", k))), None)
        content = _content(run, show.content_keys, show.live)
        if show.content_keys and content["content"] is ShowContent.CLOCK:
            run.findings.append(
                Finding(
                    "show",
                    show.name,
                    "none of its content came over: the default rotation fills it",
                    skipped=False,
                )
            )
        row = await create_show(
            session,
            station_id,
            {
                "name": show.name,
                "description": show.description or "",
                "rrule": rule.rrule,
                "dtstart": rule.dtstart,
                "duration_ms": rule.duration_ms,
                "host_user_id": host,
                **content,
            },
        )
        await session.flush()
        await _exceptions(run, session, show, row, tz)
        run.ledger.add(session, "show", show.key, "shows", row.id, created=True)
        out.append(run.done("show", show.key, show.name, "create", rule.rrule or "once"))
    return out
