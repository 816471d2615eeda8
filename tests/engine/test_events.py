"""Every event type the engine raises is listed once, in ``grimnir.engine.events``."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

from grimnir.config.station import Failover
from grimnir.engine.audio import BLOCK, RATE
from grimnir.engine.clock import VirtualClock
from grimnir.engine.engine import Engine, EngineOptions
from grimnir.engine.events import EVENT_TYPES, EngineEvent
from grimnir.engine.mixing.automation import PlayItem
from tests._live import ScriptedLive

ENGINE = Path(__file__).resolve().parents[2] / "src" / "grimnir" / "engine"
RAISERS = frozenset({"EngineEvent", "announce", "_emit"})
"""Calls whose first argument is an event type: the event itself, ``Engine.announce``
(from other threads: harbor, feeds) and ``WebStreamChain._emit``."""
MIX_CHANGES = "layers.py"
"""Where the layer mixer's changes (``changes.append(...)``) become events."""


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _raised_literals() -> Iterator[tuple[str, str]]:
    """(file:line, literal) of every string the engine's code raises as an event type."""
    for path in sorted(ENGINE.rglob("*.py")):
        if {"client", "v1"} & set(path.relative_to(ENGINE).parts):
            continue  # the control plane's side and the generated contract
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                continue
            name = _name(node.func)
            mixer = path.name == MIX_CHANGES and name == "append"
            if name in RAISERS or mixer:
                yield f"{path.relative_to(ENGINE)}:{node.lineno}", first.value


def test_every_event_type_the_engine_raises_is_listed_and_every_listed_one_is_raised() -> None:
    raised = list(_raised_literals())
    unlisted = [f"{where}: {kind!r}" for where, kind in raised if kind not in EVENT_TYPES]
    assert unlisted == [], "add these to grimnir.engine.events.EventType"
    # "telemetry" is raised as a literal too; a listed type nobody raises is stale.
    assert EVENT_TYPES - {kind for _, kind in raised} == set()


def test_a_short_run_raises_only_listed_types(make_media: Callable[..., Path]) -> None:
    music = make_media("music.wav", seconds=2.0, freq_hz=300, level_db=-10, rate=RATE)
    backup = make_media("backup.wav", seconds=3.0, freq_hz=500, level_db=-10, rate=RATE)
    failover = Failover(
        fallback_paths=[str(backup)], live_grace_sec=0.5, live_timeout_sec=5.0, layer_fade_ms=100
    )
    events: list[EngineEvent] = []
    engine = Engine(VirtualClock(), EngineOptions(failover=failover), on_event=events.append)
    engine.play(PlayItem("music", str(music)))
    engine.play(PlayItem("broken", str(music.with_name("missing.wav"))))
    engine.set_live(ScriptedLive([(1.0, 1.5)], end_s=1.6), "/live")
    for _ in range(4 * RATE // BLOCK):
        engine.clock.wait()
        engine.step()
    engine.close()
    seen = {event.type for event in events}
    assert seen <= EVENT_TYPES
    expected = {"item.started", "item.ended", "layer.changed", "live.started", "live.ended"}
    assert expected | {"telemetry", "fallback.started"} <= seen
