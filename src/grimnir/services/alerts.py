"""Emergency alerts on a station: receive, decide, log, air (issue 20).

:func:`receive` is the one entry of every alert source (CAP pushed to the API,
ATOM feeds, NAAD, SAME heard on a monitor, alerts a manager originates, the
weekly test). It parses the message (a refused one is logged as ``rejected``
with the parser's reason), runs the station's :class:`~grimnir.eas.AlertTracker`
(one per station, kept here), writes every decision to the compliance log
(``eas_alerts``, the original message verbatim), and for a relay puts the alert
on air through the station's executor (``eas_airings``); a cancel or an update
takes an alert on air off it. Events ``alert.received``, ``alert.aired`` and
``alert.ended`` go on the bus.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grimnir.bus import ALERT_AIRED, ALERT_ENDED, ALERT_RECEIVED, Event, EventBus
from grimnir.eas import (
    Action,
    AlertTracker,
    CapAlert,
    CapError,
    Decision,
    EasSettings,
    SameHeader,
    SameMessage,
    parse_cap,
)
from grimnir.services import alerts_air, alerts_audio
from grimnir.services.alerts_air import Airing, OnAirStation
from grimnir.services.alerts_config import (
    AlertsDisabled,
    eas_config,
    settings_of,
    station_outputs,
)
from grimnir.services.alerts_same import alert_of_header, relay_header
from grimnir.store.models import EasAiring, EasAlert, Station

__all__ = [
    "REJECTED",
    "SOURCES",
    "AlertContext",
    "AlertsDisabled",
    "OnAirStation",
    "ReceiveResult",
    "eas_config",
    "receive",
    "settings_of",
]

log = logging.getLogger("grimnir.services.alerts")

SOURCES = ("cap-push", "feed", "naad", "same-monitor", "originated", "test")
"""Where an alert came from (``eas_alerts.source``)."""
REJECTED = "rejected"
"""The decision logged for a message that could not be read."""
_LABELS = {"rwt": "test"}
"""Source labels of ``grimnir.eas`` sources (``feed:<url>``, ``rwt``…) that differ from ours."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AlertContext:
    """What :func:`receive` needs: the database, the bus, where audio goes, the stations
    on air in this process (``executor(station_id)``, ``None`` when not here)."""

    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    data_dir: Path
    executor: Callable[[uuid.UUID], OnAirStation | None] = lambda _station: None
    clock: Callable[[], datetime] = _now


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """What became of one message: its log row, the decision and why, the airing."""

    alert_id: uuid.UUID
    decision: str
    reason: str
    same_header: str | None = None
    airing_id: uuid.UUID | None = None
    latency_frames: int | None = None


@dataclass
class _StationAlerts:
    tracker: AlertTracker
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    airing: dict[tuple[str, str, datetime], Airing] = field(default_factory=dict)
    queued: dict[tuple[str, str, datetime], asyncio.Task[None]] = field(default_factory=dict)
    """Relayed alerts waiting for the one on air to end (alerts never interleave)."""


_stations: dict[uuid.UUID, _StationAlerts] = {}


def _state(station_id: uuid.UUID, settings: EasSettings) -> _StationAlerts:
    state = _stations.get(station_id)
    if state is None:
        state = _stations[station_id] = _StationAlerts(AlertTracker(settings))
    state.tracker.settings = settings  # NOTE: a config change applies to the next alert
    return state


