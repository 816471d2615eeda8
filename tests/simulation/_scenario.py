"""Scenario files: what a whole-station simulation runs and what it must show.

A scenario is YAML (``scenarios/*.yaml``)::

    name: replans
    hours: 6                     # station time simulated
    seed: 1                      # library, random skips
    failover: {live_grace_sec: 5}
    executor: {poll_s: 1}
    replan_every: 10m            # the rolling rebuild, as ``grimnir up`` runs it
    events:
      - {at: "00:12:33.4", do: skip}
      - {every: 17m, from: 5m, do: skip, jitter: 3m}
      - {at: 1h, do: dj, duration: 10m, drops: [{after: 2m, for: 2s}]}
    relays:                      # web stream shows: what the remote server sends
      - {at: 20m, for: 30m, drops: [{after: 5m, for: 2m}], dies_after: 20m}
    database: sqlite             # or postgres: a private server, really stopped
    checks:
      max_silence: 0.5s
      max_log_lines: 20          # warnings and errors logged in the whole run

Times are seconds, ``1h2m3.5s`` or ``HH:MM:SS.fff``, counted from the start.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCENARIOS = Path(__file__).parent / "scenarios"
ACTIONS = frozenset(
    {
        "skip",
        "dj",
        "emergency",
        "break_next",
        "kill_control_plane",
        "restart_control_plane",
        "database_down",
        "database_up",
        "restart_engine",
    }
)

_UNITS = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")


def seconds(value: Any) -> float:
    """``value`` (a number, ``1h2m3.5s`` or ``HH:MM:SS.fff``) in seconds."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if ":" in text:
        parts = [float(p) for p in text.split(":")]
        total = 0.0
        for part in parts:
            total = total * 60 + part
        return total
    total, pos = 0.0, 0
    for match in _UNITS.finditer(text):
        if match.start() != pos:
            break
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}[unit]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a duration: {value!r} (write 90, 1m30s or 00:01:30)")
    return total


@dataclass(frozen=True, slots=True)
class Action:
    """One scripted event at ``at`` seconds of station time."""

    at: float
    do: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Relay:
    """A web stream show: ``length`` seconds from ``at``; the remote server sends audio
    but for its drops (after, for) and stops for good ``dies_after`` in (None: never)."""

    at: float
    length: float
    drops: tuple[tuple[float, float], ...] = ()
    dies_after: float | None = None

    def windows(self) -> list[tuple[float, float]]:
        """(from, to) seconds of the stream's own time with audio."""
        end = self.length if self.dies_after is None else min(self.length, self.dies_after)
        out, at = [], 0.0
        for after, length in sorted(self.drops):
            out.append((at, min(after, end)))
            at = after + length
        out.append((at, end))
        return [(a, b) for a, b in out if b > a]


@dataclass(slots=True)
class Scenario:
    name: str
    hours: float
    seed: int = 0
    failover: dict[str, Any] = field(default_factory=dict)
    executor: dict[str, Any] = field(default_factory=dict)
    replan_every: float = 600.0
    plan_hours: float = 12.0
    soak: bool = False
    control_plane: bool = True
    """False: the engine runs alone from the start (nothing planned reaches it)."""
    actions: list[Action] = field(default_factory=list)
    max_silence: float = 0.5
    allowed_silence: list[tuple[float, float]] = field(default_factory=list)
    """Windows (seconds) where silence is what the scenario asks for."""
    hard_exempt: list[tuple[float, float]] = field(default_factory=list)
    """Windows (seconds) whose hard entries cannot air (nobody could send them)."""
    relays: list[Relay] = field(default_factory=list)
    database: str = "sqlite"
    """``postgres``: a private PostgreSQL server, really stopped by ``database_down``."""
    max_log_lines: int | None = None
    """Warnings and errors the control plane may log in the whole run (None: any)."""

    @property
    def duration_s(self) -> float:
        return self.hours * 3600.0


def load(path: Path) -> Scenario:
    """Read and check a scenario file (``ValueError`` naming what to fix)."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: a scenario is a mapping")
    known = {
        "name", "hours", "seed", "failover", "executor", "replan_every", "plan_hours",
        "soak", "events", "checks", "control_plane", "relays", "database",
    }  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {sorted(unknown)}")
    scenario = Scenario(
        name=str(data.get("name") or path.stem),
        hours=float(data["hours"]),
        seed=int(data.get("seed", 0)),
        failover=dict(data.get("failover") or {}),
        executor=dict(data.get("executor") or {}),
        replan_every=seconds(data.get("replan_every", 600)),
        plan_hours=float(data.get("plan_hours", 12)),
        soak=bool(data.get("soak", False)),
        control_plane=bool(data.get("control_plane", True)),
        database=str(data.get("database", "sqlite")),
    )
    if scenario.database not in ("sqlite", "postgres"):
        raise ValueError(f"{path.name}: database must be sqlite or postgres")
    for n, raw in enumerate(data.get("relays") or []):
        try:
            scenario.relays.append(
                Relay(
                    at=seconds(raw["at"]),
                    length=seconds(raw["for"]),
                    drops=tuple(
                        (seconds(d["after"]), seconds(d["for"])) for d in raw.get("drops") or []
                    ),
                    dies_after=None if "dies_after" not in raw else seconds(raw["dies_after"]),
                )
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"{path.name}: relay {n}: give at, for, and optionally drops and dies_after"
            ) from exc
    rng = random.Random(scenario.seed)
    for n, raw in enumerate(data.get("events") or []):
        scenario.actions.extend(_expand(path.name, n, dict(raw), scenario.duration_s, rng))
    scenario.actions.sort(key=lambda a: a.at)
    checks = dict(data.get("checks") or {})
    scenario.max_silence = seconds(checks.get("max_silence", 0.5))
    scenario.allowed_silence = [
        (seconds(w["from"]), seconds(w["to"])) for w in checks.get("allowed_silence") or []
    ]
    if checks.get("max_log_lines") is not None:
        scenario.max_log_lines = int(checks["max_log_lines"])
    scenario.hard_exempt = [
        (seconds(w["from"]), seconds(w["to"])) for w in checks.get("hard_exempt") or []
    ]
    return scenario


def _expand(name: str, n: int, raw: dict[str, Any], end: float, rng: random.Random) -> list[Action]:
    do = raw.pop("do", None)
    if do not in ACTIONS:
        raise ValueError(f"{name}: event {n}: 'do' must be one of {sorted(ACTIONS)}, got {do!r}")
    if "at" in raw:
        return [Action(seconds(raw.pop("at")), do, raw)]
    if "every" not in raw:
        raise ValueError(f"{name}: event {n}: give 'at' or 'every'")
    every = seconds(raw.pop("every"))
    start = seconds(raw.pop("from", every))
    jitter = seconds(raw.pop("jitter", 0))
    until = seconds(raw.pop("until", end))
    out: list[Action] = []
    at = start
    while at < until:
        # NOTE: jitter in whole milliseconds: "random moments", reproducible by seed
        moment = at + round(rng.uniform(0, jitter) * 1000) / 1000 if jitter else at
        out.append(Action(moment, do, dict(raw)))
        at += every
    return out


def all_scenarios() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))
