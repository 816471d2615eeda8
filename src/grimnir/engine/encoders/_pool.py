"""Shared encoders: one per (format, bitrate), however many outputs take it.

Encoding is most of a station's CPU, so two Icecast mounts and a recording at
MP3 128 kbps must cost one MP3 encoder, not three. Outputs ``acquire`` a
handle; the pool encodes each block once per live encoder and the engine hands
each output the bytes of its handle's key. The last ``release`` closes the
encoder. Used from the block loop only (not thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grimnir.domain.catalog import AudioFormat
from grimnir.domain.errors import EngineError
from grimnir.engine.audio import Block
from grimnir.engine.encoders._base import Encoder
from grimnir.engine.encoders._factory import create_encoder, normalize_bitrate

EncoderFactory = Callable[..., Encoder]
"""Makes an encoder like ``create_encoder(format, bitrate_kbps, mp3_quality=…)``."""


@dataclass(frozen=True, slots=True)
class EncoderKey:
    """What makes two outputs share an encoder: format and (normalised) bitrate."""

    format: AudioFormat
    bitrate_kbps: int | None

    def __str__(self) -> str:
        if self.bitrate_kbps is None:
            return self.format.value
        return f"{self.format.value}@{self.bitrate_kbps}"


class EncoderHandle:
    """One output's claim on a shared encoder; ``release()`` it when the output goes."""

    def __init__(self, pool: EncoderPool, key: EncoderKey, encoder: Encoder) -> None:
        self._pool = pool
        self.key = key
        self.encoder = encoder
        self.released = False

    def __repr__(self) -> str:
        state = " released" if self.released else ""
        return f"<EncoderHandle {self.key}{state}>"

    def stream_header(self) -> bytes:
        """What the output must send before the next chunk (see ``Encoder.stream_header``)."""
        return self.encoder.stream_header()

    def release(self) -> None:
        """Give the encoder back; safe to call more than once."""
        if not self.released:
            self.released = True
            self._pool._release(self)


@dataclass(slots=True)
class _Entry:
    encoder: Encoder
    refs: int = 0


class EncoderPool:
    """Reference-counted encoders shared by the outputs of one station."""

    def __init__(self, *, mp3_quality: int = 2, factory: EncoderFactory = create_encoder) -> None:
        self.mp3_quality = mp3_quality
        self._factory = factory
        self._entries: dict[EncoderKey, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def keys(self) -> list[EncoderKey]:
        """The live encoders' keys, in the order they were created."""
        return list(self._entries)

    def acquire(
        self,
        format: AudioFormat,
        bitrate_kbps: int | None = None,
        *,
        mp3_quality: int | None = None,
    ) -> EncoderHandle:
        """A handle on the encoder for ``format`` at ``bitrate_kbps``, made if needed.

        ``mp3_quality`` (default: the pool's) applies when the encoder is made;
        a later output of the same key shares the existing one. Raises
        ``EngineError`` for an impossible format/bitrate.
        """
        format = AudioFormat(format)
        key = EncoderKey(format, normalize_bitrate(format, bitrate_kbps))
        entry = self._entries.get(key)
        if entry is None:
            quality = self.mp3_quality if mp3_quality is None else mp3_quality
            encoder = self._factory(format, key.bitrate_kbps, mp3_quality=quality)
            entry = self._entries[key] = _Entry(encoder)
        entry.refs += 1
        return EncoderHandle(self, key, entry.encoder)

    def refs(self, key: EncoderKey) -> int:
        """How many handles hold the encoder of ``key`` (0 when there is none)."""
        entry = self._entries.get(key)
        return 0 if entry is None else entry.refs

    def encode(self, block: Block) -> dict[EncoderKey, bytes]:
        """Encode ``block`` once with every live encoder: key → bytes ready now."""
        return {key: entry.encoder.encode(block) for key, entry in self._entries.items()}

    def flush(self) -> dict[EncoderKey, bytes]:
        """End every stream: key → final bytes. The pool is empty afterwards.

        One failing encoder does not stop the others from finishing; its
        ``EngineError`` is raised after all have been tried.
        """
        out: dict[EncoderKey, bytes] = {}
        failure: EngineError | None = None
        entries, self._entries = self._entries, {}
        for key, entry in entries.items():
            try:
                out[key] = entry.encoder.flush()
            except EngineError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return out

    def close(self) -> None:
        """Drop every encoder without finishing its stream."""
        for entry in self._entries.values():
            entry.encoder.close()
        self._entries.clear()

    def _release(self, handle: EncoderHandle) -> None:
        entry = self._entries.get(handle.key)
        if entry is None or entry.encoder is not handle.encoder:
            return  # the pool was flushed or closed since; nothing to give back
        entry.refs -= 1
        if entry.refs <= 0:
            del self._entries[handle.key]
            entry.encoder.close()
