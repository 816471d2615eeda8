"""Who gets a credential check, and how long it may take.

A burst of bad logins must not queue behind itself: each client address may
have only a few harbor logins waiting for their answer at once (beyond that:
``429`` at once), the checks run on a small pool of their own (a check may
call the control plane over HTTP, which takes a worker for as long as it
waits), and every check is answered within ``LOGIN_DEADLINE_S`` whatever the
backend does. The server's loop never waits for a check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Final

from grimnir.engine.server._http import HttpError

log = logging.getLogger(__name__)

MAX_PENDING_LOGINS_PER_ADDRESS: Final = 3
"""Harbor logins from one client address waiting for their credential check at once.
DJ software logs in one connection at a time; a studio behind one NAT address with
several mounts still fits. More get ``429`` at once instead of a place in a queue."""
LOGIN_WORKERS: Final = 8
"""Credential checks running at once (each may hold an HTTP call to the control plane)."""
LOGIN_QUEUE_WAIT_S: Final = 2.0
"""How long a login waits for a free worker before it gets ``503``."""
LOGIN_DEADLINE_S: Final = 4.0
"""A check still running after this refuses the login (401); above the control plane
client's own timeout (``harbor.AUTH_TIMEOUT_S``, 3 s), so that one answers first."""
RETRY_AFTER_S: Final = "1"


class LoginGate:
    """Admits harbor logins to their credential check; used on the server's loop only."""

    def __init__(
        self,
        *,
        per_address: int = MAX_PENDING_LOGINS_PER_ADDRESS,
        workers: int = LOGIN_WORKERS,
        queue_wait_s: float = LOGIN_QUEUE_WAIT_S,
        deadline_s: float = LOGIN_DEADLINE_S,
    ) -> None:
        self.per_address = per_address
        self.workers = workers
        self.queue_wait_s = queue_wait_s
        self.deadline_s = deadline_s
        self.turned_away = 0
        self._pending: dict[str, int] = {}
        # NOTE: asyncio primitives bind to the running loop on first use (Python ≥ 3.10).
        self._slots = asyncio.Semaphore(workers)
        self._pool: ThreadPoolExecutor | None = None

    @contextmanager
    def pending(self, address: str) -> Iterator[None]:
        """Count one login from ``address`` while it is checked; ``429`` beyond the limit."""
        count = self._pending.get(address, 0)
        if count >= self.per_address:
            self.turned_away += 1
            raise HttpError(
                429,
                "Too many logins from your address at once; try again",
                {"Retry-After": RETRY_AFTER_S},
            )
        self._pending[address] = count + 1
        try:
            yield
        finally:
            left = self._pending[address] - 1
            if left:
                self._pending[address] = left
            else:
                del self._pending[address]

    async def check(self, what: str, function: Callable[[], object]) -> bool:
        """``bool(function())`` on a login worker; False when it raises or overruns
        the deadline (``what`` names the login in the log line); ``503`` when no
        worker frees up in time."""
        try:
            async with asyncio.timeout(self.queue_wait_s):
                await self._slots.acquire()
        except TimeoutError:
            self.turned_away += 1
            raise HttpError(
                503, "Too many logins at once; try again", {"Retry-After": RETRY_AFTER_S}
            ) from None
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor(), function)
        except RuntimeError:  # the pool was shut down: the server is closing
            self._slots.release()
            return False
        # NOTE: the slot is freed when the worker is, not at the deadline: a hung backend
        # must not let checks pile up on the pool; new logins get 503 instead.
        future.add_done_callback(self._finished)
        done, _ = await asyncio.wait({future}, timeout=self.deadline_s)
        if not done:
            log.warning(
                "harbor: refusing %s: the credential check took over %g s", what, self.deadline_s
            )
            return False
        if future.cancelled():
            return False
        error = future.exception()
        if error is not None:
            log.error("harbor: the credential check for %s failed", what, exc_info=error)
            return False
        return bool(future.result())

    def _finished(self, future: asyncio.Future[object]) -> None:
        self._slots.release()
        if not future.cancelled():
            future.exception()  # NOTE: marks it retrieved when nobody waited for it

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="harbor-login")
        return self._pool

    def close(self) -> None:
        """Stop the workers (checks still running finish on their own)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
