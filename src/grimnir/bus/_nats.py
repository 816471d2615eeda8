"""The NATS bus (``nats://host:4222``): core NATS subjects with wildcards.

Every event is published on the subject ``<prefix>.<station or _>.<type>``
(the type's dots become subject tokens, so ``item.*`` is ``….item.>``). Core
NATS is live fan-out, at most once, the same contract as the other buses;
JetStream is not needed. nats-py reconnects by itself (forever, every
``reconnect_wait`` seconds) and restores subscriptions; the bus logs each
disconnect and reconnect. Publishes made while disconnected wait in nats-py's
buffer (2 MiB) and go out on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import Error as NatsError

from grimnir.bus._api import DEFAULT_MAX_PENDING, BusBase, BusError, Subscription, log
from grimnir.bus._event import Event
from grimnir.bus._filter import EventFilter, channel, check_prefix
from grimnir.domain.urls import mask_url

_NETWORK_ERRORS = (NatsError, OSError, TimeoutError)


class NatsBus(BusBase):
    """Event bus over core NATS; see the module docstring for the design."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "grimnir",
        connect_timeout: float = 5.0,
        reconnect_wait: float = 1.0,
    ) -> None:
        super().__init__()
        self.prefix = check_prefix(prefix)
        self.url = url
        self._masked = mask_url(url)
        self._connect_timeout = connect_timeout
        self._reconnect_wait = reconnect_wait
        self._lost_at: float | None = None
        self._nc: Client | None = None
        self._native: dict[Subscription, NatsSubscription] = {}
        self._lock = asyncio.Lock()
        self._connecting = False
        self._last_error: BaseException | None = None

    async def _on_error(self, e: Exception) -> None:
        self._last_error = e
        if not self._connecting:
            log.warning("NATS bus %s: %s: %s", self._masked, type(e).__name__, e)

    async def _on_disconnected(self) -> None:
        if not self._connecting and not self._closed:
            self._lost_at = time.monotonic()
            log.warning("NATS bus lost its connection to %s; nats-py is reconnecting", self._masked)

    async def _on_reconnected(self) -> None:
        lost_for = time.monotonic() - self._lost_at if self._lost_at is not None else 0.0
        self._lost_at = None
        log.warning(
            "NATS bus reconnected to %s after %.1f s; subscriptions restored, subscribers are "
            "told they may have missed events published meanwhile by others",
            self._masked,
            lost_for,
        )
        self._tell_gap(lost_for)

    @property
    def connected(self) -> bool:
        """Connected now (false while nats-py reconnects)."""
        return not self._closed and self._nc is not None and bool(self._nc.is_connected)

    async def connect(self) -> None:
        """Connect now; BusError (saying where) if NATS is not there."""
        self._check_open()
        async with self._lock:
            if self._nc is not None:
                return
            nc = Client()
            self._connecting = True
            try:
                # NOTE: with endless reconnects nats-py would also retry the first
                # connect forever; the timeout turns that into a clear error.
                async with asyncio.timeout(self._connect_timeout):
                    await nc.connect(
                        servers=[self.url],
                        name=f"{self.prefix}-bus",
                        connect_timeout=max(1, round(self._connect_timeout)),
                        reconnect_time_wait=self._reconnect_wait,  # type: ignore[arg-type]
                        max_reconnect_attempts=-1,
                        error_cb=self._on_error,
                        disconnected_cb=self._on_disconnected,
                        reconnected_cb=self._on_reconnected,
                    )
            except (*_NETWORK_ERRORS, asyncio.CancelledError) as e:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await nc.close()
                if isinstance(e, asyncio.CancelledError):
                    raise
                cause = self._last_error or e
                raise BusError(
                    f"NATS bus not reachable at {self._masked} ({type(cause).__name__}: {cause}): "
                    "start nats-server or correct bus_url"
                ) from e
            finally:
                self._connecting = False
            self._nc = nc
            log.info("NATS bus connected to %s (prefix %s)", self._masked, self.prefix)

    async def _client(self) -> Client:
        if self._nc is None:
            await self.connect()
        self._check_open()
        if self._nc is None:  # pragma: no cover - connect() sets it or raises
            raise BusError("the NATS bus is not connected")
        return self._nc

    async def publish(self, event: Event) -> None:
        nc = await self._client()
        try:
            await nc.publish(channel(self.prefix, event), event.to_json().encode())
        except _NETWORK_ERRORS as e:
            raise BusError(
                f"cannot publish {event.type} to the NATS bus at {self._masked} "
                f"({type(e).__name__}: {e}): check that nats-server is running"
            ) from e

    async def subscribe(
        self,
        types: Iterable[str] | None = None,
        station_id: str | None = None,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        event_filter = EventFilter.build(types, station_id)
        nc = await self._client()
        sub = Subscription(event_filter, self._unsubscribe, max_pending)
        subject = event_filter.nats_subject(self.prefix)

        async def deliver(msg: Msg) -> None:
            try:
                event = Event.from_json(msg.data)
            except ValueError as e:
                log.warning("NATS bus ignored a malformed event on %s: %s", msg.subject, e)
                return
            sub.offer(event)

        try:
            native = await nc.subscribe(subject, cb=deliver)
            self._native[sub] = native
            self._subscriptions.add(sub)
            # The round trip makes sure the server has the subscription before we return.
            await nc.flush(timeout=max(1, round(self._connect_timeout)))
        except _NETWORK_ERRORS as e:
            await sub.close()
            raise BusError(
                f"NATS at {self._masked} did not confirm the subscription to {subject} "
                f"({type(e).__name__}: {e}): check that nats-server is running"
            ) from e
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
        native = self._native.pop(sub, None)
        if native is not None:
            with contextlib.suppress(*_NETWORK_ERRORS):
                await native.unsubscribe()

    async def _close_connection(self) -> None:
        nc, self._nc = self._nc, None
        natives, self._native = list(self._native.values()), {}
        if nc is None:
            return
        for native in natives:
            with contextlib.suppress(*_NETWORK_ERRORS):
                await native.unsubscribe()
        with contextlib.suppress(*_NETWORK_ERRORS):
            await nc.flush(timeout=max(1, round(self._connect_timeout)))
        with contextlib.suppress(*_NETWORK_ERRORS):
            await nc.close()
