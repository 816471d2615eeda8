"""The analysis pool: results, errors, deadlines, dead workers, closing.

These run real worker processes on real (small, top-level) functions; the
file-based cases are in ``test_ingest.py``. Every test has a hard timeout so
a pool that hangs fails instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from grimnir.domain.errors import LibraryError
from grimnir.library.pool import AnalysisPool
from tests.library import _fixtures as fx

HARD_TIMEOUT_S = 60


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child stays a zombie until reaped; read its state to tell
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


async def test_results_and_errors_come_back() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=2) as pool:
        results = await asyncio.gather(*(pool.call(fx.add, i, i) for i in range(20)))
        assert results == [2 * i for i in range(20)]
        with pytest.raises(LibraryError, match="bad tag"):
            await pool.call(fx.fail_with, "bad tag")
        # an exception that cannot travel back still arrives, as a LibraryError
        with pytest.raises(LibraryError, match="_Odd: odd 1 2"):
            await pool.call(fx.raise_unpicklable)
        with pytest.raises(LibraryError, match="could not be sent back"):
            await pool.call(fx.return_unpicklable)
        # a task that cannot be sent fails alone
        with pytest.raises(LibraryError, match="cannot send"):
            await pool.call(fx.add, lambda: 1, 2)
        assert await pool.call(fx.add, 1, 2) == 3
        assert pool.stats.crashes == 0
        assert pool.stats.completed == 21


async def test_work_runs_in_parallel_in_other_processes() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=2) as pool:
        naps = await asyncio.gather(*(pool.call(fx.nap, 0.3, None) for _ in range(2)))
        assert naps == [None, None]
        pids = set(await asyncio.gather(*(pool.call(fx.whoami) for _ in range(8))))
        assert os.getpid() not in pids
        assert pids <= set(pool.pids())


async def test_a_hung_task_is_killed_at_its_deadline() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=1, timeout_s=0.5) as pool:
        before = pool.pids()
        started = time.monotonic()
        with pytest.raises(LibraryError, match=r"took longer than 0\.5 s \(worker stopped\)"):
            await pool.call(fx.sleep_forever)
        assert time.monotonic() - started >= 0.5
        assert pool.stats.timeouts == 1
        # the stuck worker is gone and a fresh one does the next task
        assert not _alive(before[0])
        assert pool.pids() != before
        # NOTE: its own deadline: a fresh worker imports this test module to run
        # fx.add, which alone can take over 0.5 s on a loaded machine.
        assert await pool.call(fx.add, 2, 3, timeout_s=60) == 5
        # a per-call deadline overrides the pool's
        assert await pool.call(fx.nap, 0.7, "late but allowed", timeout_s=5) == "late but allowed"


async def test_a_killed_worker_is_replaced_and_its_task_retried(tmp_path: Path) -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=2) as pool:
        marker = tmp_path / "crashed"
        assert await pool.call(fx.crash_first_time, str(marker), "second time lucky") == (
            "second time lucky"
        )
        assert marker.exists()
        assert pool.stats.crashes == 1
        assert pool.stats.retries == 1
        assert len(pool.pids()) == 2


async def test_killing_a_busy_worker_from_outside() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=1) as pool:
        task = asyncio.ensure_future(pool.call(fx.nap, 1.0, "done", label="long file"))
        while not pool.busy():
            await asyncio.sleep(0.005)
        (busy,) = pool.busy()
        assert busy.label == "long file"
        os.kill(busy.pid, signal.SIGKILL)
        assert await task == "done"
        assert pool.stats.crashes == 1
        assert busy.pid not in pool.pids()


async def test_a_task_that_always_crashes_fails_after_max_attempts() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=2, max_attempts=3) as pool:
        with pytest.raises(LibraryError, match=r"crashed 3 times on this file.*SIGKILL"):
            await pool.call(fx.crash)
        assert pool.stats.crashes == 3
        assert await pool.call(fx.add, 1, 1) == 2


async def test_in_flight_is_bounded_and_cancel_drops_queued_tasks() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S), AnalysisPool(workers=1, max_in_flight=2) as pool:
        calls = [asyncio.ensure_future(pool.call(fx.nap, 0.2, i)) for i in range(6)]
        await asyncio.sleep(0.05)
        assert pool.queued() + len(pool.busy()) <= 2
        calls[-1].cancel()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert results[:5] == [0, 1, 2, 3, 4]
        assert isinstance(results[5], asyncio.CancelledError)


async def test_close_leaves_no_process_behind() -> None:
    async with asyncio.timeout(HARD_TIMEOUT_S):
        pool = AnalysisPool(workers=2, timeout_s=30)
        await asyncio.to_thread(pool.start)
        pids = pool.pids()
        running = asyncio.ensure_future(pool.call(fx.sleep_forever))
        while not pool.busy():
            await asyncio.sleep(0.005)
        await pool.aclose()
        with pytest.raises(LibraryError, match="closed while this task ran"):
            await running
        assert not any(_alive(pid) for pid in pids)
        with pytest.raises(LibraryError, match="closed"):
            pool.submit(fx.add, 1, 2)
        await pool.aclose()  # twice is fine


def test_sync_use_and_bad_settings() -> None:
    with pytest.raises(LibraryError, match="at least one worker"):
        AnalysisPool(workers=0)
    with pytest.raises(LibraryError, match="timeout must be positive"):
        AnalysisPool(timeout_s=0)
    with AnalysisPool(workers=1) as pool:
        assert pool.submit(fx.add, 20, 22).result(timeout=HARD_TIMEOUT_S) == 42
