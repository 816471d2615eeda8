"""CAP 1.2 and its Canadian profile (CAP-CP): the alert as plain values.

:func:`grimnir.eas.cap_parse.parse_cap` builds these from a document; the
original bytes are kept on the alert for the compliance log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: The CAP 1.2 XML namespace.
CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
#: Largest document accepted unless the caller says otherwise (1 MiB).
DEFAULT_MAX_BYTES = 1 << 20
#: valueName of SAME codes in eventCode and geocode.
SAME_VALUE_NAME = "SAME"
#: valueName prefix of CAP-CP event codes (``profile:CAP-CP:Event:0.4``).
CAPCP_EVENT_PREFIX = "profile:CAP-CP:Event"
#: valueName prefix of CAP-CP location codes (``profile:CAP-CP:Location:0.3``,
#: Statistics Canada SGC codes).
CAPCP_LOCATION_PREFIX = "profile:CAP-CP:Location"
#: Sender of the NAAD System's heartbeats (Pelmorex NAADS LMD User Guide).
NAAD_HEARTBEAT_SENDER = "NAADS-Heartbeat"


@dataclass(frozen=True, slots=True)
class CapValue:
    """A ``valueName`` / ``value`` pair (eventCode, geocode, parameter)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class CapReference:
    """One earlier message named in ``references``: ``sender,identifier,sent``."""

    sender: str
    identifier: str
    sent: datetime
    sent_text: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str, datetime]:
        """What identifies the referenced message (as :attr:`CapAlert.key`)."""
        return (self.sender, self.identifier, self.sent)


@dataclass(frozen=True, slots=True)
class CapResource:
    """A file belonging to the alert: audio to air instead of speech, say."""

    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref: bytes | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class CapCircle:
    """A circle: centre (WGS 84 degrees) and radius in kilometres."""

    lat: float
    lon: float
    radius_km: float


Polygon = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class CapArea:
    """Where an alert applies: a description and any of polygons, circles, geocodes."""

    description: str
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[CapCircle, ...] = ()
    geocodes: tuple[CapValue, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None

    def codes(self, prefix: str) -> list[str]:
        """Geocode values whose valueName is ``prefix`` or starts with ``prefix:``."""
        return [
            g.value for g in self.geocodes if g.name == prefix or g.name.startswith(prefix + ":")
        ]

    @property
    def same_codes(self) -> list[str]:
        """The area's SAME (PSSCCC) codes."""
        return self.codes(SAME_VALUE_NAME)

    @property
    def capcp_codes(self) -> list[str]:
        """The area's CAP-CP location (SGC) codes."""
        return self.codes(CAPCP_LOCATION_PREFIX)


@dataclass(frozen=True, slots=True)
class CapInfo:
    """One ``info`` block: the alert in one language."""

    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "en-US"
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[CapValue, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[CapValue, ...] = ()
    resources: tuple[CapResource, ...] = ()
    areas: tuple[CapArea, ...] = ()

    def codes(self, prefix: str) -> list[str]:
        """eventCode values whose valueName is ``prefix`` or starts with ``prefix:``."""
        return [
            c.value for c in self.event_codes if c.name == prefix or c.name.startswith(prefix + ":")
        ]

    @property
    def same_event(self) -> str | None:
        """The SAME event code (``TOR``), if the alert carries one."""
        codes = self.codes(SAME_VALUE_NAME)
        return codes[0] if codes else None

    @property
    def capcp_events(self) -> list[str]:
        """The CAP-CP event codes (``tornado``, ``fire``, …)."""
        return self.codes(CAPCP_EVENT_PREFIX)

    @property
    def primary_language(self) -> str:
        """``en`` of ``en-CA``: the language to speak."""
        return self.language.split("-")[0].lower()


@dataclass(frozen=True, slots=True)
class CapAlert:
    """A CAP message with the bytes it was read from."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[CapReference, ...] = ()
    incidents: str | None = None
    infos: tuple[CapInfo, ...] = ()
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, datetime]:
        """sender, identifier and sent: what makes a CAP message unique."""
        return (self.sender, self.identifier, self.sent)

    @property
    def is_naad_heartbeat(self) -> bool:
        """Whether this is a NAAD System heartbeat (not an alert to air)."""
        return self.sender.split("@")[0] == NAAD_HEARTBEAT_SENDER

    @property
    def expires(self) -> datetime | None:
        """The latest ``expires`` over its infos (``None`` when none says)."""
        times = [i.expires for i in self.infos if i.expires is not None]
        return max(times) if times else None
