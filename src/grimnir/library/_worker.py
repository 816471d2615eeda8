"""The loop each analysis worker process runs (see ``pool.py``).

A worker first says ``READY`` (a task's deadline never counts a worker's
start-up), then reads one task at a time from its pipe, runs it and sends back
``(task_id, ok, result_or_exception)``. It exits when told to (``None``),
when its pipe closes, or when the process that started it is gone, so a
killed control plane leaves no workers behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import pickle
import signal
import sys
from multiprocessing.connection import Connection, wait
from typing import Any

from grimnir.domain.errors import LibraryError

_PR_SET_PDEATHSIG = 1

READY = b"ready"
"""The first message of a worker: it is up and takes tasks (deadlines start after it)."""


def worker_main(conn: Connection, memory_limit_mb: int | None) -> None:
    """Serve tasks from ``conn`` until told to stop or the parent disappears."""
    _die_with_parent()
    # NOTE: Ctrl-C reaches the whole process group; the parent decides what
    # stops (it closes the pool), a worker must not die with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit_mb is not None:
        _limit_memory(memory_limit_mb)
    parent = multiprocessing.parent_process()
    watched: list[Any] = [conn] if parent is None else [conn, parent.sentinel]
    try:
        conn.send_bytes(READY)
    except (EOFError, OSError):
        return
    while True:
        ready = wait(watched)
        if conn not in ready:
            return  # the parent is gone
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if message == b"stop":
            return
        task_id, ok, result = _run(message)
        try:
            conn.send_bytes(_dumps((task_id, ok, result)))
        except (EOFError, OSError):
            return


def _run(message: bytes) -> tuple[int, bool, Any]:
    task_id, payload = pickle.loads(message)  # noqa: S301  (our own parent wrote it)
    try:
        fn, args = pickle.loads(payload)  # noqa: S301
        return task_id, True, fn(*args)
    except Exception as e:  # any failure of the task goes back to the caller
        return task_id, False, _portable(e)


def _dumps(reply: tuple[int, bool, Any]) -> bytes:
    try:
        return pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        error = LibraryError(f"the analysis result could not be sent back: {e}")
        return pickle.dumps((reply[0], False, error), protocol=pickle.HIGHEST_PROTOCOL)


def _portable(error: Exception) -> Exception:
    """``error`` if it survives pickling both ways, else a ``LibraryError`` saying it."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301
    except Exception:
        return LibraryError(f"{type(error).__name__}: {error}")
    return error


def _die_with_parent() -> None:
    # Linux only: the kernel kills this worker when its parent dies, even in
    # the middle of a decode that never returns to the loop above.
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _limit_memory(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
