"""The Redis bus (``redis://host:6379/0``): Redis pub/sub with pattern subscriptions.

Why pub/sub and not Streams: the bus is live fan-out with at-most-once
delivery, the same contract as core NATS and the memory bus; what must not be
lost (as-run log, timeline) is in the database. Pub/sub needs no trimming or
consumer-group housekeeping, and PSUBSCRIBE lets Redis itself send a process
only the stations and types it asked for. The price: events published while a
subscriber is reconnecting are not delivered to it.

Every event is published on ``<prefix>.<station or _>.<type>``. A process keeps
one listening connection (named ``<prefix>-bus`` in ``CLIENT LIST``) shared by
all its subscriptions; when Redis restarts or drops it, the bus logs a warning,
reconnects with exponential backoff (0.1 s doubling to ``max_backoff``),
subscribes every pattern again and logs when it is back. Note that pub/sub
channels ignore the database number in the URL: ``prefix`` separates buses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

from grimnir.bus._api import DEFAULT_MAX_PENDING, BusBase, BusError, Subscription, log
from grimnir.bus._event import Event
from grimnir.bus._filter import EventFilter, channel, check_prefix
from grimnir.domain.urls import mask_url

_POLL_S = 1.0  # how long one read waits before checking for close()
_NETWORK_ERRORS = (RedisError, OSError, TimeoutError)


class RedisBus(BusBase):
    """Event bus over Redis pub/sub; see the module docstring for the design."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "grimnir",
        connect_timeout: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        super().__init__()
        self.prefix = check_prefix(prefix)
        self.url = url
        self.client_name = f"{prefix}-bus"
        self.reconnects = 0
        self._masked = mask_url(url)
        self._connect_timeout = connect_timeout
        self._max_backoff = max_backoff
        self._publisher: Redis | None = None
        self._listener: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._patterns: dict[str, set[Subscription]] = {}
        self._confirm: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()

    def _client(self, retry: Retry) -> Redis:
        return Redis.from_url(
            self.url,
            socket_connect_timeout=self._connect_timeout,
            socket_keepalive=True,
            client_name=self.client_name,
            retry=retry,
        )

    @property
    def connected(self) -> bool:
        """Connected and subscribed now (false while the read loop reconnects)."""
        return not self._closed and self._publisher is not None and self._pubsub is not None

    async def connect(self) -> None:
        """Connect both sides now; BusError (saying where) if Redis is not there."""
        self._check_open()
        async with self._lock:
            if self._publisher is not None:
                return
            # A stale pooled connection after a Redis restart is retried quickly.
            publisher = self._client(Retry(ExponentialBackoff(cap=0.5, base=0.05), 2))
            # The listener must not retry silently: the read loop reconnects and logs it.
            listener = self._client(Retry(NoBackoff(), 0))
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await publisher.ping()
                    self._pubsub = await self._open_pubsub(listener)
            except (*_NETWORK_ERRORS, asyncio.CancelledError) as e:
                await listener.aclose()
                await publisher.aclose()
                if isinstance(e, asyncio.CancelledError):
                    raise
                raise BusError(
                    f"Redis bus not reachable at {self._masked} ({type(e).__name__}: {e}): "
                    "start Redis or correct bus_url"
                ) from e
            self._publisher, self._listener = publisher, listener
            self._reader = asyncio.create_task(self._read_loop(), name=f"{self.client_name}-reader")
            log.info("Redis bus connected to %s (prefix %s)", self._masked, self.prefix)

    async def _open_pubsub(self, listener: Redis) -> PubSub:
        """A fresh listening connection, subscribed to every pattern in use."""
        pubsub = listener.pubsub()
        try:
            await pubsub.connect()  # type: ignore[no-untyped-call]
            if self._patterns:
                await pubsub.psubscribe(*self._patterns)
        except BaseException:
            await pubsub.aclose()
            raise
        return pubsub

    async def _read_loop(self) -> None:
        failures = 0
        lost_at = 0.0
        while not self._closed:
            pubsub = self._pubsub
            try:
                if pubsub is None:
                    if self._listener is None:
                        return
                    self._pubsub = await self._open_pubsub(self._listener)
                    self.reconnects += 1
                    lost_for = time.monotonic() - lost_at
                    log.warning(
                        "Redis bus reconnected to %s after %.1f s (%d attempts); %d subscription "
                        "patterns restored; subscribers are told they may have missed events",
                        self._masked,
                        lost_for,
                        failures,
                        len(self._patterns),
                    )
                    self._tell_gap(lost_for)
                    failures = 0
                    continue
                message = await pubsub.get_message(timeout=_POLL_S)
            except _NETWORK_ERRORS as e:
                if self._closed:
                    return
                failures += 1
                delay = min(self._max_backoff, 0.1 * 2 ** (failures - 1))
                if pubsub is not None:
                    lost_at = time.monotonic()
                    self._pubsub = None
                    with contextlib.suppress(*_NETWORK_ERRORS):
                        await pubsub.aclose()
                    log.warning(
                        "Redis bus lost its connection to %s (%s: %s); reconnecting with backoff",
                        self._masked,
                        type(e).__name__,
                        e,
                    )
                elif failures % 10 == 0:
                    log.warning(
                        "Redis bus still cannot reach %s after %d attempts (%s); retrying every "
                        "%.1f s",
                        self._masked,
                        failures,
                        e,
                        delay,
                    )
                await asyncio.sleep(delay)
                continue
            if message is not None:
                try:
                    self._handle(message)
                except Exception:  # a bug here must not end delivery for everyone
                    log.exception("Redis bus could not dispatch a message: %r", message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "pmessage":
            pattern = _text(message["pattern"])
            subscribers = self._patterns.get(pattern)
            if not subscribers:
                return
            try:
                event = Event.from_json(message["data"])
            except ValueError as e:
                log.warning(
                    "Redis bus ignored a malformed event on %s: %s", _text(message["channel"]), e
                )
                return
            for sub in list(subscribers):
                sub.offer(event)
        elif kind == "psubscribe":
            future = self._confirm.pop(_text(message["channel"]), None)
            if future is not None and not future.done():
                future.set_result(None)

    async def publish(self, event: Event) -> None:
        if self._publisher is None:
            await self.connect()
        self._check_open()
        if self._publisher is None:  # pragma: no cover - connect() sets it or raises
            raise BusError("the Redis bus is not connected")
        payload = event.to_json().encode()
        try:
            await self._publisher.publish(channel(self.prefix, event), payload)
        except _NETWORK_ERRORS as e:
            raise BusError(
                f"cannot publish {event.type} to the Redis bus at {self._masked} "
                f"({type(e).__name__}: {e}): check that Redis is running"
            ) from e

    async def subscribe(
        self,
        types: Iterable[str] | None = None,
        station_id: str | None = None,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        event_filter = EventFilter.build(types, station_id)
        if self._publisher is None:
            await self.connect()
        self._check_open()
        sub = Subscription(event_filter, self._unsubscribe, max_pending)
        pattern = event_filter.redis_pattern(self.prefix)
        self._subscriptions.add(sub)
        subscribers = self._patterns.get(pattern)
        if subscribers is not None:
            subscribers.add(sub)
            future = self._confirm.get(pattern)
        else:
            self._patterns[pattern] = {sub}
            future = asyncio.get_running_loop().create_future()
            self._confirm[pattern] = future
            if self._pubsub is not None:
                # On failure the read loop reconnects and subscribes every pattern.
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await self._pubsub.psubscribe(pattern)
        if future is not None:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await asyncio.shield(future)
            except TimeoutError:
                await sub.close()
                raise BusError(
                    f"Redis at {self._masked} did not confirm the subscription to {pattern} "
                    f"within {self._connect_timeout:g} s: check that Redis is running"
                ) from None
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
        pattern = sub.filter.redis_pattern(self.prefix)
        subscribers = self._patterns.get(pattern)
        if subscribers is None:
            return
        subscribers.discard(sub)
        if subscribers:
            return
        del self._patterns[pattern]
        future = self._confirm.pop(pattern, None)
        if future is not None and not future.done():
            future.set_result(None)
        if self._pubsub is not None:
            with contextlib.suppress(*_NETWORK_ERRORS):
                await self._pubsub.punsubscribe(pattern)

    async def _close_connection(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for future in self._confirm.values():
            if not future.done():
                future.set_result(None)  # a subscribe() still waiting returns a closed subscription
        self._confirm.clear()
        self._patterns.clear()
        pubsub, self._pubsub = self._pubsub, None
        for closer in (
            pubsub.aclose if pubsub is not None else None,
            self._listener.aclose if self._listener is not None else None,
            self._publisher.aclose if self._publisher is not None else None,
        ):
            if closer is not None:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await closer()
        self._listener = self._publisher = None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
