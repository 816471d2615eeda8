"""Running each station's alert sources: what its ``eas:`` section asks for (issue 20).

:class:`AlertSources` is what ``grimnir up`` runs for the stations on air in
its process: for every one with ``eas.enabled: true`` it starts an
:class:`~grimnir.eas.AtomPoller` per feed (at its ``poll_seconds``), one
:class:`~grimnir.eas.NaadClient` over the ``naad`` hosts (the next host when
one fails), a :class:`~grimnir.eas.SameMonitor` per ``monitor`` URL and an
:class:`~grimnir.eas.RwtRunner` on the ``rwt`` schedule in the station's time
zone. Each delivers into :func:`grimnir.services.alerts.receive` with its own
label (``feed:<url>``, ``naad:<host>``, ``same-monitor:<url>``, ``rwt``),
with the station read afresh, so the policy in force is the stored one. An
EOM heard on a monitor is not handed on: the relay airs its own.

The station rows are read again every ``check_every_s``: a station whose
``eas`` section, time zone or enabled flag changed has its sources stopped
and those of the new config started (no restart of ``grimnir up`` needed).
A source that cannot be built from the config (an RWT with no SAME location,
say) is logged and shown in :func:`health` as not running, with the reason.

:func:`health` gives every source's :class:`~grimnir.eas.SourceHealth` for the
API; the same figures go to ``/metrics`` per station and source kind. Relaying
is immediate on receipt, so a Required Monthly Test is always inside its
``rmt_window_minutes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as clock
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import partial
from typing import Any, Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select

from grimnir.config.station import EasConfig
from grimnir.eas import (
    AlertSource,
    AtomPoller,
    Deliver,
    EasError,
    NaadClient,
    RwtRunner,
    RwtSchedule,
    SameMessage,
    SameMonitor,
    SourceHealth,
)
from grimnir.eas.sources import NAAD_ARCHIVES
from grimnir.observability.metrics import REGISTRY
from grimnir.services import alerts
from grimnir.services.alerts_config import AlertsDisabled, eas_config
from grimnir.store.models import Station

log = logging.getLogger("grimnir.services.alerts")

CHECK_EVERY_S: Final = 5.0
"""How often the station rows are read again for a changed ``eas`` section."""
STOP_GRACE_S: Final = 5.0
"""How long stopped sources get to end before they are cancelled."""
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KINDS: Final = ("feed", "naad", "same-monitor", "rwt")
"""Source kinds: the part of a label before the colon (the metrics' ``kind`` label)."""


def kind_of(label: str) -> str:
    """The kind of a source labelled ``label`` (``feed:<url>`` → ``feed``)."""
    return label.split(":", 1)[0]


@dataclass
class _Running:
    """One station's sources, started from one version of its config."""

    owner: AlertSources
    short_name: str
    sources: list[AlertSource]
    broken: list[SourceHealth]
    started: float = field(default_factory=clock.monotonic)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


_running: dict[uuid.UUID, _Running] = {}
"""The stations whose sources run in this process (what :func:`health` reports)."""


def sources(station_id: uuid.UUID) -> list[AlertSource]:
    """The alert sources running for the station in this process."""
    running = _running.get(station_id)
    return [] if running is None else list(running.sources)


def health(station_id: uuid.UUID) -> list[SourceHealth] | None:
    """Each alert source of the station and how it does (one that could not be
    started included, not running, with why); ``None`` when this process does
    not run the station's sources (not on air here, or alerts are off)."""
    running = _running.get(station_id)
    if running is None:
        return None
    return [source.health for source in running.sources] + running.broken


def _version(station: Station) -> tuple[Any, ...]:
    """What the station's sources are built from: a change restarts them."""
    return (station.enabled, station.timezone, dict(station.config or {}).get("eas"))


class AlertSources:
    """Runs the alert sources of ``station_ids`` until cancelled (see the module)."""

    def __init__(
        self,
        ctx: alerts.AlertContext,
        station_ids: Sequence[uuid.UUID],
        *,
        check_every_s: float = CHECK_EVERY_S,
        naad_archives: Sequence[str] = NAAD_ARCHIVES,
    ) -> None:
        self.ctx = ctx
        self.station_ids = list(station_ids)
        self.check_every_s = check_every_s
        self.naad_archives = list(naad_archives)
        self._seen: dict[uuid.UUID, tuple[Any, ...]] = {}
        """The version of each station's config acted on last."""

    async def run(self) -> None:
        """Start the sources, follow config changes; stop them all when cancelled."""
        try:
            while True:
                try:
                    await self.check()
                except Exception:  # the database away: the running sources carry on
                    log.exception("alert sources: reading the station configs failed")
                await asyncio.sleep(self.check_every_s)
        finally:
            await self._stop_all()

    async def check(self) -> None:
        """Read the stations and (re)start or stop the sources whose config changed."""
        async with self.ctx.sessions() as session:
            rows = (
                await session.scalars(select(Station).where(Station.id.in_(self.station_ids)))
            ).all()
        for station in rows:
            version = _version(station)
            if self._seen.get(station.id) == version:
                continue
            self._seen[station.id] = version
            if station.id in _running:
                log.info(
                    "station %s: alert config changed: restarting its sources", station.short_name
                )
                await self._stop(station.id)
            self._start(station)

    def _start(self, station: Station) -> None:
        if not station.enabled:
            return
        try:
            config = eas_config(station)
        except AlertsDisabled as error:
            raw = dict(station.config or {}).get("eas")
            if isinstance(raw, dict) and raw.get("enabled"):  # on, but not valid
                log.error("station %s: no alert sources: %s", station.short_name, error)
            return
        running = _Running(self, station.short_name, [], [])
        for build, label in self._wanted(station, config):
            try:
                running.sources.append(build())
            except (EasError, ValueError) as error:
                reason = f"not started: {error}: fix the station's eas section"
                log.error("station %s: alert source %s %s", station.short_name, label, reason)
                running.broken.append(
                    SourceHealth(label, False, None, reason, datetime.now(UTC), 0, 0, 0, 0, None)
                )
        for source in running.sources:
            running.tasks.append(
                asyncio.create_task(source.run(running.stop), name=f"alerts {source.label}")
            )
        _running[station.id] = running
        log.info(
            "station %s: alert sources running: %s",
            station.short_name,
            ", ".join(s.label for s in running.sources) or "none",
        )

    def _wanted(
        self, station: Station, config: EasConfig
    ) -> Iterator[tuple[Callable[[], AlertSource], str]]:
        """``(build, label)`` of each source the config asks for."""
        deliver = self._deliverer(station.id)
        for feed in config.feeds:
            url = str(feed.url)
            yield partial(AtomPoller, url, feed.poll_seconds, deliver), f"feed:{url}"
        if config.naad:
            hosts = [(n.host, n.port) for n in config.naad]
            client = partial(NaadClient, hosts, deliver, archive_urls=self.naad_archives)
            yield client, f"naad:{hosts[0][0]}"
        for monitor in config.monitor:
            yield partial(SameMonitor, str(monitor), deliver), f"same-monitor:{monitor}"
        if config.rwt is not None:
            rwt = config.rwt

            def runner() -> RwtRunner:
                schedule = RwtSchedule(
                    WEEKDAYS.index(rwt.weekday), time.fromisoformat(rwt.time), station.timezone
                )
                return RwtRunner(
                    schedule, deliver, locations=config.same_locations, sender=config.sender_id
                )

            yield runner, "rwt"

    def _deliverer(self, station_id: uuid.UUID) -> Deliver:
        """The callback of a station's sources: the stored station, then the service."""

        async def deliver(message: bytes | SameMessage, label: str) -> None:
            if isinstance(message, SameMessage) and message.is_eom:
                # NOTE: the relay airs its own EOM; the upstream's ends nothing here
                log.info("alert source %s: end of message heard upstream", label)
                return
            async with self.ctx.sessions() as session:
                station = await session.get(Station, station_id)
            if station is None:
                raise LookupError(f"station {station_id} is gone: alert from {label} not taken")
            try:
                await alerts.receive(self.ctx, station, message, label)
            except AlertsDisabled as error:
                log.warning(
                    "station %s: alert from %s not taken: %s", station.short_name, label, error
                )

        return deliver

    async def _stop(self, station_id: uuid.UUID) -> None:
        running = _running.get(station_id)
        if running is None or running.owner is not self:
            return  # not started, or started by another runner of this process
        del _running[station_id]
        running.stop.set()
        if not running.tasks:
            return
        _, late = await asyncio.wait(running.tasks, timeout=STOP_GRACE_S)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _stop_all(self) -> None:
        for station_id in self.station_ids:
            await self._stop(station_id)


class _Collector(Collector):
    """The sources' health on ``/metrics``, per station and source kind."""

    def collect(self) -> Iterator[Metric]:
        labels = ["station", "kind"]
        configured = GaugeMetricFamily(
            "grimnir_alert_sources", "Alert sources configured.", labels=labels
        )
        up = GaugeMetricFamily(
            "grimnir_alert_sources_up",
            "Alert sources running whose last attempt succeeded.",
            labels=labels,
        )
        age = GaugeMetricFamily(
            "grimnir_alert_source_last_ok_age_seconds",
            "Seconds since the stalest source of the kind last succeeded (or started).",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "grimnir_alert_source_failures",
            "Failures in a row, summed over the sources of the kind.",
            labels=labels,
        )
        rejected = CounterMetricFamily(
            "grimnir_alert_source_rejected", "Bad input refused by the sources.", labels=labels
        )
        delivered = CounterMetricFamily(
            "grimnir_alert_source_delivered", "Alerts handed on by the sources.", labels=labels
        )
        now_wall, now_mono = datetime.now(UTC), clock.monotonic()
        for running in list(_running.values()):
            for kind in KINDS:
                shown = [s.health for s in running.sources if kind_of(s.label) == kind] + [
                    h for h in running.broken if kind_of(h.label) == kind
                ]
                if not shown:
                    continue
                key = [running.short_name, kind]
                configured.add_metric(key, len(shown))
                up.add_metric(key, sum(h.running and h.consecutive_failures == 0 for h in shown))
                ages = [
                    (now_wall - h.last_ok).total_seconds()
                    if h.last_ok is not None
                    else now_mono - running.started
                    for h in shown
                ]
                age.add_metric(key, max(ages))
                failures.add_metric(key, sum(h.consecutive_failures for h in shown))
                rejected.add_metric(key, sum(h.rejected for h in shown))
                delivered.add_metric(key, sum(h.delivered for h in shown))
        yield from (configured, up, age, failures, rejected, delivered)


REGISTRY.register(_Collector())
