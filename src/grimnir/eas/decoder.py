"""Software SAME decoder: PCM in, headers and end-of-message codes out.

Every burst heard is reported with its sample position; bursts a second
apart are grouped into messages and, as ENDECs do, a message is confirmed
when two of its three bursts agree (or, all three differing, when a
character-by-character vote of three equal-length bursts gives a valid
header). Works at any sample rate ≥ 8 kHz, mono float PCM of any level.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from grimnir.eas._demod import WORK_RATE, Discriminator, RawBurst, decimate, read_burst
from grimnir.eas.errors import SameError
from grimnir.eas.same import EOM_TEXT, SameHeader

#: Longest pause between bursts of one message (§11.31 sends them 1 s apart).
MAX_BURST_GAP_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class SameBurst:
    """One burst as heard: its text and where it lies in the input (samples)."""

    text: str
    start: int
    end: int
    confidence: float
    complete: bool

    @property
    def is_eom(self) -> bool:
        """Whether this burst is the end-of-message code ``NNNN``."""
        return self.text == EOM_TEXT


@dataclass(frozen=True, slots=True)
class SameMessage:
    """Bursts of one transmission and what they say together.

    ``text`` is the agreed text (``None`` when no two bursts agree);
    ``header`` its parsed header (``None`` for an EOM or an invalid header,
    then ``error`` says why).
    """

    bursts: tuple[SameBurst, ...]
    text: str | None
    header: SameHeader | None
    error: str | None

    @property
    def confirmed(self) -> bool:
        """Whether the text was agreed by at least two bursts (or a valid vote)."""
        return self.text is not None

    @property
    def is_eom(self) -> bool:
        """Whether the agreed text is the end-of-message code."""
        return self.text == EOM_TEXT

    @property
    def start(self) -> int:
        """First sample of the first burst."""
        return self.bursts[0].start

    @property
    def end(self) -> int:
        """Sample after the last burst."""
        return self.bursts[-1].end


@dataclass(frozen=True, slots=True)
class SameDecode:
    """All bursts heard and the messages they form, in time order."""

    bursts: tuple[SameBurst, ...]
    messages: tuple[SameMessage, ...]

    @property
    def headers(self) -> list[SameHeader]:
        """The confirmed, valid headers."""
        return [m.header for m in self.messages if m.header is not None]

    @property
    def eoms(self) -> list[SameMessage]:
        """The confirmed end-of-message codes."""
        return [m for m in self.messages if m.is_eom]


def decode_same(
    pcm: npt.ArrayLike, rate: int, *, year: int | None = None, now: datetime | None = None
) -> SameDecode:
    """Decode every SAME burst in mono ``pcm`` at ``rate`` Hz.

    ``year`` / ``now`` date the JJJHHMM of headers (see :meth:`SameHeader.parse`).
    """
    if rate < 8000:
        raise SameError(f"sample rate {rate} Hz: SAME needs at least 8000 Hz (mark is 2083 Hz)")
    x = np.asarray(pcm, dtype=np.float64).reshape(-1)
    work, factor = decimate(x, rate)
    disc = Discriminator.of(work, rate / factor)
    bursts: list[SameBurst] = []
    end = -1.0
    for sync, kind in disc.sync_points():
        if sync < end:
            continue
        raw = read_burst(disc, sync, kind)
        if sum(a == b for a, b in zip(raw.text[:4], kind, strict=False)) < 3:
            continue  # not a burst: music or noise that looked like a preamble
        bursts.append(_scaled(raw, factor))
        end = raw.end
    return SameDecode(tuple(bursts), tuple(_messages(bursts, rate, year, now)))


def _scaled(raw: RawBurst, factor: int) -> SameBurst:
    return SameBurst(
        raw.text,
        max(0, round(raw.start * factor)),
        round(raw.end * factor),
        raw.confidence,
        raw.complete,
    )


def _messages(
    bursts: list[SameBurst], rate: int, year: int | None, now: datetime | None
) -> list[SameMessage]:
    groups: list[list[SameBurst]] = []
    for burst in bursts:
        last = groups[-1] if groups else None
        if (
            last is not None
            and len(last) < 3
            and last[-1].is_eom == burst.is_eom
            and burst.start - last[-1].end <= MAX_BURST_GAP_SECONDS * rate
        ):
            last.append(burst)
        else:
            groups.append([burst])
    return [_message(group, year, now) for group in groups]


def _agreed(texts: list[str]) -> str | None:
    text, votes = Counter(texts).most_common(1)[0]
    if votes >= 2:
        return text
    if len(texts) == 3 and len({len(t) for t in texts}) == 1:
        voted = "".join(Counter(chars).most_common(1)[0][0] for chars in zip(*texts, strict=True))
        return voted
    return None


def _message(group: list[SameBurst], year: int | None, now: datetime | None) -> SameMessage:
    texts = [b.text for b in group if b.complete]
    text = _agreed(texts) if texts else None
    if text is None:
        heard = " / ".join(b.text for b in group)
        return SameMessage(tuple(group), None, None, f"no two bursts agree: {heard}")
    if text == EOM_TEXT:
        return SameMessage(tuple(group), text, None, None)
    try:
        header = SameHeader.parse(text, year=year, now=now)
    except SameError as error:
        return SameMessage(tuple(group), None, None, str(error))
    return SameMessage(tuple(group), text, header, None)


#: Audio a stream decoder keeps: three of the longest headers (4.1 s each) and pauses.
STREAM_KEEP_SECONDS = 20.0


class SameStreamDecoder:
    """Decodes SAME from audio arriving in pieces (a monitored station, a weather radio).

    :meth:`feed` returns each message once, as soon as it is complete: three
    bursts heard, or no further burst possible within the pause limit.
    Positions count samples from the first one fed. Feed pieces of a second
    or more: each call decodes the retained window (at most
    :data:`STREAM_KEEP_SECONDS` plus what is pending).
    """

    def __init__(self, rate: int, *, year: int | None = None) -> None:
        if rate < 8000:
            raise SameError(f"sample rate {rate} Hz: SAME needs at least 8000 Hz")
        self.rate = rate
        self.year = year
        self._buffer = np.zeros(0, dtype=np.float32)
        self._offset = 0
        self._emitted_end = 0

    def feed(self, pcm: npt.ArrayLike, now: datetime | None = None) -> list[SameMessage]:
        """Messages completed by this piece of audio, oldest first."""
        piece = np.asarray(pcm, dtype=np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, piece])
        end = len(self._buffer)
        result = decode_same(self._buffer, self.rate, year=self.year, now=now)
        ready: list[SameMessage] = []
        pending_start = end
        for message in result.messages:
            if self._offset + message.start < self._emitted_end:
                continue  # a message already given (or a cut-off piece of one)
            finished = len(message.bursts) == 3 or (
                end - message.end > MAX_BURST_GAP_SECONDS * self.rate
            )
            if finished:
                ready.append(_shifted(message, self._offset))
                self._emitted_end = self._offset + message.end
            else:
                pending_start = min(pending_start, message.start)
        keep_from = max(
            end - round(STREAM_KEEP_SECONDS * self.rate), self._emitted_end - self._offset
        )
        cut = min(keep_from, pending_start)
        cut -= cut % max(1, self.rate // WORK_RATE)  # same decimation phase as before
        if cut > 0:
            self._buffer = self._buffer[cut:]
            self._offset += cut
        return ready


def _shifted(message: SameMessage, offset: int) -> SameMessage:
    bursts = tuple(
        SameBurst(b.text, b.start + offset, b.end + offset, b.confidence, b.complete)
        for b in message.bursts
    )
    return SameMessage(bursts, message.text, message.header, message.error)
