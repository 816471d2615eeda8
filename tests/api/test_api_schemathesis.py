"""Schemathesis fuzzes every operation of the OpenAPI document against a real
uvicorn server: no answer may be a 5xx.

Runs three times: as the manager of station "wgmr" with every {station} path
parameter set to it (so the station routes get past the lookup into their
handlers), as an administrator (the admin-only routes; random stations) and
without credentials (the access layer itself). ``make test`` runs the
examples, fuzzing and stateful phases, a few cases per operation; ``make
soak`` runs both signed-in roles through every phase, the coverage phase's
boundary values too (about 4,900 cases a role, most of a run's time), with many
more cases (``GRIMNIR_FUZZ_EXAMPLES`` overrides the count).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from tests._api import ApiWorld, api_world

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXCLUDED = r"^/(api/v1/events/stream|listen/|api/live/nowplaying/sse)"
"""Endless streams: fuzzing them only measures the request timeout."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _serving(world: ApiWorld) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


QUICK_EXAMPLES = 5
"""Cases per operation in ``make test`` (about 160 operations, three roles)."""
SOAK_EXAMPLES = 30
"""Cases per operation in ``make soak``."""


ALL_PHASES = "examples,coverage,fuzzing,stateful"
QUICK_PHASES = "examples,fuzzing,stateful"
"""Without the coverage phase: about 4,900 boundary cases, most of a run's time."""


async def _fuzz(
    base: str, folder: Path, examples: int, phases: str, *headers: str
) -> tuple[int, str]:
    args = [
        str(SCHEMATHESIS),
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("GRIMNIR_FUZZ_EXAMPLES", str(examples)),
        "--phases",
        phases,
        "--seed",
        "8",
        "--exclude-path-regex",
        EXCLUDED,
        "--request-timeout",
        "10",
        "--no-color",
        "--report-dir",
        str(folder),
    ]
    for header in headers:
        args += ["--header", header]
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=folder,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("who", "station", "examples", "phases"),
    [
        ("manager", "wgmr", QUICK_EXAMPLES, QUICK_PHASES),
        ("admin", None, QUICK_EXAMPLES, QUICK_PHASES),
        ("anonymous", None, QUICK_EXAMPLES, QUICK_PHASES),
        pytest.param("manager", "wgmr", SOAK_EXAMPLES, ALL_PHASES, marks=pytest.mark.slow),
        pytest.param("admin", None, SOAK_EXAMPLES, ALL_PHASES, marks=pytest.mark.slow),
    ],
    ids=["manager", "admin", "anonymous", "manager-soak", "admin-soak"],
)
async def test_no_operation_answers_5xx(
    tmp_path: Path, who: str, station: str | None, examples: int, phases: str
) -> None:
    if station is not None:
        (tmp_path / "schemathesis.toml").write_text(
            f'[parameters]\n"path.station" = "{station}"\n', encoding="utf-8"
        )
    async with api_world(tmp_path / "world") as world, _serving(world) as base:
        headers: list[str] = (
            [] if who == "anonymous" else [f"Authorization: Bearer {world.token(who)}"]
        )
        code, output = await _fuzz(base, tmp_path, examples, phases, *headers)
    tail = output[-6000:]
    assert code == 0, tail
    tested = re.search(r"Tested: (\d+)", output)
    assert tested is not None, tail
    assert int(tested.group(1)) >= 90, tail  # every operation but the event stream
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases is not None, tail
    assert cases.group(1) == cases.group(2), tail
