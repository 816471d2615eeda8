"""CAP 1.2's value rules (private): enumerations, date-times, points, names.

Each check raises :class:`CapError` with the element's path first, so a
refused alert's log line says where to look: ``alert/info[1]/area[1]/
polygon[1]: not closed (first point 45.0,-75.0, last 45.1,-75.2)``.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from grimnir.eas.errors import CapError

STATUS = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPE = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPE = ("Public", "Restricted", "Private")
CATEGORY = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
    "Transport", "Infra", "CBRNE", "Other",
)  # fmt: skip
RESPONSE_TYPE = (
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess",
    "AllClear", "None",
)  # fmt: skip
URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# CAP 1.2 §3.3.2: a numeric zone is required; "Z" and fractions are not allowed.
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
_NAME_FORBIDDEN = re.compile(r"[\s,<&]")


def fail(path: str, problem: str) -> CapError:
    """The error for ``path`` (raise it)."""
    return CapError(f"{path}: {problem}")


def enum(path: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed`` (CAP's enumerations are case-sensitive)."""
    if value not in allowed:
        raise fail(path, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def name(path: str, value: str) -> str:
    """An identifier or sender: no spaces, commas, '<' or '&' (CAP 1.2 §3.2.1)."""
    if _NAME_FORBIDDEN.search(value):
        raise fail(path, f"{value!r} must not contain spaces, commas, '<' or '&'")
    return value


def when(path: str, value: str) -> datetime:
    """A CAP date-time: ``2026-03-01T18:05:00-05:00``, numeric zone required."""
    if not _DATETIME.fullmatch(value):
        hint = (
            "; CAP 1.2 writes UTC as -00:00, never Z"
            if value.endswith("Z")
            else "; the form is YYYY-MM-DDThh:mm:ss±hh:mm"
        )
        raise fail(path, f"{value!r} is not a CAP date-time with time zone{hint}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise fail(path, f"{value!r} is not a real date and time") from None


def point(path: str, text: str) -> tuple[float, float]:
    """``lat,lon`` in WGS 84 degrees."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise fail(path, f"{text!r} is not a 'latitude,longitude' pair") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise fail(path, f"{text!r} is outside latitude −90…90 / longitude −180…180")
    return lat, lon


def polygon(path: str, text: str) -> tuple[tuple[float, float], ...]:
    """A closed polygon of at least four ``lat,lon`` points (CAP 1.2 §3.2.4)."""
    points = tuple(point(path, pair) for pair in text.split())
    if len(points) < 4:
        raise fail(path, f"{len(points)} points; a polygon needs at least 4 (first = last)")
    if points[0] != points[-1]:
        raise fail(
            path,
            f"not closed: the first point {points[0][0]},{points[0][1]} must equal the "
            f"last {points[-1][0]},{points[-1][1]}",
        )
    return points


def circle(path: str, text: str) -> tuple[float, float, float]:
    """``lat,lon radius`` (radius in km)."""
    parts = text.split()
    if len(parts) != 2:
        raise fail(path, f"{text!r} is not 'latitude,longitude radius'")
    lat, lon = point(path, parts[0])
    try:
        radius = float(parts[1])
    except ValueError:
        raise fail(path, f"radius {parts[1]!r} is not a number of kilometres") from None
    if radius < 0:
        raise fail(path, f"radius {radius} km is negative")
    return lat, lon, radius


def number(path: str, text: str) -> float:
    """A decimal number (altitude, ceiling)."""
    try:
        return float(text)
    except ValueError:
        raise fail(path, f"{text!r} is not a number") from None


def integer(path: str, text: str) -> int:
    """A non-negative integer (resource size)."""
    if not text.isdigit():
        raise fail(path, f"{text!r} is not a whole number of bytes")
    return int(text)


def base64_data(path: str, text: str) -> bytes:
    """Decoded ``derefUri`` content."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise fail(path, "is not valid base64") from None
