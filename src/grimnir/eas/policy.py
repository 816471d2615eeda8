"""Which alerts a station airs, and why the others are not aired.

:func:`decide` is a pure function of the station's settings, the alert and
the time; :class:`AlertTracker` adds what needs memory: duplicates, and
``Update`` / ``Cancel`` messages that stop an alert airing or pending. Every
decision carries a reason written for the compliance log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from grimnir.domain.errors import ConfigError
from grimnir.eas import _geo
from grimnir.eas._cap_values import CERTAINTY, SEVERITY, URGENCY
from grimnir.eas.cap import CapAlert, CapArea, CapCircle, CapInfo, Polygon
from grimnir.eas.errors import SameError
from grimnir.eas.same import same_location_matches

#: CAP-CP parameter saying the alert must go on air at once (SOREM layer).
BROADCAST_IMMEDIATELY = "layer:SOREM:1.0:Broadcast_Immediately"

Key = tuple[str, str, datetime]


@dataclass(frozen=True, slots=True)
class EasSettings:
    """A station's alerting settings.

    ``same_locations`` are PSSCCC codes (county ``000`` = the whole state,
    subdivision ``0`` = the whole county); ``capcp_locations`` are SGC codes
    matched by prefix (``35`` = Ontario); ``polygons`` / ``circles`` are areas
    of interest. ``relay_events`` (``None`` = every event) and
    ``ignore_events`` hold SAME codes (``TOR``) and CAP-CP codes (``tornado``).
    """

    country: str = "US"
    sender_id: str = "GRIMNIR "
    same_locations: tuple[str, ...] = ()
    capcp_locations: tuple[str, ...] = ()
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[CapCircle, ...] = ()
    relay_events: frozenset[str] | None = None
    ignore_events: frozenset[str] = frozenset()
    min_severity: str = "Unknown"
    min_urgency: str = "Unknown"
    min_certainty: str = "Unknown"
    statuses: frozenset[str] = frozenset({"Actual"})
    languages: tuple[str, ...] = ("en",)
    broadcast_immediately_only: bool = False
    default_purge_minutes: int = 60

    def __post_init__(self) -> None:
        problems = []
        if self.country not in ("US", "CA"):
            problems.append(f"country {self.country!r}: must be US or CA")
        if len(self.sender_id) > 8 or not self.sender_id.strip():
            problems.append(f"sender_id {self.sender_id!r}: 1 to 8 characters (SAME LLLLLLLL)")
        for code in self.same_locations:
            try:
                same_location_matches(code, code)
            except SameError as error:
                problems.append(str(error))
        for key, value, allowed in (
            ("min_severity", self.min_severity, SEVERITY),
            ("min_urgency", self.min_urgency, URGENCY),
            ("min_certainty", self.min_certainty, CERTAINTY),
        ):
            if value not in allowed:
                problems.append(f"{key} {value!r}: must be one of {', '.join(allowed)}")
        if problems:
            raise ConfigError("alert settings are invalid", problems)

    @property
    def has_areas(self) -> bool:
        """Whether any area of interest is configured."""
        return bool(self.same_locations or self.capcp_locations or self.polygons or self.circles)


class Action(StrEnum):
    """What to do with a received alert."""

    RELAY = "relay"
    CANCEL = "cancel"
    FILTER = "filter"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one alert: the action, why, and what it applies to.

    ``infos`` are the info blocks to air (one per language); ``stops`` the
    keys of earlier alerts to stop (airing or pending) — a Cancel's targets,
    or what an Update replaces.
    """

    action: Action
    reason: str
    alert: CapAlert
    infos: tuple[CapInfo, ...] = ()
    stops: tuple[Key, ...] = field(default=())


def _below(value: str, minimum: str, order: tuple[str, ...]) -> bool:
    """CAP's enumerations run from most to least; Unknown ranks last."""
    return order.index(value) > order.index(minimum)


def _events(info: CapInfo) -> list[str]:
    same = [info.same_event] if info.same_event else []
    return same + info.capcp_events


def _area_matches(settings: EasSettings, area: CapArea) -> bool:
    for code in area.same_codes:
        if (
            len(code) == 6
            and code.isdigit()
            and any(same_location_matches(code, mine) for mine in settings.same_locations)
        ):
            return True
    for code in area.capcp_codes:
        if any(code.startswith(mine) or mine.startswith(code) for mine in settings.capcp_locations):
            return True
    theirs = [*area.polygons, *(_geo.circle_ring(c.lat, c.lon, c.radius_km) for c in area.circles)]
    mine = [
        *settings.polygons,
        *(_geo.circle_ring(c.lat, c.lon, c.radius_km) for c in settings.circles),
    ]
    if any(_geo.rings_overlap(a, b) for a in theirs for b in mine):
        return True
    return any(
        _geo.distance_km((a.lat, a.lon), (b.lat, b.lon)) <= a.radius_km + b.radius_km
        for a in area.circles
        for b in settings.circles
    )


def _area_names(info: CapInfo) -> str:
    codes = [c for a in info.areas for c in (*a.same_codes, *a.capcp_codes)]
    if codes:
        return ", ".join(codes[:8]) + (" …" if len(codes) > 8 else "")
    return "; ".join(a.description for a in info.areas) or "(no area given)"


