"""Writing a stream to a file: offline renders and recordings.

Under the virtual clock (``synchronous=True``) the file is written directly,
so a render never loses a byte and stays deterministic. Under the realtime
clock a disk that stalls must not stall the station, so chunks go through a
bounded queue to a writer thread; when the queue is full the oldest chunk is
dropped and counted. For WAV the ``finalize`` hook rewrites the header with the
true sizes when the file is closed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from grimnir.domain.errors import EngineError
from grimnir.engine.outputs._base import DropOldestQueue, Output, OutputState

Finalizer = Callable[[int], bytes]
"""Given the bytes written after the header, returns the header to write over
the start of the file (b"" for none); e.g. ``WavEncoder.finalize_header``."""

DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024
"""About 8 minutes of 128 kbps MP3, 45 s of WAV."""


class FileOutput(Output):
    """Writes ``encoder_header`` and then every chunk to ``path``; parent folders are made.

    ``synchronous=True`` writes in the caller's thread and raises
    ``EngineError`` at once if the file cannot be opened. ``synchronous=False``
    opens and writes on a writer thread: ``write`` only queues (at most
    ``max_queued_bytes``; the oldest chunks are dropped beyond that) and
    ``close`` waits up to ``close_timeout`` seconds for the queue to drain.
    After an I/O error the output is ``down`` and drops what it is given.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        encoder_header: bytes = b"",
        *,
        synchronous: bool,
        name: str | None = None,
        finalize: Finalizer | None = None,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        close_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path)
        super().__init__(name if name is not None else f"file:{self.path}")
        self.synchronous = synchronous
        self.close_timeout = close_timeout
        self._header = encoder_header
        self._finalize = finalize
        self._file: BinaryIO | None = None
        self._file_bytes = 0
        self._queue = DropOldestQueue(max_queued_bytes)
        self._closing = False
        self._wakeup = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        if synchronous:
            try:
                self._open()
            except OSError as exc:
                self._finish()
                raise EngineError(
                    f"cannot write {self.path}: {exc.strerror or exc}; "
                    "check that the folder is writable and the disk has room"
                ) from None
            self._state = OutputState.UP
        else:
            self._thread = threading.Thread(
                target=self._run, name=f"output-{self.name}", daemon=True
            )
            self._thread.start()

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for the writer thread (always 0 when synchronous)."""
        return self._queue.bytes

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.synchronous:
            if self._state is OutputState.UP:
                self._write_now([data])
            else:
                self._drop(len(data))
            return
        with self._wakeup:
            if self._closing or self._state in (OutputState.DOWN, OutputState.CLOSED):
                self.dropped_bytes += len(data)
                return
            self.dropped_bytes += self._queue.push(data)
            self._wakeup.notify()

    def close(self) -> None:
        if self._state is OutputState.CLOSED and self._file is None:
            return
        thread = self._thread
        if thread is not None:
            with self._wakeup:
                self._closing = True
                self._wakeup.notify()
            thread.join(self.close_timeout)
            if thread.is_alive():
                self.last_error = (
                    f"{self.path}: the disk did not take the last "
                    f"{self._queue.bytes} bytes within {self.close_timeout:g} s"
                )
                self._state = OutputState.CLOSED
                return
        else:
            self._finish()
        self._state = OutputState.CLOSED

    # -- the file ---------------------------------------------------------------------

    def _open(self) -> None:
        """Make the folders, create the file and write the header (raises OSError)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # NOTE: unbuffered, so an error is seen at the write that failed and the
        # counters say exactly what reached the file; chunks are large enough.
        self._file = self.path.open("wb", buffering=0)
        if self._header:
            self._write_all(self._file, self._header)

    def _write_all(self, file: BinaryIO, data: bytes) -> None:
        """Write all of ``data``, counting what got through (raises OSError)."""
        view = memoryview(data)
        while view:
            count = file.write(view)
            self._file_bytes += count
            self.bytes_written += count
            view = view[count:]

    def _write_now(self, chunks: list[bytes]) -> bool:
        """Write ``chunks``; on an I/O error go down and count the rest as dropped."""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        before = self.bytes_written
        try:
            if self._file is None:
                raise OSError("the file is not open")
            self._write_all(self._file, data)
        except OSError as exc:
            self._fail(f"{self.path}: {exc.strerror or exc}")
            self._drop(len(data) - (self.bytes_written - before))
            return False
        return True

    def _finish(self) -> None:
        """Rewrite the header if asked and close; errors only go to ``last_error``."""
        file, self._file = self._file, None
        if file is None:
            return
        try:
            if self._finalize is not None and self._state is OutputState.UP:
                header = self._finalize(self._file_bytes - len(self._header))
                if header:
                    file.seek(0)
                    file.write(header)
        except OSError as exc:
            self._fail(f"{self.path}: {exc.strerror or exc}")
        finally:
            try:
                file.close()
            except OSError as exc:
                self._fail(f"{self.path}: {exc.strerror or exc}")

    # -- the writer thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._open()
        except OSError as exc:
            with self._wakeup:
                self._fail(f"{self.path}: {exc.strerror or exc}")
                self.dropped_bytes += sum(len(c) for c in self._queue.drain())
            self._finish()
            return
        with self._wakeup:
            if self._state is OutputState.CONNECTING:
                self._state = OutputState.UP
        while True:
            with self._wakeup:
                while not self._queue and not self._closing:
                    self._wakeup.wait()
                if not self._queue:
                    break  # closing and drained
                chunks = self._queue.drain()
            if not self._write_now(chunks):
                break
        if self._state is OutputState.DOWN:
            with self._wakeup:
                self.dropped_bytes += sum(len(c) for c in self._queue.drain())
        self._finish()
