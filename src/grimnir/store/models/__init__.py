"""The database models. Import them from here; the modules are an implementation detail."""

from grimnir.store.models._base import NAMING_CONVENTION, Base
from grimnir.store.models.accounts import (
    ApiKey,
    AuditLog,
    LiveToken,
    Membership,
    RefreshToken,
    User,
)
from grimnir.store.models.alerts import EasAiring, EasAlert
from grimnir.store.models.cluster import ClusterNodeRecord, LeaseRecord
from grimnir.store.models.imports import Import, ImportRecord
from grimnir.store.models.media import MediaItem
from grimnir.store.models.programming import (
    Clock,
    ClockSlot,
    Playlist,
    PlaylistItem,
    Show,
    ShowContent,
    ShowException,
    SmartBlock,
)
from grimnir.store.models.stations import Mount, Output, Station, Webstream
from grimnir.store.models.timeline import (
    AsRun,
    ExecutorStateRecord,
    LiveSession,
    PrioritySource,
    TimelineEntry,
)

metadata = Base.metadata
"""All tables; the target of the migrations."""

__all__ = [
    "NAMING_CONVENTION",
    "ApiKey",
    "AsRun",
    "AuditLog",
    "Base",
    "Clock",
    "ClockSlot",
    "ClusterNodeRecord",
    "EasAiring",
    "EasAlert",
    "ExecutorStateRecord",
    "Import",
    "ImportRecord",
    "LeaseRecord",
    "LiveSession",
    "LiveToken",
    "MediaItem",
    "Membership",
    "Mount",
    "Output",
    "Playlist",
    "PlaylistItem",
    "PrioritySource",
    "RefreshToken",
    "Show",
    "ShowContent",
    "ShowException",
    "SmartBlock",
    "Station",
    "TimelineEntry",
    "User",
    "Webstream",
    "metadata",
]
