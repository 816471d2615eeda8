"""Unit types, so a sample count never meets a millisecond count unnoticed.

The engine runs at 48 kHz in blocks of 960 frames (20 ms); the conversions
here are exact for every whole millisecond at that rate.
"""

from __future__ import annotations

from typing import Final, NewType

Millis = NewType("Millis", int)
"""A duration or offset in milliseconds."""

Frames = NewType("Frames", int)
"""A count of audio frames (one sample per channel)."""

SAMPLE_RATE: Final = 48_000
CHANNELS: Final = 2
BLOCK_FRAMES: Final = Frames(960)
BLOCK_MILLIS: Final = Millis(20)


def millis_to_frames(ms: Millis, rate: int = SAMPLE_RATE) -> Frames:
    """Frames in ``ms`` milliseconds, rounded to the nearest frame."""
    return Frames((ms * rate + 500) // 1000)


def frames_to_millis(frames: Frames, rate: int = SAMPLE_RATE) -> Millis:
    """Milliseconds in ``frames``, rounded to the nearest millisecond."""
    return Millis((frames * 1000 + rate // 2) // rate)


def seconds_to_millis(seconds: float) -> Millis:
    """Milliseconds in ``seconds``, rounded to the nearest millisecond."""
    return Millis(round(seconds * 1000))


def blocks_in(frames: Frames, block: Frames = BLOCK_FRAMES) -> int:
    """Whole blocks needed to hold ``frames`` (a partial block counts as one)."""
    return -(-frames // block)
