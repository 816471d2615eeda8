"""The library's ingest service: files in, READY (or FAILED) items out.

The CLI (`grimnir library scan/reanalyze`) and the upload API use these:

- :func:`ingest_file` takes one file (hash, dedup, tags, analysis);
- :func:`scan` walks a folder with it, resumably, as fast as the pool allows;
- :func:`reanalyze` renews the analysis of chosen items;
- :func:`recover_stuck` brings back items whose analysis died with its process;
- :func:`discard_item` deletes an item that is not to be kept, with its files.

States go pending → analyzing → ready | failed(reason) and each is committed
as it happens, so an item is never lost in between. A file with no audio at
all is ``Outcome.REFUSED`` and gets no item.
"""

from __future__ import annotations

from grimnir.library._errors import NoAudioError
from grimnir.library._ingest import (
    MAX_ATTEMPTS,
    IngestResult,
    Outcome,
    analyze_item,
    discard_item,
    ingest_file,
    recover_stuck,
    sha256_of,
)
from grimnir.library._scan import (
    NOT_AUDIO,
    Progress,
    ScanReport,
    audio_candidates,
    reanalyze,
    scan,
    stuck_after_s,
)

__all__ = [
    "MAX_ATTEMPTS",
    "NOT_AUDIO",
    "IngestResult",
    "NoAudioError",
    "Outcome",
    "Progress",
    "ScanReport",
    "analyze_item",
    "audio_candidates",
    "discard_item",
    "ingest_file",
    "reanalyze",
    "recover_stuck",
    "scan",
    "sha256_of",
    "stuck_after_s",
]
