"""Values describing what a station should look like; ``repos.upsert_station`` applies them."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from grimnir.domain import AudioFormat, ConfigError, OutputKind


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One destination of a mount. ``settings`` holds what the output kind needs
    (host, port, password reference, path…)."""

    kind: OutputKind
    format: AudioFormat
    bitrate_kbps: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bitrate_kbps is not None and self.bitrate_kbps <= 0:
            raise ConfigError(
                f"output bitrate must be a positive number of kbit/s, got {self.bitrate_kbps}"
            )


@dataclass(frozen=True, slots=True)
class MountSpec:
    """A named stream of the station; its outputs in order."""

    key: str
    name: str
    outputs: list[OutputSpec] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A station as its config declares it. ``id`` is stable across renames."""

    id: uuid.UUID
    short_name: str
    name: str
    timezone: str = "UTC"
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    mounts: list[MountSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.short_name:
            raise ConfigError(f"station {self.id} needs a short_name")
        twice = sorted(k for k, n in Counter(m.key for m in self.mounts).items() if n > 1)
        if twice:
            raise ConfigError(
                f"station {self.short_name!r} declares mount key(s) more than once: "
                f"{', '.join(twice)}; each mount needs its own key"
            )
