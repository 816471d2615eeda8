"""``python -m grimnir.engine.grpc``: a bare engine behind the gRPC control contract.

A development and test entry point (the station runtime is ``grimnir
engine``): a realtime clock, the automation and emergency layers, and an MP3
encoder into a null output so the engine does a station's real work. Stops
cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from grimnir.domain.errors import EXIT_CONFIG, AddressError, GrimnirError
from grimnir.engine.clock import RealtimeClock
from grimnir.engine.control import LocalControl
from grimnir.engine.engine import Engine, EngineOptions, OutputBinding
from grimnir.engine.grpc._server import report_exit_reason, serve_with_port
from grimnir.engine.outputs import NullOutput
from grimnir.observability.logs import LOG_FORMAT_ENV, LOG_FORMATS, configure_logging
from grimnir.observability.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger("grimnir.engine.grpc")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m grimnir.engine.grpc", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--grpc", required=True, metavar="ADDR", help="HOST:PORT or unix:PATH to serve on"
    )
    parser.add_argument("--station-id", required=True, help="the station this engine runs")
    parser.add_argument("--burst", type=int, default=5, help="blocks rendered per wake-up")
    parser.add_argument("--bitrate", type=int, default=128, help="MP3 kbit/s into the null output")
    parser.add_argument("--log-level", default="INFO")
    env_format = os.environ.get(LOG_FORMAT_ENV, "").lower()
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=env_format if env_format in LOG_FORMATS else "human",
        help=f"log lines for people or JSON lines (default: ${LOG_FORMAT_ENV} or human)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    configure_logging(args.log_level, args.log_format, human="%(levelname)s %(name)s: %(message)s")
    tracing_on = configure_tracing("grimnir-engine")
    try:
        return _run(args)
    finally:
        if tracing_on:
            shutdown_tracing()


def _run(args: argparse.Namespace) -> int:
    clock = RealtimeClock(burst=args.burst)
    engine = Engine(clock, EngineOptions(realtime=True, process_blocks=args.burst))
    engine.add_output(OutputBinding(NullOutput(), "mp3", args.bitrate))
    control = LocalControl(engine, args.station_id)
    try:
        server, port = serve_with_port(control, args.grpc)
    except GrimnirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        engine.close()
        if isinstance(exc, AddressError):
            report_exit_reason(str(exc))
            return EXIT_CONFIG
        return 2
    runner = threading.Thread(target=engine.run, name="engine", daemon=True)
    runner.start()
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    where = f"port {port}" if port else args.grpc
    log.info("engine for station %s serving gRPC on %s", args.station_id, where)
    try:
        while not done.wait(1.0) and runner.is_alive():
            pass
    finally:
        server.stop(grace=1.0).wait(2.0)
        clock.stop()
        runner.join(5.0)
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
