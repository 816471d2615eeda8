"""Scheduled tests: the weekly RWT across America/Chicago's DST changes (on a
virtual clock, so no real waiting) and the RMT relay window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from grimnir.eas import (
    RmtWindow,
    RwtRunner,
    RwtSchedule,
    SameError,
    SameHeader,
    SameMessage,
)

CHICAGO = "America/Chicago"


class VirtualClock:
    """A clock whose sleeps return at once, moving time to the moment asked for."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    async def sleep_until(self, moment: datetime) -> None:
        self.at = max(self.at, moment)
        await asyncio.sleep(0)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def moments(schedule: RwtSchedule, start: datetime, count: int) -> list[datetime]:
    found, now = [], start
    for _ in range(count):
        now = schedule.next_after(now)
        found.append(now)
    return found


def test_weekly_local_time_holds_across_spring_forward() -> None:
    # Wednesday 11:00 Chicago: 17:00 UTC in CST, 16:00 UTC once CDT starts (8 March 2026).
    schedule = RwtSchedule(2, time(11, 0), CHICAGO)
    assert moments(schedule, utc(2026, 2, 25, 18, 0), 3) == [
        utc(2026, 3, 4, 17, 0),
        utc(2026, 3, 11, 16, 0),
        utc(2026, 3, 18, 16, 0),
    ]
    # "strictly after": asked at a test moment, the answer is the week after.
    assert schedule.next_after(utc(2026, 3, 4, 17, 0)) == utc(2026, 3, 11, 16, 0)


def test_times_skipped_or_doubled_by_dst() -> None:
    # Sunday 02:30 does not exist on 8 March 2026: it airs at 03:30 CDT (08:30 UTC).
    spring = RwtSchedule(6, time(2, 30), CHICAGO)
    assert moments(spring, utc(2026, 2, 28, 0, 0), 3) == [
        utc(2026, 3, 1, 8, 30),
        utc(2026, 3, 8, 8, 30),
        utc(2026, 3, 15, 7, 30),
    ]
    # Sunday 01:30 happens twice on 1 November 2026: the test airs the first time only.
    autumn = RwtSchedule(6, time(1, 30), CHICAGO)
    assert moments(autumn, utc(2026, 10, 24, 0, 0), 3) == [
        utc(2026, 10, 25, 6, 30),
        utc(2026, 11, 1, 6, 30),
        utc(2026, 11, 8, 7, 30),
    ]


def test_schedule_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="not an IANA zone"):
        RwtSchedule(2, time(11, 0), "Mars/Olympus")
    with pytest.raises(ValueError, match=r"0 \(Monday\) to 6"):
        RwtSchedule(7, time(11, 0), CHICAGO)
    with pytest.raises(ValueError, match="must carry a time zone"):
        RwtSchedule(2, time(11, 0), CHICAGO).next_after(datetime(2026, 3, 1))  # noqa: DTZ001


async def test_runner_delivers_rwt_headers_on_the_virtual_clock() -> None:
    clock = VirtualClock(utc(2026, 10, 20, 0, 0))
    delivered: list[tuple[datetime, SameMessage, str]] = []
    stop = asyncio.Event()

    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        assert isinstance(payload, SameMessage)
        delivered.append((clock.now(), payload, label))
        if len(delivered) == 3:
            stop.set()

    runner = RwtRunner(
        RwtSchedule(6, time(1, 30), CHICAGO),
        deliver,
        locations=["048453"],
        sender="WXYZ/FM",
        clock=clock,
    )
    async with asyncio.timeout(10):
        await runner.run(stop)

    expected = [utc(2026, 10, 25, 6, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 8, 7, 30)]
    assert [at for at, _, _ in delivered] == expected
    assert [label for _, _, label in delivered] == ["rwt"] * 3
    headers = [message.header for _, message, _ in delivered]
    assert headers == [SameHeader("EAS", "RWT", ("048453",), 15, at, "WXYZ/FM ") for at in expected]
    assert all(m.text == str(m.header) and m.confirmed for _, m, _ in delivered)
    assert runner.health.delivered == 3


def test_runner_refuses_a_bad_header_at_start() -> None:
    async def deliver(payload: bytes | SameMessage, label: str) -> None:
        raise AssertionError("never delivered")

    with pytest.raises(SameError):
        RwtRunner(RwtSchedule(6, time(1, 30), CHICAGO), deliver, locations=[], sender="WXYZ/FM")


def test_rmt_window() -> None:
    window = RmtWindow()
    received = utc(2026, 3, 4, 17, 0)
    assert window.deadline(received) == received + timedelta(minutes=60)
    assert window.inside(received, received + timedelta(minutes=59))
    assert not window.inside(received, received + timedelta(minutes=61))
    assert not window.inside(received, received - timedelta(minutes=1))
    header = SameHeader("CIV", "RMT", ("048453",), 15, received, "KABC/AM ")
    assert window.inside(received, received + timedelta(minutes=14), header)
    assert not window.inside(received, received + timedelta(minutes=16), header)  # purged
    with pytest.raises(ValueError, match="must be more than 0"):
        RmtWindow(0)
