"""Log formats: ``human`` as always, ``json`` one object per line with the station and
the trace; ``--log-format`` / ``GRIMNIR_LOG_FORMAT`` on the commands that log."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

from grimnir.cli import app
from grimnir.config.settings import Settings
from grimnir.observability.logs import (
    HUMAN_FORMAT,
    STATION,
    JsonFormatter,
    configure_logging,
    formatter,
    station_context,
)

ISO_MS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
HUMAN_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): (.*)")


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("grimnir.test.jsonlog")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_and_message_only_when_nothing_else_is_known(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buffer = json_log
    log.warning("engine %s is late", "wgmr")
    (entry,) = lines(buffer)
    assert set(entry) == {"time", "level", "logger", "message"}
    assert ISO_MS_UTC.fullmatch(str(entry["time"]))
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "grimnir.test.jsonlog"
    assert entry["message"] == "engine wgmr is late"


def test_json_lines_carry_station_event_and_exception(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buffer = json_log
    log.info("started", extra={"station": "wgmr-fm", "event": "engine.started"})
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        log.exception("it failed", extra={"station": "wgmr-fm"})
    started, failed = lines(buffer)
    assert (started["station"], started["event"]) == ("wgmr-fm", "engine.started")
    assert failed["level"] == "ERROR"
    assert failed["station"] == "wgmr-fm"
    assert "event" not in failed
    assert "Traceback" in str(failed["exc_info"])
    assert str(failed["exc_info"]).endswith("ValueError: boom\nsecond line")
    assert len(buffer.getvalue().splitlines()) == 2  # a multi-line traceback stays one line


async def test_an_executor_task_names_its_station(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buffer = json_log

    async def work() -> None:
        log.info("in the station's task")

    await asyncio.create_task(work(), context=station_context("station-a"))
    log.info("outside")  # the caller's context is left as it was
    log.info("overridden", extra={"station": "station-b"})
    token = STATION.set("station-c")
    try:
        log.info("set here")
    finally:
        STATION.reset(token)
    inside, outside, overridden, set_here = lines(buffer)
    assert inside["station"] == "station-a"
    assert "station" not in outside
    assert overridden["station"] == "station-b"
    assert set_here["station"] == "station-c"


def test_json_lines_inside_a_span_carry_its_trace(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buffer = json_log
    tracer = TracerProvider().get_tracer("test")  # its own provider: the global one stays
    with tracer.start_as_current_span("work") as span:
        log.info("traced")
    log.info("untraced")
    traced, untraced = lines(buffer)
    context = span.get_span_context()
    assert traced["trace_id"] == format(context.trace_id, "032x")
    assert traced["span_id"] == format(context.span_id, "016x")
    assert "trace_id" not in untraced
    assert "span_id" not in untraced


def test_the_human_format_is_unchanged() -> None:
    assert HUMAN_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    record = logging.LogRecord("grimnir.up", logging.INFO, __file__, 1, "on air: %s", ("a",), None)
    line = formatter("human").format(record)
    assert line == logging.Formatter(HUMAN_FORMAT).format(record)
    match = HUMAN_LINE.fullmatch(line)
    assert match is not None
    assert match.groups() == ("INFO", "grimnir.up", "on air: a")
    assert not isinstance(formatter("human"), JsonFormatter)
    with pytest.raises(ValueError, match="human, json"):
        formatter("xml")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["human", "json"])
def test_configure_logging_writes_the_format_to_stderr(fmt: str) -> None:
    probe = (
        "import logging\n"
        "from grimnir.observability.logs import configure_logging\n"
        f"configure_logging('info', {fmt!r})\n"
        "logging.getLogger('grimnir.probe').debug('hidden')\n"
        "logging.getLogger('grimnir.probe').info('shown', extra={'station': 'wgmr-fm'})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    (line,) = done.stderr.splitlines()
    if fmt == "json":
        entry = json.loads(line)
        assert (entry["logger"], entry["message"], entry["station"]) == (
            "grimnir.probe",
            "shown",
            "wgmr-fm",
        )
    else:
        match = HUMAN_LINE.fullmatch(line)
        assert match is not None
        assert match.groups() == ("INFO", "grimnir.probe", "shown")


def test_configure_logging_leaves_a_configured_root_alone() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    if not before:
        pytest.skip("the root logger has no handler to keep here")
    configure_logging("DEBUG", "json")
    assert root.handlers == before


# -- the commands --------------------------------------------------------------------------


def test_up_and_engine_take_log_format() -> None:
    runner = CliRunner()
    for command in ("up", "engine"):
        shown = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        assert "--log-format" in shown.output
        assert "GRIMNIR_LOG_FORMAT" in shown.output
        wrong = runner.invoke(app, [command, "--log-format", "xml"])
        assert wrong.exit_code == 2, wrong.output


def test_the_engine_accepts_the_format_from_its_command_line_and_environment(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    missing = str(tmp_path / "missing.yaml")

    def engine(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "grimnir", "engine", "--config", missing, *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    # accepted: it gets as far as reading the (missing) station file
    accepted = engine("--log-format", "json")
    assert accepted.returncode == 1, accepted.stderr
    assert "missing.yaml" in accepted.stderr
    inherited = engine(GRIMNIR_LOG_FORMAT="json")
    assert inherited.returncode == 1, inherited.stderr
    # what `grimnir up` exports reaches the engine's parser
    refused = engine(GRIMNIR_LOG_FORMAT="xml")
    assert refused.returncode == 2
    assert "GRIMNIR_LOG_FORMAT" in refused.stderr


def test_up_logs_json_lines(tmp_path: Path) -> None:
    """``grimnir up --log-format json`` with no station: its log lines (the database
    migrations) are JSON before it stops with a message for the user."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GRIMNIR_", "OTEL_"))},
        "GRIMNIR_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "grimnir", "up", "--log-format", "json", "--http", "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    logged = [line for line in done.stderr.splitlines() if line.startswith("{")]
    assert logged, done.stderr
    entries = [json.loads(line) for line in logged]
    assert any(entry["message"].startswith("Running upgrade") for entry in entries)
    assert all(ISO_MS_UTC.fullmatch(entry["time"]) for entry in entries)
    assert "no stations are registered yet" in done.stderr


def test_the_log_format_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().log_format == "human"
    monkeypatch.setenv("GRIMNIR_LOG_FORMAT", "JSON")
    assert Settings().log_format == "json"
