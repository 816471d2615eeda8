"""The one library error that changes what ingest does with a file.

Kept apart from ``analysis.py`` (which imports PyAV and numpy) so ingest and
the API can tell it apart without loading the decoder.
"""

from __future__ import annotations

from grimnir.domain.errors import LibraryError


class NoAudioError(LibraryError):
    """The file holds no audio that decodes: empty, not audio at all, or not one
    audio frame of it is readable. Such a file can never play, so ingest refuses
    it (no item, nothing stored) instead of keeping a failed item.

    A :class:`LibraryError` still, so callers that only care that analysis
    failed need not know it. (Audio that decodes but is refused by policy —
    silent, too long, too corrupt — raises a plain ``LibraryError``.)
    """


__all__ = ["NoAudioError"]
