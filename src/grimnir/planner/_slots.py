"""Lay shows and clocks onto a window: the ordered slot instances the builder fills.

Every moment of the window belongs to exactly one slot instance: a show's
content, a slot of the station's default clock, or — where neither says
anything — the default rotation (all ready tracks, artist separation), so a
station with a library never goes silent. Instances are anchored to absolute
calendar positions (local hours, show starts), never to the window's start,
so a rolling rebuild sees the same slots and the same seeds.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from grimnir.domain import SlotKind, Timing
from grimnir.planner._time import HOUR, local_hours
from grimnir.planner.clocks import ClockSpec, SlotInstance, SlotSpec
from grimnir.planner.shows import Occurrence
from grimnir.store.models import ShowContent

ROTATION = "default rotation"
_MIN_HOLE = timedelta(seconds=1)


def rotation_slot(offset_ms: int, duration_ms: int) -> SlotSpec:
    """An ad-hoc soft slot of the default rotation."""
    return SlotSpec(
        offset_ms=offset_ms,
        duration_ms=duration_ms,
        kind=SlotKind.SMART_BLOCK,
        name=ROTATION,
        params=MappingProxyType({"rotation": True}),
    )


def is_rotation(slot: SlotSpec) -> bool:
    return bool(slot.params.get("rotation"))


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def _holes(
    hour: datetime, lo: datetime, hi: datetime, taken: list[SlotInstance], show_id: uuid.UUID | None
) -> list[SlotInstance]:
    """Rotation instances for the parts of ``lo`` … ``hi`` no instance covers."""
    out: list[SlotInstance] = []
    at = lo
    for inst in sorted(taken, key=lambda i: i.start):
        if inst.start - at >= _MIN_HOLE:
            slot = rotation_slot(_ms(at - hour), _ms(inst.start - at))
            out.append(SlotInstance(slot, at, inst.start, show_id=show_id))
        at = max(at, inst.end)
    if hi - at >= _MIN_HOLE:
        out.append(
            SlotInstance(rotation_slot(_ms(at - hour), _ms(hi - at)), at, hi, show_id=show_id)
        )
    return out


def _clock_hours(
    clock: ClockSpec | None,
    lo: datetime,
    hi: datetime,
    tz: ZoneInfo,
    show_id: uuid.UUID | None,
) -> list[SlotInstance]:
    out: list[SlotInstance] = []
    for hour in local_hours(lo, hi, tz):
        a, b = max(hour, lo), min(hour + HOUR, hi)
        if b <= a:
            continue
        slots = clock.expand(hour, clip_start=a, clip_end=b, show_id=show_id) if clock else []
        out.extend(sorted([*slots, *_holes(hour, a, b, slots, show_id)], key=lambda i: i.start))
    return out


def _show_instances(
    occ: Occurrence, clocks: Mapping[uuid.UUID, ClockSpec], tz: ZoneInfo, warnings: list[str]
) -> list[SlotInstance]:
    content = occ.content
    length = _ms(occ.end - occ.start)
    ad_hoc: SlotSpec | None = None
    if content.rebroadcast_of is not None:
        ad_hoc = SlotSpec(
            0,
            length,
            SlotKind.PLAYLIST,
            name=f"{occ.name} (rebroadcast)",
            params=MappingProxyType({"rebroadcast_of": content.rebroadcast_of.isoformat()}),
        )
    elif content.kind == ShowContent.CLOCK:
        clock = clocks.get(content.clock_id) if content.clock_id else None
        if clock is None:
            warnings.append(
                f"show {occ.name!r} at {occ.start.isoformat()} has no clock "
                f"({content.clock_id}); the default rotation fills it"
            )
        instances = _clock_hours(clock, occ.start, occ.end, tz, occ.show_id)
        return _first_hard(instances)
    elif content.kind == ShowContent.LIVE:
        ad_hoc = SlotSpec(0, length, SlotKind.LIVE, name=occ.name)
    else:
        kind = SlotKind(content.kind.value)
        ad_hoc = SlotSpec(
            0,
            length,
            kind,
            name=occ.name,
            playlist_id=content.playlist_id,
            smart_block_id=content.smart_block_id,
            webstream_id=content.webstream_id,
        )
    return _first_hard([SlotInstance(ad_hoc, occ.start, occ.end, show_id=occ.show_id)])


def _first_hard(instances: list[SlotInstance]) -> list[SlotInstance]:
    """A show starts on time: its first slot is hard whatever the clock says."""
    if instances and not instances[0].hard:
        first = instances[0]
        instances[0] = replace(first, slot=replace(first.slot, timing=Timing.HARD))
    return instances


def lay_out(
    start: datetime,
    end: datetime,
    shows: list[Occurrence],
    default_clock: ClockSpec | None,
    clocks: Mapping[uuid.UUID, ClockSpec],
    tz: ZoneInfo,
    warnings: list[str],
) -> list[SlotInstance]:
    """Slot instances covering ``start`` … ``end`` in order, without overlap.

    ``shows`` must not overlap each other (see ``shows.schedule``). The first
    instance may begin before ``start``: it is anchored where it really starts
    (the top of the hour, the show's start).
    """
    out: list[SlotInstance] = []
    # NOTE: whole hours to the end: a slot cut short by the window's end would be
    # filled differently by a longer build, breaking determinism.
    last_hour = list(local_hours(end - timedelta(microseconds=1), end, tz))[-1]
    stop = last_hour + HOUR
    first_hour = next(local_hours(start, end, tz), start)
    at = min([first_hour, *(o.start for o in shows if o.start <= start < o.end)])
    for occ in sorted(shows, key=lambda o: o.start):
        if occ.end <= at:
            continue
        if occ.start > at:
            out.extend(_clock_hours(default_clock, at, min(occ.start, stop), tz, None))
        if occ.start >= stop:
            at = stop
            break
        out.extend(_show_instances(occ, clocks, tz, warnings))
        at = occ.end
    if at < stop:
        out.extend(_clock_hours(default_clock, at, stop, tz, None))
    return [i for i in out if i.start < end]
