"""Scheduled tests: the weekly test a station sends itself, the monthly one it relays.

* :class:`RwtSchedule` — one weekly moment in the station's time zone (DST
  handled by :mod:`zoneinfo`: a time skipped by the spring change moves an
  hour later, a time that happens twice in autumn is the first).
* :class:`RwtRunner` — delivers an RWT header (label ``rwt``) at each moment,
  on an injected :class:`Clock` so tests need not wait a week.
* :class:`RmtWindow` — whether a received RMT may still be relayed (47 CFR
  §11.61(a)(1): within 60 minutes of receipt).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grimnir.eas._source_base import AlertSource, Deliver
from grimnir.eas.decoder import SameMessage
from grimnir.eas.same import SameHeader

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Longest single sleep of :class:`SystemClock`: wall-clock jumps are noticed this fast.
MAX_SLEEP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RwtSchedule:
    """A weekly moment: ``weekday`` (0 Monday … 6 Sunday) at local ``at`` in ``timezone``."""

    weekday: int
    at: time
    timezone: str

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"RWT weekday {self.weekday}: 0 (Monday) to 6 (Sunday)")
        if self.at.tzinfo is not None:
            raise ValueError("RWT time: give the local time without a zone; set timezone")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"RWT time zone {self.timezone!r}: not an IANA zone (America/Chicago, …)"
            ) from error

    def next_after(self, now: datetime) -> datetime:
        """The first test moment strictly after ``now`` (aware), in UTC."""
        if now.tzinfo is None:
            raise ValueError("RWT schedule: `now` must carry a time zone")
        zone = ZoneInfo(self.timezone)
        today = now.astimezone(zone).date()
        day = today + timedelta(days=(self.weekday - today.weekday()) % 7)
        # fold=0: an autumn time that happens twice is the first; a spring
        # time that never happens is read with the old offset (an hour on).
        moment = datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)
        if moment > now:
            return moment
        return datetime.combine(day + timedelta(days=7), self.at, tzinfo=zone).astimezone(UTC)


class Clock(Protocol):
    """Wall time for the scheduled tests: the system's, or a virtual one in tests."""

    def now(self) -> datetime:
        """The current time, aware."""
        ...

    async def sleep_until(self, moment: datetime) -> None:
        """Return at (or after) ``moment``."""
        ...


class SystemClock:
    """The real clock; sleeps in steps so a changed system time is noticed."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        """Sleep until ``moment`` by the wall clock."""
        while (left := (moment - self.now()).total_seconds()) > 0:
            await asyncio.sleep(min(left, MAX_SLEEP_SECONDS))


class RwtRunner(AlertSource):
    """Delivers an RWT SAME header (as a :class:`SameMessage` without bursts,
    label ``rwt``) at each moment of ``schedule``; the receiver originates it.

    ``sender`` is the station's SAME identification (``WXYZ/FM``; padded to 8
    characters). A header these settings cannot make raises
    :class:`~grimnir.eas.errors.SameError` here, at start-up.
    """

    def __init__(
        self,
        schedule: RwtSchedule,
        deliver: Deliver,
        *,
        locations: Sequence[str],
        sender: str,
        originator: str = "EAS",
        purge_minutes: int = 15,
        clock: Clock | None = None,
    ) -> None:
        super().__init__("rwt", deliver, None)
        self.schedule = schedule
        self.clock: Clock = clock or SystemClock()
        # SAME senders are 8 characters, short call signs padded with spaces.
        self._fields = (tuple(locations), sender.ljust(8), originator, purge_minutes)
        # Checked now, so a bad setting fails at start-up rather than at test time.
        self._header(datetime.now(UTC), *self._fields)

    @staticmethod
    def _header(
        at: datetime, locations: tuple[str, ...], sender: str, originator: str, purge: int
    ) -> SameHeader:
        return SameHeader(originator, "RWT", locations, purge, at, sender)

    async def _main(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            moment = self.schedule.next_after(self.clock.now())
            await self.clock.sleep_until(moment)
            header = self._header(moment, *self._fields)
            self._ok()
            await self._hand_on(SameMessage((), str(header), header, None))


@dataclass(frozen=True, slots=True)
class RmtWindow:
    """How long after receipt a Required Monthly Test may still be relayed."""

    minutes: int = 60

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ValueError(f"RMT relay window {self.minutes} min: must be more than 0")

    def deadline(self, received: datetime) -> datetime:
        """The last moment to relay an RMT received at ``received``."""
        return received + timedelta(minutes=self.minutes)

    def inside(self, received: datetime, now: datetime, header: SameHeader | None = None) -> bool:
        """Whether an RMT received at ``received`` may be relayed at ``now``: within
        the window and, when its ``header`` is given, before its purge time."""
        if header is not None and now >= header.expires:
            return False
        return received <= now <= self.deadline(received)
