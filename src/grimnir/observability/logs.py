"""The log formats of Grimnir's processes: ``human`` (the default) and ``json``.

``human`` is the line every command has always printed
(``2025-01-01 12:00:00,000 INFO grimnir.up: …``). ``json`` is one object per
line for a log shipper::

    {"time": "2025-01-01T12:00:00.000Z", "level": "INFO", "logger": "grimnir.up",
     "message": "…", "station": "…", "trace_id": "…", "span_id": "…", "event": "…"}

``station`` comes from the record (``log.info(…, extra={"station": key})``) or
from :data:`STATION`, which an executor sets for its own tasks; ``trace_id``
and ``span_id`` from the current OpenTelemetry span; ``event`` from the record
(``extra={"event": "engine.started"}``); ``exc_info`` is the traceback text.
Keys without a value are left out.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from opentelemetry import trace

LogFormat = Literal["human", "json"]
LOG_FORMATS: Final[tuple[str, ...]] = get_args(LogFormat)
LOG_FORMAT_ENV: Final = "GRIMNIR_LOG_FORMAT"
"""The environment variable that sets the format (engines started by ``grimnir up``
inherit it)."""
HUMAN_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

STATION: ContextVar[str | None] = ContextVar("grimnir_log_station", default=None)
"""The station the current task works for (an executor's tasks set it)."""


def station_context(station: str) -> contextvars.Context:
    """A copy of the current context with :data:`STATION` set to ``station``: give it
    to ``asyncio.create_task(…, context=…)`` so a station's task logs its station."""
    context = contextvars.copy_context()
    context.run(STATION.set, station)
    return context


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        station = getattr(record, "station", None) or STATION.get()
        if station is not None:
            entry["station"] = str(station)
        found = trace.get_current_span().get_span_context()
        if found.is_valid:
            entry["trace_id"] = format(found.trace_id, "032x")
            entry["span_id"] = format(found.span_id, "016x")
        event = getattr(record, "event", None)
        if event is not None:
            entry["event"] = str(event)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(fmt: LogFormat, human: str = HUMAN_FORMAT) -> logging.Formatter:
    """The formatter of ``fmt`` (``human`` lines look like ``human``)."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "human":
        return logging.Formatter(human)
    raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)} (got {fmt!r})")


def configure_logging(level: str, fmt: LogFormat = "human", *, human: str = HUMAN_FORMAT) -> None:
    """Log at ``level`` and above to stderr in ``fmt``; like ``logging.basicConfig``, it
    leaves a root logger that already has handlers as it is."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, human))
    logging.basicConfig(level=level.upper(), handlers=[handler])


__all__ = [
    "HUMAN_FORMAT",
    "LOG_FORMATS",
    "LOG_FORMAT_ENV",
    "STATION",
    "JsonFormatter",
    "LogFormat",
    "configure_logging",
    "formatter",
    "station_context",
]