async def receive(
    ctx: AlertContext,
    station: Station,
    message: bytes | CapAlert | SameHeader | SameMessage,
    source: str,
) -> ReceiveResult:
    """Take one alert message for ``station`` from ``source`` (one of :data:`SOURCES`).

    ``source`` may carry a detail after a colon, as ``grimnir.eas`` sources label
    themselves (``feed:<url>``, ``naad:<host>``, ``same-monitor:<url>``; ``rwt``
    is logged as ``test``). A :class:`~grimnir.eas.SameMessage` without a valid
    header is logged as rejected.

    Every outcome is logged, with the original message: ``rejected`` (not a valid
    CAP 1.2 document: the reason names the element), ``filter`` (why),
    ``duplicate``, ``cancel`` (what it stopped) or ``relay`` (with its airing
    when the station is on air in this process). Alerts a manager originates
    (``originated``, ``test``) skip the station's filters. Raises
    :class:`AlertsDisabled` when the station does not take alerts.
    """
    arrived = time.monotonic()
    source = _LABELS.get(source.split(":")[0], source.split(":")[0])
    if source not in SOURCES:
        raise ValueError(f"alert source {source!r}: use one of {', '.join(SOURCES)}")
    config = eas_config(station)
    settings = settings_of(config)
    state = _state(station.id, settings)
    now = ctx.clock()
    if isinstance(message, bytes | bytearray):
        try:
            alert = parse_cap(bytes(message))
        except CapError as error:
            row = _row(station, source, None, REJECTED, f"rejected: {error}", now)
            return await _logged(ctx, station, row, bytes(message))
    elif isinstance(message, SameMessage):
        if message.header is None:
            reason = f"rejected: SAME message not usable ({message.error or 'no header'})"
            row = _row(station, source, None, REJECTED, reason, now)
            return await _logged(ctx, station, row, (message.text or "").encode("ascii", "replace"))
        alert = alert_of_header(message.header, settings)
    elif isinstance(message, SameHeader):
        alert = alert_of_header(message, settings)
    else:
        alert = message
    async with state.lock:
        decision = await _decide(ctx, station, state, alert, source, now)
        header = relay_header(alert, decision, settings, source)
        row = _row(station, source, alert, decision.action.value, decision.reason, now, header)
        result = await _logged(ctx, station, row, alert.raw)
        for key in decision.stops:
            waiting = state.queued.pop(key, None)
            if waiting is not None:
                waiting.cancel()  # NOTE: not aired yet: it never will be
            held = state.airing.pop(key, None)
            if held is not None:
                how = "cancelled" if decision.action is Action.CANCEL else "superseded"
                await alerts_air.stop(held)
                await _finish(ctx, station.id, held, how, ctx.clock())
        if decision.action is not Action.RELAY:
            return result
        executor = ctx.executor(station.id)
        if executor is None:
            reason = f"{decision.reason}; not aired: the station is not on air in this process"
            await _set_reason(ctx, row.id, reason)
            return ReceiveResult(row.id, result.decision, reason, result.same_header)
        sound = alerts_audio.Sound(
            header=None if settings.country == "CA" else header,
            canadian=settings.country == "CA",
            attention_seconds=config.attention_seconds,
            preroll_ms=config.preroll_ms,
            peak_dbfs=config.peak_dbfs,
        )
        ahead = [a.watcher for a in state.airing.values() if a.watcher is not None]
        ahead += list(state.queued.values())
        if ahead:
            reason = f"{decision.reason}; queued: it airs when the alert on air ends"
            await _set_reason(ctx, row.id, reason)
            state.queued[alert.key] = asyncio.create_task(
                _air_after(ahead, ctx, station, state, executor, alert, decision, sound, row.id),
                name=f"alert-queued-{row.id}",
            )
            return ReceiveResult(row.id, result.decision, reason, result.same_header)
        airing, latency = await _air(
            ctx, station, executor, alert, decision, sound, row.id, arrived
        )
        state.airing[alert.key] = airing
        return ReceiveResult(
            row.id, result.decision, result.reason, result.same_header, airing.airing_id, latency
        )


async def _air_after(
    ahead: list[asyncio.Task[None]],
    ctx: AlertContext,
    station: Station,
    state: _StationAlerts,
    executor: OnAirStation,
    alert: CapAlert,
    decision: Decision,
    sound: alerts_audio.Sound,
    alert_id: uuid.UUID,
) -> None:
    """Air a relayed alert once every alert ahead of it has left the air."""
    try:
        await asyncio.gather(*ahead, return_exceptions=True)
        async with state.lock:
            if state.queued.pop(alert.key, None) is None:
                return  # cancelled meanwhile
            airing, _ = await _air(ctx, station, executor, alert, decision, sound, alert_id)
            state.airing[alert.key] = airing
        if airing.watcher is not None:
            # NOTE: done when this alert has left the air: alerts queued behind it wait
            await asyncio.gather(airing.watcher, return_exceptions=True)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("alert %s: the queued alert could not be aired", alert_id)


async def _decide(
    ctx: AlertContext,
    station: Station,
    state: _StationAlerts,
    alert: CapAlert,
    source: str,
    now: datetime,
) -> Decision:
    if source in ("originated", "test"):
        return Decision(Action.RELAY, f"relay: {source} {alert.infos[0].event}", alert, alert.infos)
    async with ctx.sessions() as session:
        first = await session.scalar(
            select(EasAlert.received_at)
            .where(
                EasAlert.station_id == station.id,
                EasAlert.sender == alert.sender,
                EasAlert.identifier == alert.identifier,
                EasAlert.sent == alert.sent,
                EasAlert.decision != REJECTED,
            )
            .limit(1)
        )
    if first is not None:
        return Decision(
            Action.DUPLICATE,
            f"duplicate: {alert.sender} {alert.identifier} already received at {first.isoformat()}",
            alert,
        )
    return state.tracker.receive(alert, now)


def _row(
    station: Station,
    source: str,
    alert: CapAlert | None,
    decision: str,
    reason: str,
    now: datetime,
    header: SameHeader | None = None,
) -> EasAlert:
    info = alert.infos[0] if alert is not None and alert.infos else None
    event = None
    if info is not None:
        event = f"{info.same_event} {info.event}" if info.same_event else info.event
    return EasAlert(
        station_id=station.id,
        received_at=now,
        source=source,
        identifier=None if alert is None else alert.identifier[:255],
        sender=None if alert is None else alert.sender[:255],
        sent=None if alert is None else alert.sent,
        msg_type=None if alert is None else alert.msg_type,
        event=None if event is None else event[:255],
        same_header=None if header is None else str(header),
        decision=decision,
        reason=reason,
        original=b"" if alert is None else alert.raw,
        expires=None if alert is None else alert.expires,
    )


