"""The planner: turns a station's rules into a concrete, time-ordered timeline.

Tracks come from ``TrackLibrary`` (READY media in memory); smart blocks and
playlists fill spans of air time through one ``PlayHistory``, so separation
holds across blocks, shows and the day boundary.
"""

from grimnir.planner._load import Context, load_context
from grimnir.planner._result import Fill
from grimnir.planner._text import register_sqlite_functions
from grimnir.planner._time import zone
from grimnir.planner.builder import LOCK, build, simulate
from grimnir.planner.clocks import DEFAULT_CLOCK_NAME, ClockSpec, SlotInstance, SlotSpec
from grimnir.planner.history import Play, PlayHistory
from grimnir.planner.playlists import (
    PlaylistSpec,
    PlaylistState,
    Rotation,
    load_playlists,
    playlist_fill,
)
from grimnir.planner.reports import (
    BuildReport,
    Gap,
    PlannedEntry,
    Relaxation,
    TimelineDiff,
    UnderFill,
    diff,
)
from grimnir.planner.rules import Modifier, Rule, RuleSet
from grimnir.planner.shows import Conflict, Occurrence, ShowSchedule, occurrences, schedule
from grimnir.planner.smartblock import (
    DEFAULT_SEPARATION,
    Separation,
    SmartBlockSpec,
    fill,
    load_smart_blocks,
)
from grimnir.planner.tracks import Track, TrackLibrary

__all__ = [
    "DEFAULT_CLOCK_NAME",
    "DEFAULT_SEPARATION",
    "LOCK",
    "BuildReport",
    "ClockSpec",
    "Conflict",
    "Context",
    "Fill",
    "Gap",
    "Modifier",
    "Occurrence",
    "PlannedEntry",
    "Play",
    "PlayHistory",
    "PlaylistSpec",
    "PlaylistState",
    "Relaxation",
    "Rotation",
    "Rule",
    "RuleSet",
    "Separation",
    "ShowSchedule",
    "SlotInstance",
    "SlotSpec",
    "SmartBlockSpec",
    "TimelineDiff",
    "Track",
    "TrackLibrary",
    "UnderFill",
    "build",
    "diff",
    "fill",
    "load_context",
    "load_playlists",
    "load_smart_blocks",
    "occurrences",
    "playlist_fill",
    "register_sqlite_functions",
    "schedule",
    "simulate",
    "zone",
]
