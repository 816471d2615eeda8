"""A station's schedule as an RFC 5545 calendar (``text/calendar``).

Lines end in CRLF and are folded at 75 octets (never inside a UTF-8 character);
TEXT values escape backslash, semicolon, comma and newlines; times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from grimnir import __version__

MAX_OCTETS = 75


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    categories: str = ""


def escape_text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 §3.3.11 wants."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """``line`` folded into CRLF-joined pieces of at most 75 octets each."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # continuation lines start with " "
        current.append(ch)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


UTC_ZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:UTC",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0000",
    "TZNAME:UTC",
    "END:STANDARD",
    "END:VTIMEZONE",
]
"""The component of a calendar with no events (every time we write is UTC)."""


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(name: str, timezone: str, events: list[CalendarEvent], *, now: datetime) -> str:
    """The whole ``VCALENDAR`` text."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//Grimnir Radio//Grimnir {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"X-WR-TIMEZONE:{escape_text(timezone)}",
    ]
    stamp = _utc(now)
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(event.start)}",
            f"DTEND:{_utc(event.end)}",
            f"SUMMARY:{escape_text(event.summary)}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        if event.categories:
            lines.append(f"CATEGORIES:{escape_text(event.categories)}")
        lines.append("END:VEVENT")
    if not events:
        # NOTE: RFC 5545 §3.6 wants at least one component: the UTC zone our times use
        lines += UTC_ZONE
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