async def _logged(
    ctx: AlertContext, station: Station, row: EasAlert, original: bytes
) -> ReceiveResult:
    row.original = original
    async with ctx.sessions() as session, session.begin():
        session.add(row)
    log.warning("station %s: alert %s: %s", station.short_name, row.identifier, row.reason)
    await ctx.bus.publish(
        Event(
            ALERT_RECEIVED,
            str(station.id),
            row.received_at,
            {
                "alert_id": str(row.id),
                "source": row.source,
                "identifier": row.identifier,
                "event": row.event,
                "decision": row.decision,
                "reason": row.reason,
                "same_header": row.same_header,
            },
        )
    )
    return ReceiveResult(row.id, row.decision, row.reason, row.same_header)


async def _set_reason(ctx: AlertContext, alert_id: uuid.UUID, reason: str) -> None:
    async with ctx.sessions() as session, session.begin():
        await session.execute(update(EasAlert).where(EasAlert.id == alert_id).values(reason=reason))


async def _air(
    ctx: AlertContext,
    station: Station,
    executor: OnAirStation,
    alert: CapAlert,
    decision: Decision,
    sound: alerts_audio.Sound,
    alert_id: uuid.UUID,
    arrived: float | None = None,
) -> tuple[Airing, int | None]:
    """Opening on air now, the message rendered meanwhile and queued behind it.

    ``arrived``: when the alert came in (``time.monotonic()``), for the log line
    that says how long each step took to air it (None: it waited in the queue)."""
    info = decision.infos[0]
    title = f"EAS: {info.headline or info.event}"[:200]
    folder = ctx.data_dir / "alerts" / str(station.id)
    settings = _stations[station.id].tracker.settings
    fallback = info.headline or info.event
    checked = time.monotonic()
    opening = await asyncio.to_thread(
        lambda: alerts_audio.write_wav(folder, f"{alert_id}-1.wav", alerts_audio.opening(sound))
    )
    rendered = time.monotonic()
    started, subscription = await alerts_air.start(executor, ctx.bus, station.id, opening, title)
    if arrived is not None:
        on_air = time.monotonic()
        log.info(
            "alert %s on air %.0f ms after it arrived (checks and log %.0f ms, opening "
            "audio %.0f ms, to the engine and on air %.0f ms)",
            alert_id,
            (on_air - arrived) * 1000,
            (checked - arrived) * 1000,
            (rendered - checked) * 1000,
            (on_air - rendered) * 1000,
        )
    # NOTE: rendered once the opening is on air (it lasts over ten seconds), so the
    # speech does not compete with the opening for the CPU
    message = asyncio.create_task(
        asyncio.to_thread(alerts_audio.message_audio, decision.infos, settings, fallback)
    )
    airing = Airing(uuid.uuid4(), alert_id, [started.item_id], executor)
    async with ctx.sessions() as session, session.begin():
        session.add(
            EasAiring(
                id=airing.airing_id,
                alert_id=alert_id,
                station_id=station.id,
                started_at=started.started_at,
                outputs=station_outputs(station),
                item_ids=[started.item_id],
                latency_frames=started.latency_frames,
            )
        )
    await ctx.bus.publish(
        Event(
            ALERT_AIRED,
            str(station.id),
            started.started_at,
            {
                "alert_id": str(alert_id),
                "airing_id": str(airing.airing_id),
                "event": info.event,
                "headline": info.headline or "",
                "same_header": None if sound.header is None else str(sound.header),
                "latency_frames": started.latency_frames,
                "title": title,
            },
        )
    )

    async def rest() -> None:
        try:
            pcm = alerts_audio.closing(sound, await message)
            path = alerts_audio.write_wav(folder, f"{alert_id}-2.wav", pcm)
            second = await executor.priority.insert_emergency(path, title=title)
        except Exception:
            log.exception("alert %s: the message could not be aired", alert_id)
            await subscription.close()
            return
        airing.items.append(second)
        async with ctx.sessions() as session, session.begin():
            await session.execute(
                update(EasAiring)
                .where(EasAiring.id == airing.airing_id)
                .values(item_ids=list(airing.items))
            )
        await alerts_air.follow(
            airing, subscription, lambda a, how, at: _ended(ctx, station, a, how, at)
        )

    airing.watcher = asyncio.create_task(rest(), name=f"alert-{alert_id}")
    return airing, started.latency_frames


async def _ended(
    ctx: AlertContext, station: Station, airing: Airing, how: str, at: datetime
) -> None:
    state = _stations.get(station.id)
    if state is not None:
        for key, held in list(state.airing.items()):
            if held is airing:
                del state.airing[key]
                state.tracker.finished(key)
    await _finish(ctx, station.id, airing, how, at)


async def _finish(
    ctx: AlertContext, station_id: uuid.UUID, airing: Airing, how: str, at: datetime
) -> None:
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(EasAiring)
            .where(EasAiring.id == airing.airing_id)
            .values(ended_at=at, ended_how=how)
        )
    await ctx.bus.publish(
        Event(
            ALERT_ENDED,
            str(station_id),
            at,
            {
                "alert_id": str(airing.alert_id),
                "airing_id": str(airing.airing_id),
                "ended_how": how,
            },
        )
    )
