"""``python -m grimnir.engine.grpc``: a bare engine behind the gRPC control contract.

A development and test entry point (the station runtime is ``grimnir
engine``): a realtime clock, the automation and emergency layers, and an MP3
encoder into a null output so the engine does a station's real work. Stops
cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
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