def _info_refusal(settings: EasSettings, info: CapInfo, now: datetime) -> str | None:
    """Why this info is not for this station, or ``None`` when it is."""
    if info.expires is not None and info.expires <= now:
        return f"filtered: expired at {info.expires.isoformat()}"
    events = _events(info)
    label = events[0] if events else repr(info.event)
    ignored = [e for e in events if e in settings.ignore_events]
    if ignored:
        return f"filtered: event {ignored[0]} is ignored by this station"
    if settings.relay_events is not None and not any(e in settings.relay_events for e in events):
        return f"filtered: event {label} is not relayed by this station"
    if settings.country == "US" and info.same_event is None:
        return f"filtered: event {label} has no SAME event code to put on air"
    for what, value, minimum, order in (
        ("severity", info.severity, settings.min_severity, SEVERITY),
        ("urgency", info.urgency, settings.min_urgency, URGENCY),
        ("certainty", info.certainty, settings.min_certainty, CERTAINTY),
    ):
        if _below(value, minimum, order):
            return f"filtered: {what} {value} is below this station's minimum {minimum}"
    if settings.broadcast_immediately_only and not any(
        p.name == BROADCAST_IMMEDIATELY and p.value.lower() == "yes" for p in info.parameters
    ):
        return "filtered: not marked Broadcast Immediately (CAP-CP SOREM layer)"
    if not settings.has_areas:
        return "filtered: this station has no alert areas configured"
    if not any(_area_matches(settings, area) for area in info.areas):
        return f"filtered: no area matches {_area_names(info)}"
    return None


def decide(settings: EasSettings, alert: CapAlert, now: datetime) -> Decision:
    """Relay or filter ``alert`` for this station at ``now`` (no history).

    An alert is relayed when at least one of its infos passes every rule;
    otherwise the reason is the first info's.
    """
    if alert.is_naad_heartbeat:
        return Decision(Action.FILTER, "filtered: NAAD heartbeat, not an alert", alert)
    if alert.status not in settings.statuses:
        return Decision(
            Action.FILTER, f"filtered: status {alert.status} is not aired by this station", alert
        )
    if alert.msg_type not in ("Alert", "Update"):
        return Decision(Action.FILTER, f"filtered: msgType {alert.msg_type} is not aired", alert)
    if alert.scope != "Public":
        return Decision(Action.FILTER, f"filtered: scope {alert.scope} is not public", alert)
    if not alert.infos:
        return Decision(Action.FILTER, "filtered: the alert has no info to air", alert)
    refusals = [_info_refusal(settings, info, now) for info in alert.infos]
    chosen = tuple(info for info, why in zip(alert.infos, refusals, strict=True) if why is None)
    if not chosen:
        return Decision(Action.FILTER, refusals[0] or "filtered", alert)
    languages = ", ".join(dict.fromkeys(i.language for i in chosen))
    return Decision(Action.RELAY, f"relay: {chosen[0].event} ({languages})", alert, chosen)


class AlertTracker:
    """A station's memory of alerts: duplicates, pending/airing ones, cancels.

    Not thread-safe: one tracker per station, owned by its alert task.
    """

    def __init__(self, settings: EasSettings) -> None:
        self.settings = settings
        self._seen: dict[Key, datetime] = {}
        self._active: dict[Key, CapAlert] = {}

    @property
    def active(self) -> list[CapAlert]:
        """Alerts relayed and not yet cancelled, replaced, finished or expired."""
        return list(self._active.values())

    def receive(self, alert: CapAlert, now: datetime) -> Decision:
        """The decision on a newly received alert, remembering it."""
        if alert.key in self._seen:
            first = self._seen[alert.key].isoformat()
            return Decision(
                Action.DUPLICATE,
                f"duplicate: {alert.sender} {alert.identifier} already received at {first}",
                alert,
            )
        self._seen[alert.key] = now
        self._expire(now)
        held = tuple(r.key for r in alert.references if r.key in self._active)
        if alert.msg_type == "Cancel" and alert.status in self.settings.statuses:
            if not held:
                return Decision(
                    Action.FILTER, "filtered: Cancel of an alert this station does not hold", alert
                )
            return self._stop(alert, held, "cancel: stops " + _names(held))
        decision = decide(self.settings, alert, now)
        if decision.action is Action.RELAY:
            for key in held:
                self._active.pop(key, None)
            self._active[alert.key] = alert
            if held:
                return Decision(
                    Action.RELAY, f"{decision.reason}; replaces {_names(held)}", alert,
                    decision.infos, held,
                )  # fmt: skip
            return decision
        if alert.msg_type == "Update" and held:
            return self._stop(alert, held, f"cancel: update of {_names(held)} ({decision.reason})")
        return decision

    def finished(self, key: Key) -> None:
        """The alert ``key`` has been aired completely: no longer active."""
        self._active.pop(key, None)

    def forget_before(self, moment: datetime) -> None:
        """Drop memory of alerts sent before ``moment`` (bounded history)."""
        self._seen = {k: v for k, v in self._seen.items() if k[2] >= moment}

    def _stop(self, alert: CapAlert, keys: tuple[Key, ...], reason: str) -> Decision:
        for key in keys:
            self._active.pop(key, None)
        return Decision(Action.CANCEL, reason, alert, (), keys)

    def _expire(self, now: datetime) -> None:
        for key, held in list(self._active.items()):
            if held.expires is not None and held.expires <= now:
                del self._active[key]


def _names(keys: tuple[Key, ...]) -> str:
    return ", ".join(f"{sender} {identifier}" for sender, identifier, _ in keys)
