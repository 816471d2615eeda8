"""The media library: tags, audio analysis, artwork thumbnails and file storage.

Ingest (the service, its worker pool and the ``grimnir library`` commands)
builds on these pieces: :func:`read_tags` for what the file says about itself,
:func:`analyze_file` for what its audio really is, :func:`thumbnail` for its
cover, and a :class:`Storage` backend to keep it.
"""

from grimnir.library._columns import MAX_CUSTOM_BYTES, MAX_TAG_BYTES, TAG_FIELDS
from grimnir.library.analysis import AnalysisOptions, MediaAnalysis, analyze_file
from grimnir.library.artwork import thumbnail
from grimnir.library.storage import LocalStorage, Storage, StoredFile, safe_name
from grimnir.library.tags import TagInfo, fix_text, read_tags

__all__ = [
    "MAX_CUSTOM_BYTES",
    "MAX_TAG_BYTES",
    "TAG_FIELDS",
    "AnalysisOptions",
    "LocalStorage",
    "MediaAnalysis",
    "Storage",
    "StoredFile",
    "TagInfo",
    "analyze_file",
    "fix_text",
    "read_tags",
    "safe_name",
    "thumbnail",
]

# ingest service, analysis pool and the planner's query (issue 5, ingest part)
from grimnir.library.ingest import (
    IngestResult,
    Outcome,
    ScanReport,
    ingest_file,
    reanalyze,
    recover_stuck,
    scan,
)
from grimnir.library.pool import AnalysisPool
from grimnir.library.queries import ready_media

__all__ += [
    "AnalysisPool",
    "IngestResult",
    "Outcome",
    "ScanReport",
    "ingest_file",
    "ready_media",
    "reanalyze",
    "recover_stuck",
    "scan",
]
