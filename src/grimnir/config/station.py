"""The declarative station config: one YAML file describes a whole station.

``load_station_config("station.yaml")`` reads and validates such a file. On
any problem it raises ``ConfigError`` listing every problem at once, each as
``station.yaml:27 dsp_graph.nodes[2].ratio: must be ≥ 1 (got 0.5)``, so an
engineer can fix the file in one pass instead of one error per run.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from grimnir.config._base import (
    AT_KEY_ERROR,
    ConfigModel,
    HttpUrl,
    NonEmptyStr,
    Slug,
    check_unique_ids,
    did_you_mean,
)
from grimnir.config._dsp import DspGraph
from grimnir.config._eas import EasConfig
from grimnir.config._errors import format_problem, raise_problems
from grimnir.config._outputs import Mount, MountPath
from grimnir.config._paths import check_paths, path_keys, resolve_paths
from grimnir.config._yamlpos import PositionedYaml, Problem
from grimnir.config.documents import parse_document, parse_positioned, read_document
from grimnir.domain.priority import Priority

__all__ = [
    "EasConfig",
    "Failover",
    "Harbor",
    "HarborMount",
    "Priorities",
    "StationConfig",
    "StationFile",
    "StationInfo",
    "check_station_file",
    "check_station_text",
    "load_station_config",
    "parse_station_config",
    "slugify",
]


def slugify(text: str) -> str:
    """A short id from a display name: ``"WGMR FM"`` → ``"wgmr-fm"``.

    Accents are folded to ASCII, anything else but letters and digits becomes
    ``-``; the result fits the ``short_name`` rules (empty when nothing is left).
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:63].rstrip("-")


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, available_timezones())
        suffix = f"; did you mean {hint!r}?" if hint else " (use an IANA name like 'Europe/Oslo')"
        raise ValueError(f"unknown time zone {name!r}{suffix}") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA time zone name that this machine's zoneinfo database knows."""


class StationInfo(ConfigModel):
    """Who the station is: identity, display data and its local time zone."""

    id: uuid.UUID = Field(description="Stable UUID of the station; never reuse one.")
    name: NonEmptyStr = Field(description="Display name, e.g. WGMR FM.")
    short_name: Slug | None = Field(
        default=None,
        description="Short id for URLs, paths and metrics; derived from name when absent "
        "(see `resolved_short_name`).",
    )
    timezone: TimeZoneName = Field(
        description="IANA time zone, e.g. America/New_York; schedules and clocks run in it."
    )
    description: str = Field(default="", description="One-line description for directories.")
    genre: str = Field(default="", description="Genre for directories (ice-genre).")
    url: HttpUrl | None = Field(default=None, description="The station's web site.")
    public_url: HttpUrl | None = Field(
        default=None,
        description="Base of the listen, player and playlist URLs handed out for this "
        "station (e.g. https://stream.wgmr.example), overriding the `public_url` setting.",
    )

    @property
    def resolved_short_name(self) -> str:
        """``short_name``, or one derived from ``name`` ("WGMR FM" → "wgmr-fm")."""
        if self.short_name is not None:
            return self.short_name
        return slugify(self.name) or f"station-{self.id.hex[:8]}"

    @property
    def zone(self) -> ZoneInfo:
        """The station's time zone, ready for datetime arithmetic."""
        return ZoneInfo(self.timezone)


class Failover(ConfigModel):
    """When and how the station leaves a failing source, and what it falls back to."""

    live_timeout_sec: float = Field(
        default=30, gt=0, description="A live source silent or gone this long is dropped."
    )
    live_grace_sec: float = Field(
        default=5,
        ge=0,
        description=(
            "A DJ whose audio stops (dropout, disconnect) gets the air back on returning "
            "within this time; meanwhile automation plays."
        ),
    )
    automation_fallback_enabled: bool = Field(
        default=True, description="Return to automation when live ends or fails."
    )
    emergency_audio_path: str | None = Field(
        default=None,
        description=(
            "Audio played for an emergency without its own audio; also looped as the "
            "last fallback, when there is no rotation and no fallback_paths to play."
        ),
    )
    fallback_paths: list[str] = Field(
        default_factory=list,
        description=(
            "Files or directories looped (in order) when the programme has nothing and "
            "the control plane gave no fallback rotation."
        ),
    )
    silence_threshold_db: float = Field(
        default=-50, ge=-90, le=0, description="Below this level the master bus is silent."
    )
    silence_duration_sec: float = Field(
        default=10, gt=0, description="Silence this long counts as dead air and fails over."
    )
    layer_fade_ms: int = Field(
        default=500, ge=0, le=10000, description="Fade time when switching layers."
    )


