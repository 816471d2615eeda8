"""The worker processes of ``AnalysisPool`` and the thread that watches them.

One thread owns the workers: it hands each idle worker the next task over
the worker's own pipe, collects answers, kills a worker whose task passed its
deadline and replaces any worker that died, putting its task back in front
of the queue (or failing it after ``max_attempts``). Everything shared with
callers' threads is guarded by one lock; callers wake the thread through a
pipe, so it sleeps in ``wait()`` on pipes and process sentinels only.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from grimnir.domain.errors import LibraryError
from grimnir.library._worker import READY, worker_main

if TYPE_CHECKING:
    from multiprocessing.context import ForkServerContext, SpawnContext
    from multiprocessing.process import BaseProcess

_JOIN_S = 2.0  # how long closing waits for a worker to exit before killing it


@dataclass
class PoolStats:
    """What the pool has been through; for logs, the CLI summary and tests."""

    completed: int = 0
    failed: int = 0
    crashes: int = 0  # workers that died under a task
    retries: int = 0  # tasks started again after a crash
    timeouts: int = 0  # tasks killed at their deadline
    workers_started: int = 0


@dataclass
class Task:
    id: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    timeout_s: float
    label: str
    future: concurrent.futures.Future[Any]
    attempts: int = 0
    cancelled: bool = False


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: Task | None = None
    deadline: float = 0.0
    started_at: float = 0.0
    ready: bool = False
    """The worker said it is up: a task's deadline never includes a worker's start-up."""


@dataclass(frozen=True)
class BusyWorker:
    """A worker and the task it is running (see ``AnalysisPool.busy``)."""

    pid: int
    label: str
    running_s: float


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Runs ``count`` workers and the monitor thread that feeds and guards them."""

    def __init__(
        self,
        ctx: SpawnContext | ForkServerContext,
        count: int,
        *,
        max_attempts: int,
        memory_limit_mb: int | None,
        stats: PoolStats,
    ) -> None:
        self.count = count
        self.max_attempts = max_attempts
        self.memory_limit_mb = memory_limit_mb
        self.stats = stats
        self._ctx = ctx
        self._lock = threading.Lock()
        self._pending: deque[Task] = deque()
        self._workers: list[_Worker] = []
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._closing = False
        self._monitor: threading.Thread | None = None

    def start(self) -> None:
        """Start the workers and the monitor thread; once."""
        with self._lock:
            if self._closing:
                raise LibraryError("the analysis pool is closed")
            if self._monitor is not None:
                return
            for _ in range(self.count):
                self._workers.append(self._spawn())
            self._monitor = threading.Thread(
                target=self._run_monitor, name="analysis-pool", daemon=True
            )
            self._monitor.start()

    def close(self) -> None:
        """Stop every worker; queued and running tasks fail. Idempotent."""
        with self._lock:
            if self._closing and self._monitor is None:
                return
            self._closing = True
            monitor = self._monitor
        if monitor is None:
            self._fail_pending("the analysis pool was closed before this task ran")
        else:
            self._wake()
            monitor.join()
            with self._lock:
                self._monitor = None
        self._wake_r.close()
        self._wake_w.close()

    def enqueue(self, task: Task) -> None:
        with self._lock:
            if self._closing:
                raise LibraryError("the analysis pool is closed")
            self._pending.append(task)
        self._wake()

    def cancel(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            for task in self._pending:
                if task.future is future:
                    task.cancelled = True
        future.cancel()

    def busy(self) -> list[BusyWorker]:
        now = time.monotonic()
        with self._lock:
            return [
                BusyWorker(w.process.pid or 0, w.task.label, now - w.started_at)
                for w in self._workers
                if w.task is not None
            ]

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid or 0 for w in self._workers]

    def queued(self) -> int:
        with self._lock:
            return len(self._pending)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed: the monitor has gone
            self._wake_w.send_bytes(b"w")

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker_main,
            args=(child, self.memory_limit_mb),
            name="grimnir-analysis",
            daemon=True,
        )
        process.start()
        child.close()
        self.stats.workers_started += 1
        return _Worker(process=process, conn=parent)

    def _run_monitor(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closing:
                        break
                    self._dispatch()
                    waitables: list[Any] = [self._wake_r]
                    for w in self._workers:
                        waitables.append(w.process.sentinel)
                        if w.task is not None or not w.ready:
                            waitables.append(w.conn)
                    deadlines = [w.deadline for w in self._workers if w.task is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = wait(waitables, timeout)
                with self._lock:
                    if self._wake_r in ready:
                        while self._wake_r.poll():
                            self._wake_r.recv_bytes()
                    self._collect(ready)
                    self._enforce_deadlines()
        finally:
            self._shutdown()

    def _dispatch(self) -> None:
        for worker in self._workers:
            if worker.task is None and worker.ready:
                self._assign(worker)

    def _assign(self, worker: _Worker) -> None:
        while self._pending:
            task = self._pending.popleft()
            if task.cancelled or task.future.done():
                continue
            try:
                payload = pickle.dumps((task.fn, task.args), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as e:  # the task cannot be pickled: the caller's mistake
                self.stats.failed += 1
                task.future.set_exception(
                    LibraryError(f"cannot send {task.label} to an analysis worker: {e}")
                )
                continue
            message = pickle.dumps((task.id, payload), protocol=pickle.HIGHEST_PROTOCOL)
            try:
                worker.conn.send_bytes(message)
            except OSError:  # the worker died; its sentinel will say so
                self._pending.appendleft(task)
                return
            task.attempts += 1
            worker.task = task
            worker.started_at = time.monotonic()
            worker.deadline = worker.started_at + task.timeout_s
            return

    def _collect(self, ready: list[Any]) -> None:
        for index, worker in enumerate(list(self._workers)):
            if not worker.ready and worker.conn in ready:
                with contextlib.suppress(EOFError, OSError):  # a crash: its sentinel says so
                    worker.ready = worker.conn.recv_bytes() == READY
                continue
            if worker.task is not None and worker.conn in ready:
                try:
                    data = worker.conn.recv_bytes()
                except (EOFError, OSError):
                    pass  # died while answering: handled as a crash below
                else:
                    task = worker.task
                    worker.task = None
                    try:
                        task_id, ok, payload = pickle.loads(data)  # noqa: S301  (our worker)
                    except Exception as e:
                        task_id, ok = task.id, False
                        payload = LibraryError(f"unreadable answer from an analysis worker: {e}")
                    if task_id != task.id:
                        ok = False
                        payload = LibraryError("an analysis worker answered the wrong task")
                    self._settle(task, ok, payload)
                    continue
            if worker.process.sentinel in ready or not worker.process.is_alive():
                self._replace(index, worker)

    def _settle(self, task: Task, ok: bool, payload: Any) -> None:
        if task.future.done():
            return
        if ok:
            self.stats.completed += 1
            task.future.set_result(payload)
        else:
            self.stats.failed += 1
            task.future.set_exception(payload)

    def _replace(self, index: int, worker: _Worker) -> None:
        worker.process.join(_JOIN_S)
        how = _describe_exit(worker.process.exitcode)
        worker.conn.close()
        task = worker.task
        if task is not None:
            self.stats.crashes += 1
            if task.attempts >= self.max_attempts:
                self.stats.failed += 1
                if not task.future.done():
                    task.future.set_exception(
                        LibraryError(
                            f"the analysis worker crashed {task.attempts} times on this file "
                            f"(last: {how}); the file probably crashes the decoder"
                        )
                    )
            else:
                self.stats.retries += 1
                self._pending.appendleft(task)
        self._workers[index] = self._spawn()

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for index, worker in enumerate(self._workers):
            task = worker.task
            if task is None or now < worker.deadline:
                continue
            worker.process.kill()
            worker.process.join(_JOIN_S)
            worker.conn.close()
            self.stats.timeouts += 1
            self.stats.failed += 1
            if not task.future.done():
                task.future.set_exception(
                    LibraryError(f"analysis took longer than {task.timeout_s:g} s (worker stopped)")
                )
            self._workers[index] = self._spawn()

    def _fail_pending(self, reason: str) -> None:
        with self._lock:
            pending, self._pending = list(self._pending), deque()
        for task in pending:
            if not task.future.done():
                task.future.set_exception(LibraryError(reason))

    def _shutdown(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        self._fail_pending("the analysis pool was closed before this task ran")
        for worker in workers:
            if worker.task is not None:
                worker.process.kill()  # its result is no longer wanted
                continue
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send_bytes(b"stop")
        deadline = time.monotonic() + _JOIN_S
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(_JOIN_S)
            worker.conn.close()
            task = worker.task
            if task is not None and not task.future.done():
                task.future.set_exception(
                    LibraryError("the analysis pool was closed while this task ran")
                )
