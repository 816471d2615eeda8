"""Settings of a Grimnir process and the declarative station config.

The station config's parts (DSP graph nodes, outputs) and the base of every
config model are named here for the engine and the tools that read them.

``Settings`` and ``load_settings`` are imported on first use: an engine process
reads only its station file, and pydantic-settings is a tenth of its start.
"""

from typing import TYPE_CHECKING, Any

from grimnir.config._base import ConfigModel, NonEmptyStr
from grimnir.config._dsp import (
    GRAPHIC_EQ_BANDS_HZ,
    Agc,
    Compressor,
    DspGraph,
    Duck,
    Equalizer,
    Gate,
    LevelMeter,
    Limiter,
    LoudnessNormalize,
    Mix,
    Node,
    ParametricBand,
    SilenceDetector,
)
from grimnir.config._outputs import (
    FileOutput,
    HlsOutput,
    HttpOutput,
    IcecastOutput,
    NullOutput,
    RecordingOutput,
)
from grimnir.config._paths import PathProblem, create_output_folders
from grimnir.config.station import (
    StationConfig,
    StationFile,
    check_station_file,
    check_station_text,
    load_station_config,
    parse_station_config,
)

if TYPE_CHECKING:
    from grimnir.config.settings import Settings, load_settings

__all__ = [
    "GRAPHIC_EQ_BANDS_HZ",
    "Agc",
    "Compressor",
    "ConfigModel",
    "DspGraph",
    "Duck",
    "Equalizer",
    "FileOutput",
    "Gate",
    "HlsOutput",
    "HttpOutput",
    "IcecastOutput",
    "LevelMeter",
    "Limiter",
    "LoudnessNormalize",
    "Mix",
    "Node",
    "NonEmptyStr",
    "NullOutput",
    "ParametricBand",
    "PathProblem",
    "RecordingOutput",
    "Settings",
    "SilenceDetector",
    "StationConfig",
    "StationFile",
    "check_station_file",
    "check_station_text",
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
