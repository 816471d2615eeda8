"""LibreTime's shows (``cc_show``, ``cc_show_days``, ``cc_show_instances``,
``cc_schedule``, ``cc_show_hosts``) → Snapshot shows with their repeat rule.

How LibreTime records them (``ShowService.php``): one ``cc_show_days`` row per
weekday of the rule, each with ``first_show`` on that weekday, the local
``start_time``, ``duration`` (``HH:MM``), ``timezone``, ``repeat_type`` (0 weekly,
1 every 2 weeks, 4 every 3, 5 every 4, 2 monthly on the date, 3 monthly on the
weekday, -1 no repeat) and ``last_show``: the day *after* the last one. Editing one
occurrence marks the generated instance ``modified_instance`` and adds a
non-repeating ``cc_show_days`` row plus a new instance at the new time (the
scheduled items move to it); deleting one only marks it ``modified_instance``.
The weekdays are read from ``first_show`` (the ``day`` column counts from Sunday = 0,
as PHP's ``date('w')``, while the API's model says Monday = 0).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grimnir.importers._libretime_build import by_id, grouped
from grimnir.importers._libretime_dump import Row, Tables
from grimnir.importers._libretime_values import clock, day, flag, integer, interval_ms, text, utc
from grimnir.importers.model import Finding, Repeat, ScheduledItem, Show, ShowInstance

_REPEATS: dict[int, Repeat] = {
    -1: "none",
    0: "weekly",
    1: "every_2_weeks",
    4: "every_3_weeks",
    5: "every_4_weeks",
    2: "monthly_by_date",
    3: "monthly_by_weekday",
}


def shows(tables: Tables, station_zone: str) -> tuple[list[Show], list[Finding]]:
    days = grouped(tables.get("cc_show_days", []), "show_id")
    instances = grouped(tables.get("cc_show_instances", []), "show_id")
    hosts = grouped(tables.get("cc_show_hosts", []), "show_id")
    schedule = grouped(tables.get("cc_schedule", []), "instance_id")
    rebroadcasts = grouped(tables.get("cc_show_rebroadcast", []), "show_id")
    out: list[Show] = []
    findings: list[Finding] = []
    for row in by_id(tables.get("cc_show", [])):
        key = text(row, "id") or ""
        name = text(row, "name") or f"show {key}"
        note = _Notes(name, findings)
        show = _rule(key, name, days.get(key, []), station_zone, note)
        if show is None:
            continue
        show.description = text(row, "description")
        show.host_keys = [h for r in hosts.get(key, []) if (h := text(r, "subjs_id"))]
        auto = text(row, "autoplaylist_id")
        if flag(row, "has_autoplaylist") and auto:
            show.content_keys.append(auto)
        show.live = flag(row, "live_stream_using_airtime_auth") or flag(
            row, "live_stream_using_custom_auth"
        )
        _notes(row, rebroadcasts.get(key, []), days.get(key, []), note)
        show.instances = _instances(show, instances.get(key, []), days.get(key, []), schedule, note)
        out.append(show)
    return out, findings


class _Notes:
    """Findings about one show."""

    def __init__(self, name: str, findings: list[Finding]) -> None:
        self.name, self.findings = name, findings

    def __call__(self, reason: str, skipped: bool = False) -> None:
        self.findings.append(Finding("show", self.name, reason, skipped=skipped))


def _zone(name: str | None, fallback: str, note: _Notes) -> str:
    try:
        ZoneInfo(name or "")
        return name or fallback
    except (ZoneInfoNotFoundError, ValueError):
        note(f"unknown time zone {name!r}; the station's {fallback} is used")
        return fallback


def _start(row: Row, zone: str) -> datetime | None:
    first, at = day(text(row, "first_show")), clock(text(row, "start_time"))
    if first is None or at is None:
        return None
    return datetime.combine(first, at, tzinfo=ZoneInfo(zone))


def _rule(key: str, name: str, rows: list[Row], station_zone: str, note: _Notes) -> Show | None:
    """The show's repeat rule from its repeating ``cc_show_days`` rows (or its one
    non-repeating row)."""
    repeating = [r for r in rows if (integer(r, "repeat_type") or 0) >= 0]
    rule_rows = repeating or [r for r in rows if integer(r, "repeat_type") == -1][:1]
    if not rule_rows:
        note("no days or times (cc_show_days); nothing to schedule", skipped=True)
        return None
    first = rule_rows[0]
    zone = _zone(text(first, "timezone"), station_zone, note)
    starts = [s for r in rule_rows if (s := _start(r, zone)) is not None]
    duration = interval_ms(text(first, "duration"))
    if not starts or not duration:
        note("its start or duration cannot be read; not imported", skipped=True)
        return None
    kinds = {integer(r, "repeat_type") or 0 for r in rule_rows}
    times = {(text(r, "start_time"), text(r, "duration")) for r in rule_rows}
    if len(kinds) > 1 or len(times) > 1:
        note(
            "its days repeat in different ways or at different times; the first day's rule is used"
        )
    repeat = _REPEATS.get(integer(first, "repeat_type") or 0, "weekly")
    last = day(text(first, "last_show"))
    weekly = repeat in ("weekly", "every_2_weeks", "every_3_weeks", "every_4_weeks")
    return Show(
        key=key,
        name=name,
        first_start=min(starts),
        duration_ms=duration,
        timezone=zone,
        repeat=repeat,
        days=sorted({s.isoweekday() for s in starts}) if weekly else [],
        until=last - timedelta(days=1) if last is not None and repeat != "none" else None,
    )


def _notes(row: Row, rebroadcasts: list[Row], days: list[Row], note: _Notes) -> None:
    if flag(row, "override_intro_playlist") or flag(row, "override_outro_playlist"):
        note("its own intro/outro playlist is not carried over; add it to the show by hand")
    if text(row, "live_stream_user") and flag(row, "live_stream_using_custom_auth"):
        note("its own live-stream login is not carried over; hosts sign in with their accounts")
    if flag(row, "linked"):
        note(
            "a linked show: LibreTime played the same content in every occurrence; "
            "here each occurrence is filled on its own"
        )
    if rebroadcasts:
        note("its rebroadcasts are not carried over; schedule them as shows of their own")
    if any((integer(r, "record") or 0) == 1 for r in days):
        note("LibreTime recorded it; recording is not carried over")


def _items(rows: list[Row]) -> list[ScheduledItem]:
    items = []
    for r in sorted(rows, key=lambda r: (text(r, "starts") or "", integer(r, "position") or 0)):
        start = utc(text(r, "starts"))
        if start is None:
            continue
        if (f := text(r, "file_id")) is not None:
            items.append(ScheduledItem("media", f, start))
        elif (s := text(r, "stream_id")) is not None:
            items.append(ScheduledItem("webstream", s, start))
    return items


def _gap(row: Row, at: datetime) -> float:
    """Seconds between the instance ``row``'s start and ``at``."""
    start = utc(text(row, "starts"))
    return abs((start - at).total_seconds()) if start is not None else float("inf")


