"""Errors of emergency alerting: each names what is wrong and what to do."""

from __future__ import annotations

from grimnir.domain.errors import GrimnirError


class EasError(GrimnirError):
    """Base of every error the alerting package raises on purpose."""


class SameError(EasError, ValueError):
    """A SAME header (47 CFR §11.31) is malformed: the message names the field."""


class CapError(EasError):
    """A CAP 1.2 / CAP-CP document was refused: unsafe, too big, malformed or invalid.

    The message names the element (``alert/info[1]/urgency``) and what is wrong
    with it, so it can go straight into the compliance log.
    """


class SpeechError(EasError):
    """Text to speech failed (espeak-ng missing or refusing the text)."""
