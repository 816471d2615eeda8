"""Do two alert areas overlap? Polygons and circles on the globe (private).

Alert areas are small next to the Earth, so polygons are treated as plane
figures in (latitude, longitude) and circles as polygons of 64 sides; the
circle-to-circle case uses the great-circle distance.
"""

from __future__ import annotations

import itertools
import math

Point = tuple[float, float]
Ring = tuple[Point, ...]

EARTH_RADIUS_KM = 6371.0088


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def circle_ring(lat: float, lon: float, radius_km: float, sides: int = 64) -> Ring:
    """A closed polygon around the circle (vertices on it; the chords lose < 0.2 %)."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    ring = [
        (
            lat + dlat * math.sin(2 * math.pi * k / sides),
            lon + dlon * math.cos(2 * math.pi * k / sides),
        )
        for k in range(sides)
    ]
    return (*ring, ring[0])


def inside(p: Point, ring: Ring) -> bool:
    """Whether ``p`` is inside the closed ``ring`` (even-odd rule)."""
    y, x = p
    result = False
    for (y1, x1), (y2, x2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
    return result


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if (o1 > 0) != (o2 > 0) and (o3 > 0) != (o4 > 0) and 0 not in (o1, o2, o3, o4):
        return True
    return any(
        o == 0 and _on_segment(s, e, p)
        for o, s, e, p in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a), (o4, c, d, b))
    )


def rings_overlap(a: Ring, b: Ring) -> bool:
    """Whether two closed polygons share any point."""
    if inside(a[0], b) or inside(b[0], a):
        return True
    return any(
        _segments_cross(p1, p2, q1, q2)
        for p1, p2 in itertools.pairwise(a)
        for q1, q2 in itertools.pairwise(b)
    )