def _instances(
    show: Show,
    rows: list[Row],
    days: list[Row],
    schedule: dict[str, list[Row]],
    note: _Notes,
) -> list[ShowInstance]:
    """Occurrences cancelled, moved, or given content by hand (UTC)."""
    rows = [r for r in rows if (integer(r, "rebroadcast") or 0) == 0]
    moved_to: set[datetime] = set()
    if show.repeat != "none":
        for r in days:
            if integer(r, "repeat_type") == -1 and (s := _start(r, show.timezone)) is not None:
                moved_to.add(s.astimezone(ZoneInfo("UTC")))
    originals = [r for r in rows if flag(r, "modified_instance")]
    new = [
        r for r in rows if not flag(r, "modified_instance") and utc(text(r, "starts")) in moved_to
    ]
    out: list[ShowInstance] = []
    unpaired = list(originals)
    for target in sorted(new, key=lambda r: text(r, "starts") or ""):
        at = utc(text(target, "starts"))
        end = utc(text(target, "ends"))
        if at is None or end is None:
            continue
        if not unpaired:
            note(
                f"an extra occurrence on {at:%Y-%m-%d %H:%M} UTC has no place in the repeat "
                "rule; add it by hand",
                skipped=True,
            )
            continue
        gaps = [_gap(r, at) for r in unpaired]
        origin = unpaired[gaps.index(min(gaps))]
        unpaired.remove(origin)
        out.append(
            ShowInstance(
                occurrence_start=utc(text(origin, "starts")) or at,
                new_start=at,
                new_duration_ms=int((end - at).total_seconds() * 1000),
                scheduled=_items(schedule.get(text(target, "id") or "", [])),
            )
        )
    for origin in unpaired:
        at = utc(text(origin, "starts"))
        if at is not None:
            out.append(ShowInstance(occurrence_start=at, cancelled=True))
    for r in rows:
        items = _items(schedule.get(text(r, "id") or "", []))
        at = utc(text(r, "starts"))
        if items and at is not None and r not in originals and r not in new:
            out.append(ShowInstance(occurrence_start=at, scheduled=items))
    out.sort(key=lambda i: i.occurrence_start)
    return out
