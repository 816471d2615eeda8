"""A normal start of ``grimnir up`` and a Ctrl-C say nothing alarming.

A WARNING at every start ("engine unreachable … retrying") teaches people to
ignore warnings, and a traceback on Ctrl-C looks like a crash.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

from tests._require import peer
from tests.test_up_api import Output, free_port, make_station, run_up, stop

ALARMING = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")


@peer("ffmpeg")
def test_a_normal_start_and_ctrl_c_print_no_warning_and_no_traceback(tmp_path: Path) -> None:
    env = make_station(tmp_path)
    proc = run_up(env, "--http", f"127.0.0.1:{free_port()}")
    output = Output(proc)
    try:
        output.until("stop with Ctrl-C", 120)
        output.until("item.started", 120)  # on air: the engine played its first item
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the control plane
        code = proc.wait(timeout=60)
    finally:
        stop(proc, output, tmp_path)
    printed = "".join(output.lines) + "".join(_rest(output))
    assert code == 0, printed
    alarming = [line for line in printed.splitlines() if ALARMING.search(line)]
    assert alarming == [], printed
    assert "engine.stopped" in printed  # the engines stop with it, and say so


def _rest(output: Output) -> list[str]:
    """Lines printed after the last ``until``, up to the process's end."""
    rest: list[str] = []
    while not output._queue.empty():
        rest.append(output._queue.get_nowait())
    return rest
