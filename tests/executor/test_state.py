"""The executor's state objects on their own: what each change does to what they own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from grimnir.bus import MemoryBus
from grimnir.domain import Priority
from grimnir.engine.client import EngineClient, EngineEventRecord
from grimnir.executor import HoldKey, PriorityService
from grimnir.executor._state import EngineLink, LiveWindow, OnAirItems
from grimnir.executor._timeline import Planned, Sessions

T0 = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


def _started(item_id: str, at: datetime) -> EngineEventRecord:
    return EngineEventRecord("s", "item.started", 0, at, {"item_id": item_id})


def test_on_air_items_follow_an_item_from_sent_to_ended() -> None:
    items = OnAirItems()
    items.sent("a")
    items.sent("b")
    items.automation_started("a", _started("a", T0))
    assert (set(items.in_engine), set(items.playing), items.current) == ({"a", "b"}, {"a"}, "a")
    assert items.position_ms(T0 + timedelta(seconds=2)) == 2000
    items.cover("a")
    items.stream_switched("a", "http://backup/")
    assert items.ended("a", "automation") == (False, False, True)
    assert (set(items.in_engine), set(items.playing), items.current) == ({"b"}, set(), None)
    assert (dict(items.stream_urls), set(items.covered)) == ({}, set())
    assert items.started_record("a") is None
    assert items.position_ms(T0) == 0


def test_interrupted_items_end_preempted_and_the_queue_is_emptied() -> None:
    items = OnAirItems()
    for item_id in ("a", "b", "c"):
        items.sent(item_id)
    items.automation_started("a", _started("a", T0))
    assert items.interrupt(preempted=True) == {"b", "c"}
    items.only_playing()
    assert set(items.in_engine) == {"a"}
    assert items.ended("a", "automation") == (True, True, False)
    items.lined_up(["x", "y"], "x")
    items.resumed_at("z", 1500)
    assert (set(items.in_engine), items.current, list(items.resumed)) == (
        {"x", "y", "z"},
        "x",
        [("z", 1500)],
    )


def test_the_engine_link_says_down_once_and_counts_events_per_frame() -> None:
    link = EngineLink()
    assert not link.reached()  # first contact: nothing was said down
    link.lost(T0)
    assert (link.up, link.lost_at) == (False, T0)
    assert link.reached()  # output.up follows the output.down
    assert not link.reached()
    link.recovered()
    assert link.lost_at is None
    link.mark(10)
    link.mark(10)
    link.mark(12)
    assert link.handled == (12, 1)
    link.mark_before(20)
    assert link.handled == (19, 0)
    assert not link.lined_up(T0)
    assert link.lined_up(T0 + timedelta(seconds=5))  # another engine process
    link.forget_marks()
    assert link.handled is None


def test_a_live_window_is_heard_when_a_dj_is_on_air_in_it() -> None:
    live = LiveWindow()
    show = cast(Planned, object())
    live.dj_on_air()
    live.open(show)
    assert (live.entry, live.heard, live.on_air) == (show, True, True)
    live.dj_off_air()
    live.close()
    live.open(show)
    assert (live.heard, live.on_air) == (False, False)
    assert live.dj_on_air() is show
    assert live.heard


def _on_air(service: PriorityService) -> Priority:
    return service.on_air  # NOTE: a call, so mypy does not narrow it between the steps


async def test_holds_are_let_go_by_key_or_by_kind() -> None:
    none: Any = None
    service = PriorityService(
        uuid.uuid4(), cast(Sessions, none), cast(EngineClient, none), MemoryBus(), lambda: T0
    )
    await service.hold(HoldKey.live("/a"), Priority.LIVE_OVERRIDE, T0)
    await service.hold(HoldKey.live("/b"), Priority.LIVE_OVERRIDE, T0)
    await service.hold(HoldKey.emergency(None), Priority.EMERGENCY, T0)
    assert _on_air(service) is Priority.EMERGENCY
    await service.let_go(HoldKey.emergency("emergency-1"), HoldKey.emergency(None), at=T0)
    assert _on_air(service) is Priority.LIVE_OVERRIDE
    await service.let_go(HoldKey.live("/a"), at=T0)
    assert _on_air(service) is Priority.LIVE_OVERRIDE  # /b still holds the air
    await service.let_go_all("live", at=T0)
    assert _on_air(service) is Priority.AUTOMATION
