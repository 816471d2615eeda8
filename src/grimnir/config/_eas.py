"""The ``eas:`` section of a station config: emergency alerts (issue 20).

Where the station listens for alerts (CAP pushed to the API, ATOM feeds, the
NAAD TCP stream, SAME audio monitors), which it relays (its areas, events and
thresholds), how it sounds (attention signal, pre-roll, level) and when it
sends its weekly test. ``grimnir.services.alerts.settings_of`` turns it into the policy's
``grimnir.eas.EasSettings`` (config imports nothing above ``domain``); the
section is optional and off by default.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from grimnir.config._base import ConfigModel, HttpUrl, NonEmptyStr

_SAME_CODE = re.compile(r"\d{6}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class EasCircle(ConfigModel):
    """A circle of interest: centre in WGS 84 degrees and radius in kilometres."""

    lat: float = Field(ge=-90, le=90, description="Latitude of the centre.")
    lon: float = Field(ge=-180, le=180, description="Longitude of the centre.")
    radius_km: float = Field(gt=0, le=5000, description="Radius in kilometres.")


class EasFeed(ConfigModel):
    """An ATOM feed of CAP alerts (the IPAWS-OPEN style) polled every ``poll_seconds``."""

    url: HttpUrl = Field(description="The feed's address.")
    poll_seconds: float = Field(default=60, ge=5, le=3600, description="Seconds between polls.")


class EasNaad(ConfigModel):
    """A NAAD-style TCP stream of CAP-CP messages."""

    host: NonEmptyStr = Field(description="Host name or address of the stream.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port.")


class EasRwt(ConfigModel):
    """The Required Weekly Test: sent every week on ``weekday`` at ``time`` (local)."""

    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = Field(description="Day of the week, in the station's time zone.")
    time: str = Field(description="Local time HH:MM (24 h), e.g. 11:05.")

    @field_validator("time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _TIME.fullmatch(value):
            raise ValueError(f"must be a 24-hour time HH:MM like 11:05 (got {value!r})")
        return value


class EasConfig(ConfigModel):
    """Emergency alerting for the station (off unless ``enabled: true``)."""

    enabled: bool = Field(default=False, description="Relay emergency alerts at all.")
    country: Literal["US", "CA"] = Field(
        default="US", description="US: SAME and the two-tone signal; CA: CAP-CP and Alert Ready."
    )
    sender_id: str = Field(
        default="GRIMNIR",
        min_length=1,
        max_length=8,
        description="This station in SAME headers (LLLLLLLL, e.g. a call sign WGMR/FM).",
    )
    same_locations: list[str] = Field(
        default_factory=list, description="SAME PSSCCC codes of the station's area."
    )
    capcp_locations: list[str] = Field(
        default_factory=list, description="CAP-CP (SGC) geocodes, matched by prefix (35 = ON)."
    )
    polygons: list[list[tuple[float, float]]] = Field(
        default_factory=list,
        description="Areas of interest: closed rings of [lat, lon] points (first = last).",
    )
    circles: list[EasCircle] = Field(default_factory=list, description="Circles of interest.")
    relay_events: list[str] | None = Field(
        default=None, description="Event codes to relay (TOR, tornado…); absent = every event."
    )
    ignore_events: list[str] = Field(default_factory=list, description="Event codes never aired.")
    min_severity: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"] = "Unknown"
    min_urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"] = "Unknown"
    min_certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"] = "Unknown"
    languages: list[Literal["en", "fr"]] = Field(
        default=["en"], min_length=1, description="Languages to air, in order."
    )
    attention_seconds: float = Field(
        default=8.0, ge=8, le=25, description="Attention signal length (§11.31: 8 to 25 s)."
    )
    preroll_ms: int = Field(default=0, ge=0, le=5000, description="Silence before the header.")
    peak_dbfs: float = Field(default=-3.0, ge=-30, le=-1, description="Peak level of the alert.")
    cap_secret: str | None = Field(
        default=None,
        min_length=16,
        description="Shared secret of HMAC-signed CAP pushes (X-Grimnir-Signature).",
    )
    feeds: list[EasFeed] = Field(default_factory=list, description="ATOM feeds of CAP to poll.")
    naad: list[EasNaad] = Field(default_factory=list, description="NAAD TCP streams to follow.")
    monitor: list[HttpUrl] = Field(
        default_factory=list, description="Web streams whose SAME audio is decoded and relayed."
    )
    rwt: EasRwt | None = Field(default=None, description="Weekly test schedule.")
    rmt_window_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="A Required Monthly Test is relayed within this."
    )

    @field_validator("same_locations")
    @classmethod
    def _same_codes(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not _SAME_CODE.fullmatch(c)]
        if bad:
            raise ValueError(
                f"SAME location codes are six digits PSSCCC like 048453 (got {', '.join(bad)})"
            )
        return codes

    @field_validator("polygons")
    @classmethod
    def _rings(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        for n, ring in enumerate(rings):
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValueError(
                    f"polygon {n}: give at least 4 [lat, lon] points with the first repeated last"
                )
            if any(not (-90 <= a <= 90 and -180 <= b <= 180) for a, b in ring):
                raise ValueError(f"polygon {n}: a point is outside -90..90 / -180..180")
        return rings

    @model_validator(mode="after")
    def _usable(self) -> Self:
        if self.enabled and not (
            self.same_locations or self.capcp_locations or self.polygons or self.circles
        ):
            raise ValueError(
                "alerts are enabled but no area is set: give same_locations, capcp_locations, "
                "polygons or circles"
            )
        if self.sender_id != self.sender_id.strip() or "-" in self.sender_id:
            raise ValueError(
                f"sender_id {self.sender_id!r}: no '-' and no leading/trailing spaces (SAME)"
            )
        return self
