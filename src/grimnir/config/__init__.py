"""Settings of a Grimnir process and the declarative station config."""

from grimnir.config._paths import PathProblem, create_output_folders
from grimnir.config.settings import Settings, load_settings
from grimnir.config.station import (
    StationConfig,
    StationFile,
    check_station_file,
    load_station_config,
    parse_station_config,
)

__all__ = [
    "PathProblem",
    "Settings",
    "StationConfig",
    "StationFile",
    "check_station_file",
    "create_output_folders",
    "load_settings",
    "load_station_config",
    "parse_station_config",
]
