"""Settings of a Grimnir process and the declarative station config."""

from grimnir.config.settings import Settings, load_settings
from grimnir.config.station import StationConfig, load_station_config, parse_station_config

__all__ = [
    "Settings",
    "StationConfig",
    "load_settings",
    "load_station_config",
    "parse_station_config",
]
