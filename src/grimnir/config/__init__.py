"""Settings of a Grimnir process and the declarative station config.

``Settings`` and ``load_settings`` are imported on first use: an engine process
reads only its station file, and pydantic-settings is a tenth of its start.
"""

from typing import TYPE_CHECKING, Any

from grimnir.config._paths import PathProblem, create_output_folders
from grimnir.config.station import (
    StationConfig,
    StationFile,
    check_station_file,
    load_station_config,
    parse_station_config,
)

if TYPE_CHECKING:
    from grimnir.config.settings import Settings, load_settings

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


def __getattr__(name: str) -> Any:
    if name in ("Settings", "load_settings"):
        from grimnir.config import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
