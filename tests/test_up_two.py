"""Two ``grimnir up --demo`` on one machine, with different data dirs and ``--http``
ports and nothing else given: both go on air at once (no port clash: engines are
controlled over a socket in their station's folder, stream ports are picked
free), and ffmpeg decodes each one's stream through its own ``/listen`` proxy.
Then one control plane is killed: its next run adopts its own engine and never
touches the other data dir's engine (the demo station has the same id in both).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np

from tests._require import FFMPEG_PATH, peer
from tests.test_up_api import Output, engine_pids, free_port, run_up, stop

SECONDS = 3


def demo_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env["GRIMNIR_DATA_DIR"] = str(data)
    env["no_proxy"] = "127.0.0.1,localhost"
    return env


def start_demo(data: Path, http: int) -> tuple[subprocess.Popen[str], Output]:
    proc = run_up(
        demo_env(data),
        *("--demo", "--demo-tracks", "2", "--demo-seconds", "8"),
        *("--http", f"127.0.0.1:{http}"),
    )
    return proc, Output(proc)


def lines(printed: str, label: str, *, ending: str = "") -> list[str]:
    """The values printed after ``label`` (ending with ``ending``), without repeats.

    The engines print to the same terminal, so their own "listen …" lines are
    there too; ``ending`` picks the control plane's.
    """
    values = [
        line.strip()[len(label) :].strip()
        for line in printed.splitlines()
        if line.strip().startswith(label + " ")
    ]
    return sorted({value for value in values if value.endswith(ending)})


def decode(url: str) -> np.ndarray:
    """``SECONDS`` of the stream at ``url`` as ffmpeg decodes it (16-bit stereo samples)."""
    command = [FFMPEG_PATH, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", url]
    done = subprocess.run(
        [*command, "-t", str(SECONDS), "-f", "s16le", "-ac", "2", "-ar", "48000", "-"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return np.frombuffer(done.stdout, dtype="<i2")


def assert_plays(url: str) -> None:
    samples = decode(url)
    assert len(samples) >= 2 * 48_000 * SECONDS * 0.95, len(samples)
    assert np.abs(samples).max() > 1000, f"{url} decodes to silence"


@peer("ffmpeg")
def test_two_demos_with_their_own_data_dirs_play_at_once(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    http_one, http_two = free_port(), free_port()
    first, first_out = start_demo(one / "data", http_one)
    second, second_out = start_demo(two / "data", http_two)
    again: subprocess.Popen[str] | None = None
    again_out: Output | None = None
    try:
        printed_one = first_out.until("stop with Ctrl-C", 400)
        printed_two = second_out.until("stop with Ctrl-C", 400)
        for printed, data in ((printed_one, one), (printed_two, two)):
            assert "Address already in use" not in printed
            assert "not on air yet" not in printed
            [control] = lines(printed, "control", ending="(gRPC)")
            assert control == f"unix:{data / 'data' / 'stations' / 'demo' / 'engine.sock'} (gRPC)"
        [listen_one] = [url for url in lines(printed_one, "listen") if "/listen/demo/" in url]
        [listen_two] = [url for url in lines(printed_two, "listen") if "/listen/demo/" in url]
        assert listen_one.startswith(f"http://127.0.0.1:{http_one}/listen/demo/")
        assert listen_two.startswith(f"http://127.0.0.1:{http_two}/listen/demo/")
        engine_one = lines(printed_one, "engine", ending="(direct)")
        engine_two = lines(printed_two, "engine", ending="(direct)")
        assert engine_one
        assert engine_two
        assert engine_one != engine_two  # each engine serves on a port of its own

        assert_plays(listen_one)
        assert_plays(listen_two)

        # The first control plane dies; its engine plays on and is adopted by the
        # next run of that data dir; the other dir's engine is not touched.
        ours, theirs = engine_pids(one), engine_pids(two)
        assert len(ours) == len(theirs) == 1
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        again, again_out = start_demo(one / "data", http_one)
        printed_again = again_out.until("stop with Ctrl-C", 400)
        assert "adopted" in printed_again
        # the engine stayed where it was
        assert lines(printed_again, "engine", ending="(direct)") == engine_one
        assert engine_pids(one) == ours
        assert engine_pids(two) == theirs
        assert_plays(listen_one)
        assert_plays(listen_two)
    finally:
        codes: dict[str, int | None] = {}
        running = [("second", second, second_out, two), ("again", again, again_out, one)]
        running.append(("first", first, first_out, one))  # killed above, or stopped here
        for name, proc, output, root in running:
            if proc is not None and output is not None:
                try:
                    codes[name] = stop(proc, output, root)
                except subprocess.TimeoutExpired:
                    codes[name] = None
    assert codes["second"] == 0
    assert codes["again"] == 0
    assert engine_pids(tmp_path) == []