class HarborMount(ConfigModel):
    """A mount on the built-in server where live DJs connect their encoders."""

    path: MountPath = Field(description="Mount path DJs connect to, e.g. /live.")
    name: str = Field(default="", description="Shown in the UI and events.")


class Harbor(ConfigModel):
    """Live input: DJs stream to the engine's built-in server like to an Icecast server.

    Credentials are not part of the station file: the control plane checks them
    (DJ accounts, show tokens); a standalone ``grimnir engine`` takes them from
    ``--harbor-user NAME:PASSWORD`` or ``GRIMNIR_HARBOR_USERS``.
    """

    enabled: bool = Field(default=True, description="Accept live sources at all.")
    mounts: list[HarborMount] = Field(
        default_factory=lambda: [HarborMount(path="/live")],
        description="Mounts DJs may connect to (default: /live).",
    )
    kick_at_show_end: bool = Field(
        default=False,
        description=(
            "Disconnect the DJ when a live show slot ends (a show with live content, "
            "or the show a live token was made for), so the next programme starts on "
            "time. Off: the DJ stays on air until they leave."
        ),
    )

    @field_validator("mounts")
    @classmethod
    def _unique_paths(cls, mounts: list[HarborMount]) -> list[HarborMount]:
        paths = [mount.path for mount in mounts]
        repeated = sorted({path for path in paths if paths.count(path) > 1})
        if repeated:
            raise ValueError(f"harbor mount path(s) listed twice: {', '.join(repeated)}")
        return mounts


class Priorities(ConfigModel):
    """The priority ladder: which source takes the air from which (lower wins).

    All five keys are required and their values must be 0…4, each used once,
    so there is never a tie to break.
    """

    emergency: int = Field(ge=0, le=4, description="Emergency alerts (default 0).")
    live_override: int = Field(ge=0, le=4, description="A DJ taking over (default 1).")
    live_scheduled: int = Field(ge=0, le=4, description="A scheduled live show (default 2).")
    automation: int = Field(ge=0, le=4, description="The planned timeline (default 3).")
    fallback: int = Field(ge=0, le=4, description="Fallback audio (default 4).")

    @classmethod
    def default(cls) -> Priorities:
        """The standard ladder: emergency 0 … fallback 4."""
        return cls(**{priority.key: int(priority) for priority in Priority})

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        seen: dict[int, str] = {}
        for key, value in self.model_dump().items():
            if value in seen:
                raise PydanticCustomError(
                    AT_KEY_ERROR,
                    "'{first}' is {value} already; give each of the five sources its own "
                    "priority from 0 to 4",
                    {"first": seen[value], "value": value, "at_key": key},
                )
            seen[value] = key
        return self

    def as_priorities(self) -> dict[str, Priority]:
        """Source name (``live_override``, …) → its rank on the ladder."""
        return {key: Priority(value) for key, value in self.model_dump().items()}


