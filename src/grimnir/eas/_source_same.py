"""Monitoring an upstream station by ear: SAME decoded from a web stream.

PyAV (FFmpeg) opens anything FFmpeg can read — HTTP/Icecast MP3, AAC or
Ogg, and RTP, SRT or UDP where the FFmpeg build has them — and decodes it to
mono float PCM; :class:`~grimnir.eas.decoder.SameStreamDecoder` hears the
bursts. Decoding runs on a worker thread (PyAV releases the GIL) so the
event loop never waits on the network or the DSP.

As ENDECs do, a header heard again (an upstream re-airing the same alert,
or a reconnect replaying it) is delivered once, and repeated EOMs with no
header between them count as one end of message.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import av
import numpy as np
import numpy.typing as npt

from grimnir.eas._source_base import AlertSource, Backoff, Deliver, SeenSet, log
from grimnir.eas.decoder import SameMessage, SameStreamDecoder

#: Rate the stream is resampled to: SAME's tones (≤ 2.1 kHz) need no more.
MONITOR_RATE = 16_000

#: What the worker thread reports: connected, messages heard, or why it ended.
_Item = tuple[Literal["open", "messages", "end"], list[SameMessage], str]


class SameMonitor(AlertSource):
    """Listens to ``url`` and delivers each confirmed SAME header and EOM once.

    The stream is reopened with backoff whenever it ends or fails. ``options``
    go to FFmpeg (``{"rtsp_transport": "tcp"}``, …). The label is
    ``same-monitor:<url>``.
    """

    def __init__(
        self,
        url: str,
        deliver: Deliver,
        *,
        rate: int = MONITOR_RATE,
        piece_s: float = 1.0,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        options: dict[str, str] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if piece_s < 0.5:
            raise ValueError(f"SAME monitor piece {piece_s} s: feed the decoder ≥ 0.5 s at a time")
        super().__init__(f"same-monitor:{url}", deliver, backoff or Backoff(1.0, 60.0))
        self.url = url
        self.rate = rate
        self.piece_s = piece_s
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.options = dict(options or {})
        self.connections = 0
        self._headers = SeenSet(256)
        self._after_eom = False

    async def _main(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            reason = await self._listen()
            if await self._pause(stop, self._failed(reason)):
                return

    async def _listen(self) -> str:
        """Decode one connection of the stream; why it ended."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        halt = threading.Event()

        def emit(item: _Item) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, item)

        worker = threading.Thread(
            target=self._decode, args=(halt, emit), name=f"same-monitor {self.url}", daemon=True
        )
        worker.start()
        try:
            while True:
                kind, messages, ended = await queue.get()
                if kind == "open":
                    self._ok()
                for message in messages:
                    await self._message(message)
                if kind == "end":
                    return ended
        finally:
            halt.set()
            await asyncio.to_thread(worker.join)

    def _decode(self, halt: threading.Event, emit: Callable[[_Item], None]) -> None:
        """Worker thread: stream → mono PCM → SAME messages, then why it ended."""
        try:
            emit(("end", [], self._decode_stream(halt, emit)))
        except Exception as error:  # anything FFmpeg or the decoder raised ends this connection
            emit(("end", [], f"stream failed: {type(error).__name__}: {error}"))

    def _decode_stream(self, halt: threading.Event, emit: Callable[[_Item], None]) -> str:
        try:
            container = av.open(
                self.url, timeout=(self.open_timeout_s, self.read_timeout_s), options=self.options
            )
        except av.FFmpegError as error:
            return f"cannot open the stream: {error}"
        with container:
            if not container.streams.audio:
                return "the stream has no audio"
            self.connections += 1
            emit(("open", [], ""))
            log.info("%s: listening", self.label)
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
            decoder = SameStreamDecoder(self.rate)
            piece = round(self.piece_s * self.rate)
            pending: list[npt.NDArray[np.float32]] = []
            size = 0
            for packet in container.demux(stream):
                if halt.is_set():
                    return "stopped"
                try:
                    frames = packet.decode()
                except av.InvalidDataError:
                    continue  # a damaged packet: FFmpeg resynchronises on the next
                for frame in frames:
                    for out in resampler.resample(frame):
                        pending.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
                        size += out.samples
                if size >= piece:
                    emit(("messages", decoder.feed(np.concatenate(pending), datetime.now(UTC)), ""))
                    pending, size = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
            # Silence flushes a message whose pause limit is still open.
            pending.append(np.zeros(4 * self.rate, dtype=np.float32))
            emit(("messages", decoder.feed(np.concatenate(pending), datetime.now(UTC)), ""))
        return "the stream ended"

    async def _message(self, message: SameMessage) -> None:
        if not message.confirmed:
            self._reject(f"SAME heard but not confirmed: {message.error}")
        elif message.is_eom:
            if self._after_eom:
                log.info("%s: repeated EOM ignored", self.label)
                return
            self._after_eom = True
            await self._hand_on(message)
        elif message.header is None:
            self._reject(f"SAME header invalid: {message.error}")
        elif message.text in self._headers:
            log.info("%s: header heard again, ignored: %s", self.label, message.text)
        else:
            self._headers.add(message.text)
            self._after_eom = False
            await self._hand_on(message)
