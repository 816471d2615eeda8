"""A station's ``eas:`` config as the alert policy and the airing need it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from grimnir.config.station import EasConfig
from grimnir.eas import EasError, EasSettings
from grimnir.eas.cap import CapCircle
from grimnir.store.models import Station


class AlertsDisabled(EasError):
    """The station has no ``eas:`` section, or it is not enabled."""


def eas_config(station: Station) -> EasConfig:
    """The station's ``eas:`` section; :class:`AlertsDisabled` says how to turn it on."""
    raw = dict(station.config or {}).get("eas")
    try:
        config = EasConfig.model_validate(raw) if raw else None
    except ValidationError as error:
        raise AlertsDisabled(f"the station's eas section is invalid: {error}") from None
    if config is None or not config.enabled:
        raise AlertsDisabled(
            f"emergency alerts are off on station {station.short_name}: set eas.enabled: true "
            "and its areas in the station config (PUT /api/v1/stations/{station}/config)"
        )
    return config


def settings_of(config: EasConfig) -> EasSettings:
    """The alert policy's settings for a station's ``eas:`` section."""
    return EasSettings(
        country=config.country,
        sender_id=config.sender_id.ljust(8),
        same_locations=tuple(config.same_locations),
        capcp_locations=tuple(config.capcp_locations),
        polygons=tuple(tuple(ring) for ring in config.polygons),
        circles=tuple(CapCircle(c.lat, c.lon, c.radius_km) for c in config.circles),
        relay_events=None if config.relay_events is None else frozenset(config.relay_events),
        ignore_events=frozenset(config.ignore_events),
        min_severity=config.min_severity,
        min_urgency=config.min_urgency,
        min_certainty=config.min_certainty,
        languages=tuple(config.languages),
    )


def station_outputs(station: Station) -> list[dict[str, Any]]:
    """Every output of the station's mounts: what carries an alert on air."""
    found: list[dict[str, Any]] = []
    for mount in dict(station.config or {}).get("mounts") or []:
        for n, output in enumerate(mount.get("outputs") or []):
            found.append(
                {
                    "mount": str(mount.get("id") or ""),
                    "output": str(output.get("id") or output.get("path") or n),
                    "type": str(output.get("type") or ""),
                }
            )
    return found
