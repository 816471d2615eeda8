"""A process pool for media analysis that survives bad files.

Decoding untrusted files is where a library meets its worst input: a file
that makes FFmpeg spin forever, one that segfaults a decoder, one that eats
all memory until the kernel kills the process. ``ProcessPoolExecutor`` can
neither stop a stuck task nor carry on after a worker dies (the whole pool
turns "broken"), so the library runs its own pool:

- every worker has its own pipe and runs one task at a time, so the pool
  always knows which file each worker holds (a shared ``multiprocessing``
  queue could be left locked forever by a worker killed while reading it);
- a monitor thread hands out tasks, collects results, kills a worker whose
  task passed its deadline and replaces any worker that died;
- a task whose worker died is retried on a fresh worker, up to
  ``max_attempts`` times; a task that ran past its deadline is not retried
  (it would only hang again);
- ``close()`` stops every worker, so nothing outlives the pool; workers also
  exit on their own when the process that started them disappears.

Tasks are top-level (picklable) functions; the result or the exception they
raise comes back to the caller. The async API (``call``, ``analyze``) can be
used from any event loop; at most ``max_in_flight`` tasks per loop are queued
or running at once, further callers wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from grimnir.domain.errors import LibraryError
from grimnir.library._monitor import BusyWorker, PoolStats, Supervisor, Task

if TYPE_CHECKING:
    from multiprocessing.context import ForkServerContext, SpawnContext

    from grimnir.library.analysis import AnalysisOptions, MediaAnalysis

T = TypeVar("T")

_PRELOAD = ["grimnir.library._worker", "grimnir.library.analysis", "grimnir.library.tags"]


@dataclass
class _Limit:
    loop: asyncio.AbstractEventLoop
    semaphore: asyncio.Semaphore = field(init=False)
    size: int

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.size)


class AnalysisPool:
    """Worker processes that analyse media files, one task per worker at a time.

    ``workers`` defaults to one per core; ``timeout_s`` is the default
    deadline of a task (an hour-long programme takes a few seconds, so two
    minutes means the decoder is stuck); ``max_attempts`` is how often a task
    is started when its worker keeps dying. ``memory_limit_mb`` caps each
    worker's address space, so a file that makes a decoder allocate without
    end fails in that worker instead of pushing the machine into swap.
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = 120.0,
        *,
        max_attempts: int = 3,
        max_in_flight: int | None = None,
        memory_limit_mb: int | None = None,
        start_method: str | None = None,
    ) -> None:
        count = workers if workers is not None else (os.cpu_count() or 1)
        if count < 1:
            raise LibraryError(f"an analysis pool needs at least one worker, got {count}")
        if timeout_s <= 0:
            raise LibraryError(f"the analysis timeout must be positive, got {timeout_s} s")
        if max_attempts < 1:
            raise LibraryError(f"max_attempts must be at least 1, got {max_attempts}")
        self.workers = count
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_in_flight = max_in_flight if max_in_flight is not None else 2 * count
        self.memory_limit_mb = memory_limit_mb
        self.stats = PoolStats()
        self._supervisor = Supervisor(
            self._context(start_method),
            count,
            max_attempts=max_attempts,
            memory_limit_mb=memory_limit_mb,
            stats=self.stats,
        )
        self._ids = itertools.count(1)
        self._limits: dict[int, _Limit] = {}

    @staticmethod
    def _context(start_method: str | None) -> SpawnContext | ForkServerContext:
        # NOTE: never "fork": the parent runs threads and an event loop, and a
        # forked child may inherit a lock some thread held at that moment.
        methods = multiprocessing.get_all_start_methods()
        if start_method == "spawn" or (start_method is None and "forkserver" not in methods):
            return multiprocessing.get_context("spawn")
        if start_method not in (None, "forkserver"):
            raise LibraryError(f"start_method must be spawn or forkserver, not {start_method!r}")
        ctx = multiprocessing.get_context("forkserver")
        # new workers fork from a server that already imported PyAV and numpy
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> AnalysisPool:
        """Start the workers and the monitor thread (the first task does it otherwise)."""
        self._supervisor.start()
        return self

    def close(self) -> None:
        """Stop the workers; queued and running tasks fail with ``LibraryError``.
        Idempotent; no worker process outlives it."""
        self._supervisor.close()

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> AnalysisPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> AnalysisPool:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- submitting ----------------------------------------------------------

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout_s: float | None = None,
        label: str | None = None,
    ) -> concurrent.futures.Future[T]:
        """Queue ``fn(*args)``; the future holds its result or exception.

        ``fn`` must be a top-level function (it is pickled to the worker);
        ``label`` names the task in errors and in ``busy()``.
        """
        self.start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        task = Task(
            id=next(self._ids),
            fn=fn,
            args=args,
            timeout_s=timeout_s if timeout_s is not None else self.timeout_s,
            label=label if label is not None else getattr(fn, "__name__", "task"),
            future=future,
        )
        self._supervisor.enqueue(task)
        return future

    async def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout_s: float | None = None,
        label: str | None = None,
    ) -> T:
        """Run ``fn(*args)`` in a worker and return its result (or raise its error).

        Waits while ``max_in_flight`` calls of this event loop are already in
        the pool. Cancelling the caller drops the task if it has not started.
        """
        limit = self._limit()
        async with limit.semaphore:
            future = self.submit(fn, *args, timeout_s=timeout_s, label=label)
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                self._supervisor.cancel(future)
                raise

    async def analyze(self, path: str, options: AnalysisOptions) -> MediaAnalysis:
        """Analyse one file in a worker (see ``grimnir.library.analysis.analyze_file``)."""
        from grimnir.library.analysis import analyze_file

        return await self.call(analyze_file, path, options, label=path)

    def busy(self) -> list[BusyWorker]:
        """The workers running a task right now, with the task's label."""
        return self._supervisor.busy()

    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return self._supervisor.pids()

    def queued(self) -> int:
        """Tasks waiting for a free worker."""
        return self._supervisor.queued()

    def _limit(self) -> _Limit:
        loop = asyncio.get_running_loop()
        limit = self._limits.get(id(loop))
        if limit is None or limit.loop is not loop:
            limit = _Limit(loop=loop, size=self.max_in_flight)
            self._limits = {k: v for k, v in self._limits.items() if not v.loop.is_closed()}
            self._limits[id(loop)] = limit
        return limit


__all__ = ["AnalysisPool", "BusyWorker", "PoolStats"]
