"""The checks every scenario must pass, on the rendered audio and the as-run log."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np

from tests.simulation._sim import BLOCK_S, SILENT_PEAK, Outcome

FRAME = timedelta(seconds=1 / 48_000)
EDGE_S = 0.6
"""Around a row's start and end the audio may fade (item fades, layer fades)."""
MISMATCH_S = 1.0
"""Audio and as-run may disagree this long at a stretch before the check fails."""


def _block(at: datetime, origin: datetime) -> int:
    return round((at - origin) / timedelta(seconds=BLOCK_S))


def hard_entries_late(outcome: Outcome) -> list[str]:
    """Hard entries that did not start on their frame (or did not air)."""
    started: dict[uuid.UUID, datetime] = {}
    for row in outcome.asrun:
        if row.timeline_entry_id is not None:
            started.setdefault(row.timeline_entry_id, row.started_at)
    covers = [
        (row.started_at, row.ended_at or datetime.max.replace(tzinfo=row.started_at.tzinfo))
        for row in outcome.asrun
        if row.layer in ("live", "emergency")
    ]
    problems = []
    exempt = [
        (outcome.origin + timedelta(seconds=a), outcome.origin + timedelta(seconds=b))
        for a, b in outcome.scenario.hard_exempt
    ]
    for entry in outcome.hard:
        if any(a <= entry.starts_at < b for a, b in exempt):
            continue  # the scenario says it cannot air (the control plane is dead)
        if any(a <= entry.starts_at < b for a, b in covers):
            continue  # a DJ or an alert held the air then: it played unheard, underneath
        at = started.get(entry.id)
        if at is None:
            problems.append(f"hard entry {entry.title!r} at {entry.starts_at:%H:%M:%S} never aired")
        elif abs(at - entry.starts_at) >= FRAME:
            late = (at - entry.starts_at).total_seconds()
            problems.append(
                f"hard entry {entry.title!r} at {entry.starts_at:%H:%M:%S} off by {late:+.3f} s"
            )
    return problems


def asrun_disagrees(outcome: Outcome) -> list[str]:
    """Stretches where the as-run log and the audio tell different stories: audio that no
    row accounts for, or a row over silence."""
    total = len(outcome.peaks)
    covered = np.zeros(total, dtype=bool)
    edges = np.zeros(total, dtype=bool)
    pad = round(EDGE_S / BLOCK_S)
    for row in outcome.asrun:
        a = max(0, _block(row.started_at, outcome.origin))
        b = total if row.ended_at is None else min(total, _block(row.ended_at, outcome.origin))
        if b <= a:
            continue
        covered[a:b] = True
        edges[max(0, a - pad) : a + pad] = True
        edges[max(0, b - pad) : b + pad] = True
    # NOTE: where the scenario asks for silence (the engine process was dead) a row
    # may go on: the item is resumed where it was cut and keeps its one row
    for since, until in outcome.scenario.allowed_silence:
        first, last = (
            _block(outcome.origin + timedelta(seconds=s), outcome.origin) for s in (since, until)
        )
        edges[first:last] = True
    audible = outcome.peaks >= SILENT_PEAK
    problems = []
    for what, wrong in (
        ("audio with no as-run row", audible & ~covered & ~edges),
        ("as-run row over silence", ~audible & covered & ~edges),
    ):
        runs = np.flatnonzero(np.diff(np.concatenate(([0], wrong.astype(np.int8), [0]))))
        for start, end in zip(runs[::2], runs[1::2], strict=True):
            length = (end - start) * BLOCK_S
            if length > MISMATCH_S:
                problems.append(f"{what}: {start * BLOCK_S:.2f} s for {length:.2f} s")
    return problems


def report(outcome: Outcome) -> dict[str, list[str]]:
    silences = [f"silence at {at:.2f} s for {length:.2f} s" for at, length in outcome.silences()]
    return {
        "silence": silences,
        "hard": hard_entries_late(outcome),
        "asrun": asrun_disagrees(outcome),
        "log": too_much_log(outcome),
    }


def too_much_log(outcome: Outcome) -> list[str]:
    """More warnings and errors than the scenario allows (a line per retry, say)."""
    most = outcome.scenario.max_log_lines
    lines = outcome.log_lines
    if most is None or len(lines) <= most:
        return []
    shown = "; ".join(lines[:5])
    return [f"{len(lines)} warnings and errors logged, at most {most}: {shown} …"]
