"""How soon a killed engine serves again under the supervisor, against its own cold start.

README: "a killed engine serves again in about a second". A restart is the
supervisor noticing the exit, waiting its initial backoff (0.2 s) and a cold
start of a new process; the cold start is the machine's part (interpreter,
imports, the station's DSP and encoders, the gRPC server), so it is the
baseline, measured in the same run on the same engine. For ``--rounds`` rounds
an ``EngineSupervisor`` runs ``grimnir engine`` with the example station
(its folders moved to a temporary directory):

1. cold start: ``supervisor.start()`` → the first answered ``GetStatus``;
2. restart: ``kill -9`` of that engine → ``GetStatus`` answered by the new one.

Prints the medians, the ratio restart / cold start (goal ≤ 1.5: the supervisor
adds only the backoff and a few 50 ms polls to a cold start, so where a cold
start takes under a second a restart takes about a second) and, for the
record, the supervisor's share (restart − cold start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
STATION_ID = "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11"
"""The example station's id."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def engine_argv(folder: Path, grpc: str) -> list[str]:
    config = folder / "station.yaml"
    config.write_text(EXAMPLE.read_text().replace('"/var/', f'"{folder}/var/'))
    return [
        *(sys.executable, "-m", "grimnir", "engine", "--config", str(config)),
        *("--grpc", grpc, "--http", f"127.0.0.1:{free_port()}"),
    ]


async def answering(client: object, not_pid: int | None = None) -> int:
    """Poll ``GetStatus`` every 10 ms until an engine (other than ``not_pid``) answers."""
    from grimnir.domain.errors import GrimnirError
    from grimnir.engine.client import GrpcEngineClient

    assert isinstance(client, GrpcEngineClient)
    async with asyncio.timeout(120):
        while True:
            with contextlib.suppress(GrimnirError):
                pid = int((await client.status())["pid"])
                if pid != not_pid:
                    return pid
            await asyncio.sleep(0.01)


async def one_round(folder: Path) -> tuple[float, float]:
    """(cold start s, restart s) of one engine."""
    from grimnir.engine.client import GrpcEngineClient
    from grimnir.engine.client.supervisor import EngineSpec, EngineStatus, EngineSupervisor

    grpc = f"127.0.0.1:{free_port()}"
    supervisor = EngineSupervisor([EngineSpec(STATION_ID, engine_argv(folder, grpc), grpc)])
    client = GrpcEngineClient(grpc, STATION_ID, timeout_s=0.5)
    try:
        begun = time.perf_counter()
        await supervisor.start()
        pid = await answering(client)
        cold = time.perf_counter() - begun
        async with asyncio.timeout(120):
            while supervisor.states()[STATION_ID].status is not EngineStatus.RUNNING:
                await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)  # settled: the station runs, as a killed one would
        killed = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        await answering(client, not_pid=pid)
        restart = time.perf_counter() - killed
    finally:
        await client.close()
        await supervisor.stop()
    return cold, restart


async def run(rounds: int, out: TextIO) -> list[tuple[float, float]]:
    results = []
    for index in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            cold, restart = await one_round(Path(tmp))
        print(
            f"round {index + 1}: cold start {cold:.3f} s, restart after kill -9 {restart:.3f} s",
            file=out,
            flush=True,
        )
        results.append((cold, restart))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # NOTE: the engines inherit stdout and print their banner; only ours is shown.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    results = asyncio.run(run(args.rounds, out))
    cold = statistics.median(c for c, _ in results)
    restart = statistics.median(r for _, r in results)
    print(f"cold start (baseline), median:        {cold:.3f} s", file=out)
    print(f"restart after kill -9, median:        {restart:.3f} s", file=out)
    print(f"ratio restart / cold start:           {restart / cold:.2f}  (goal ≤ 1.5)", file=out)
    print(
        f"the supervisor's share (difference):  {restart - cold:+.3f} s",
        file=out,
        flush=True,
    )


if __name__ == "__main__":
    main()