class StationConfig(ConfigModel):
    """A whole station: identity, mounts and outputs, processing, failover, priorities."""

    station: StationInfo = Field(description="Identity and time zone.")
    mounts: list[Mount] = Field(min_length=1, description="Programme feeds and their outputs.")
    dsp_graph: DspGraph = Field(
        default_factory=DspGraph, description="Processing of the master bus."
    )
    failover: Failover = Field(default_factory=Failover, description="Failover rules.")
    harbor: Harbor = Field(default_factory=Harbor, description="Live DJ input.")
    priorities: Priorities = Field(
        default_factory=Priorities.default, description="The priority ladder."
    )
    eas: EasConfig | None = Field(default=None, description="Emergency alerts (optional).")

    @field_validator("dsp_graph", "failover", "harbor", "priorities", mode="before")
    @classmethod
    def _empty_section_means_defaults(cls, value: object, info: ValidationInfo) -> object:
        # `failover:` with every key commented out reads as None; treat it as
        # "all defaults" rather than as an error.
        if value is None and info.field_name is not None:
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return value

    @field_validator("mounts")
    @classmethod
    def _unique_mount_ids(cls, mounts: list[Mount]) -> list[Mount]:
        check_unique_ids(mounts, "mount")
        return mounts


def parse_station_config(text: str, filename: str = "<string>") -> StationConfig:
    """Validate station config YAML ``text``; ``filename`` is used in messages.

    Raises ``ConfigError`` with one line per problem, sorted by line.
    """
    return parse_document(text, filename, StationConfig, what="station config", keys=_KEYS)


def load_station_config(path: str | os.PathLike[str]) -> StationConfig:
    """Read and validate the station config file at ``path``.

    Relative paths in it (recordings, HLS, fallback…) are made absolute against
    the file's folder; absolute ones are kept as written. Nothing on disk is
    checked (see ``check_station_file``). Messages name the file as given, so
    they match what the user typed.
    """
    return _read_station_file(path)[0]


@dataclass(frozen=True)
class StationFile:
    """A station file that passed ``check_station_file``, with what to warn about."""

    config: StationConfig
    """The config, every path absolute."""
    warnings: list[str] = field(default_factory=list)
    """``file:line key.path: message`` for inputs missing today (an emergency file, say)."""


def check_station_file(path: str | os.PathLike[str]) -> StationFile:
    """Read, validate and check on disk the station file at ``path``.

    Beyond ``load_station_config``: an output folder that cannot be created or
    written, or an input that cannot be read, is an error naming its key and
    line; an input file that does not exist yet is a warning. Nothing is
    created (``grimnir engine`` creates the output folders when it starts).
    """
    config, document = _read_station_file(path)
    return _checked(config, document, os.fspath(path))


def check_station_text(text: str, filename: str) -> StationFile:
    """``check_station_file`` for station YAML in no file (the web UI's editor, an
    API request): the same problems in the same words, ``filename`` standing in
    for the file's name.

    Text has no folder to count a relative path from, so one is an error here
    (``~`` is the home folder of the process checking it).
    """
    config, document = parse_positioned(
        text, filename, StationConfig, what="station config", keys=_KEYS
    )
    relative = [
        Problem(
            document.line_of(key.key),
            key.key,
            f"{key.path!r} is a relative path; write it in full, like /srv/radio/{key.path} "
            "(a config that is not in a file has no folder to count it from)",
        )
        for key in path_keys(config)
        if not os.path.isabs(os.path.expanduser(key.path))
    ]
    if relative:
        raise_problems(relative, filename)
    config = resolve_paths(config, Path(os.path.abspath(os.sep)))
    return _checked(config, document, filename)


def _checked(config: StationConfig, document: PositionedYaml, filename: str) -> StationFile:
    """``config`` with its path warnings, or a ``ConfigError`` naming the paths the
    station cannot use."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for found in check_paths(config):
        problem = Problem(document.line_of(found.key), found.key, found.message)
        (errors if found.fatal else warnings).append(problem)
    if errors:
        raise_problems(errors, filename)
    warnings.sort(key=lambda problem: problem.line)
    return StationFile(config, [format_problem(problem, filename) for problem in warnings])


def _read_station_file(path: str | os.PathLike[str]) -> tuple[StationConfig, PositionedYaml]:
    text = read_document(path, "station config")
    config, document = parse_positioned(
        text, os.fspath(path), StationConfig, what="station config", keys=_KEYS
    )
    return resolve_paths(config, Path(os.path.abspath(path)).parent), document


_KEYS = "`station:` and `mounts:`"
