"""Retried failures are logged as runs, and an unreachable database is told apart from
a statement that is wrong, on the three real databases."""

from __future__ import annotations

import logging
import socket

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from grimnir.bus import BusError
from grimnir.faults import FailureRun, is_outage
from grimnir.store import is_unreachable

LOG = logging.getLogger("tests.faults")


class Ticks:
    """A clock that moves only when told (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _fails(url: str, sql: str = "SELECT 1") -> BaseException:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError(f"{sql!r} on {url} did not fail")


async def test_a_database_that_is_not_there_is_unreachable() -> None:
    port = _closed_port()
    for url in (
        f"postgresql+asyncpg://root@127.0.0.1:{port}/test",
        f"mysql+asyncmy://root@127.0.0.1:{port}/test",
    ):  # NOTE: SQLite's unopenable file: test_api_database_down.py
        error = await _fails(url)
        assert is_unreachable(error), (url, error)
        assert is_outage(error)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://root@127.0.0.1:5432/test",
        "mysql+asyncmy://root@127.0.0.1:3306/test",
        "sqlite+aiosqlite:///:memory:",
    ],
)
async def test_a_wrong_statement_is_not_an_outage(url: str) -> None:
    for sql in ("SELEC 1", "SELECT * FROM no_such_table_here"):
        error = await _fails(url, sql)
        assert not is_unreachable(error), (url, sql, error)


def test_an_outage_is_one_line_when_it_starts_a_few_reminders_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Ticks()
    run = FailureRun(LOG, "station x: timeline pass", clock=clock)
    caplog.set_level(logging.INFO, logger=LOG.name)
    down = ConnectionRefusedError(111, "Connect call failed")
    for _ in range(600):  # ten minutes at 1 Hz
        run.failed(down)
        clock.now += 1.0
    run.succeeded()
    lines = [r for r in caplog.records if r.name == LOG.name]
    # reminders 1, 3 and 7 minutes in (each twice as far apart as the one before)
    assert len(lines) == 1 + 3 + 1
    assert "unreachable" in lines[0].getMessage()
    assert lines[0].exc_info is None
    assert all(r.exc_info is None for r in lines)
    assert "still failing after 60 s (61 tries)" in lines[1].getMessage()
    assert "still failing after 180 s (181 tries)" in lines[2].getMessage()
    assert "still failing after 420 s (421 tries)" in lines[3].getMessage()
    assert "works again after 600.0 s (600 failed tries)" in lines[-1].getMessage()
    caplog.clear()
    run.succeeded()  # nothing was failing: nothing to say
    assert not caplog.records


def test_a_bug_gets_its_traceback_once_and_a_new_kind_of_failure_is_news(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Ticks()
    run = FailureRun(LOG, "station x: engine event", clock=clock)
    caplog.set_level(logging.INFO, logger=LOG.name)

    def raised(error: Exception) -> Exception:
        try:
            raise error
        except Exception as exc:
            return exc

    for _ in range(50):
        run.failed(raised(KeyError("title")))
        clock.now += 0.1
    run.failed(raised(ValueError("bad frame")))
    run.failed(BusError("the bus is away"))
    lines = [r for r in caplog.records if r.name == LOG.name]
    assert [r.levelno for r in lines] == [logging.ERROR, logging.ERROR]
    assert lines[0].exc_info is not None
    assert "KeyError" in lines[0].getMessage()
    assert "ValueError: bad frame" in lines[1].getMessage()
    assert run.failing
    assert run.failures == 52
