"""The envelope, the subscription filter and create_bus: no server needed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from grimnir.bus import (
    EVENT_TYPES,
    ITEM_STARTED,
    NOW_PLAYING,
    Event,
    EventFilter,
    MemoryBus,
    NatsBus,
    RedisBus,
    create_bus,
)
from grimnir.bus._filter import station_token
from grimnir.domain.errors import ConfigError

AT = datetime(2024, 10, 27, 1, 30, 0, 5, tzinfo=UTC)


def test_json_round_trip_is_exact_to_the_microsecond() -> None:
    event = Event(NOW_PLAYING, "st-a", AT, {"title": "Åsgårdsreia", "ms": 10**15, "x": -0.0})
    text = event.to_json()
    raw = json.loads(text)
    assert raw["at"] == "2024-10-27T01:30:00.000005+00:00"
    assert set(raw) == {"id", "type", "station_id", "at", "data"}
    back = Event.from_json(text.encode())
    assert back == event
    assert back.id == event.id
    assert back.at.tzinfo is UTC
    assert Event.from_json(back.to_json()) == event


def test_times_are_stored_in_utc_and_must_be_aware() -> None:
    oslo_summer = timezone(timedelta(hours=2))
    event = Event(ITEM_STARTED, None, datetime(2024, 6, 1, 12, 0, tzinfo=oslo_summer))
    assert event.at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert event.at.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        Event(ITEM_STARTED, None, datetime(2024, 6, 1, 12, 0))  # noqa: DTZ001 - the point


def test_each_event_gets_its_own_id_and_hashes() -> None:
    a, b = Event.now(NOW_PLAYING, "st-a", title="x"), Event.now(NOW_PLAYING, "st-a", title="x")
    assert a.id != b.id
    assert len({a, b, a}) == 2
    assert a.data == {"title": "x"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"t": (1, 2)}, r"data\.t is a tuple"),
        ({"s": {1}}, r"data\.s is a set"),
        ({"when": AT}, r"data\.when is a datetime"),
        ({"x": [1, float("nan")]}, r"data\.x\[1\] is nan"),
        ({"x": {"y": float("inf")}}, r"data\.x\.y is inf"),
        ({"x": {1: "a"}}, r"keys must be strings"),
    ],
)
def test_data_must_survive_json_unchanged(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Event(NOW_PLAYING, "st-a", AT, data)


@pytest.mark.parametrize("bad", ["", "item..started", "item.*", "a b", ".x", "x.", "ä", "a>b"])
def test_event_types_are_dotted_words(bad: str) -> None:
    with pytest.raises(ValueError, match="event type"):
        Event(bad, None, AT)


def test_envelope_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="station_id"):
        Event(NOW_PLAYING, "", AT)
    with pytest.raises(ValueError, match="dict"):
        Event(NOW_PLAYING, None, AT, [1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "JSON object"),
        ('{"type": "x"}', "lacks id, station_id, at, data"),
        ('{"id":"1","type":"x","station_id":null,"at":5,"data":{}}', "ISO 8601 string"),
        ('{"id":"1","type":"x","station_id":null,"at":"yesterday","data":{}}', "not ISO 8601"),
        ('{"id":"1","type":"x","station_id":null,"at":"2024-01-01T00:00:00","data":{}}', "aware"),
    ],
)
def test_from_json_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Event.from_json(text)


def test_the_architecture_event_types_are_all_there() -> None:
    assert set(EVENT_TYPES) == {
        "now_playing",
        "item.started",
        "item.ended",
        "schedule.updated",
        "priority.changed",
        "live.connected",
        "live.disconnected",
        "webstream.failover",
        "webstream.recovered",
        "silence.detected",
        "output.down",
        "output.up",
        "eas.alert",
        "telemetry",
    }
    for type_ in EVENT_TYPES:
        Event(type_, None, AT)  # every one is a valid type


@pytest.mark.parametrize(
    ("types", "station", "redis", "nats"),
    [
        (None, None, "g.*.*", "g.*.>"),
        (["*"], "st-a", "g.st-a.*", "g.st-a.>"),
        (["item.started"], None, "g.*.item.started", "g.*.item.started"),
        (["item.*"], "st-a", "g.st-a.item.*", "g.st-a.item.>"),
        (["item.started", "item.ended"], None, "g.*.item.*", "g.*.item.>"),
        (["item.*", "item.started", "item.cue.*"], None, "g.*.item.*", "g.*.item.>"),
        (["item", "item.*"], None, "g.*.*", "g.*.>"),
        (["now_playing", "item.*"], "a.b", "g.a%2Eb.*", "g.a%2Eb.>"),
    ],
)
def test_one_pattern_per_subscription_covers_the_filter(
    types: list[str] | None, station: str | None, redis: str, nats: str
) -> None:
    f = EventFilter.build(types, station)
    assert f.redis_pattern("g") == redis
    assert f.nats_subject("g") == nats


def test_station_tokens_are_safe_and_distinct() -> None:
    ids = ["st-a", "a.b", "a%2Eb", "_", "%5F", "x*y", "x?y", "[a]", "Øst", "a b", "a>b"]
    tokens = [station_token(s) for s in ids]
    assert len(set(tokens)) == len(ids)
    assert station_token(None) == "_"
    assert station_token("_") != "_"
    for token in tokens:
        assert all(ch.isascii() and (ch.isalnum() or ch in "_-%") for ch in token)


def test_prefix_filters_drop_covered_types() -> None:
    f = EventFilter.build(["item.started", "item.*", "item.cue.*", "now_playing"], None)
    assert f.exact == frozenset({"now_playing"})
    assert f.prefixes == ("item.",)


def test_create_bus_picks_the_implementation_from_the_url() -> None:
    assert isinstance(create_bus("memory://"), MemoryBus)
    redis_bus = create_bus("redis://127.0.0.1:6379/0", prefix="radio1")
    assert isinstance(redis_bus, RedisBus)
    assert redis_bus.prefix == "radio1"
    assert isinstance(create_bus("rediss://cache.example:6380/2"), RedisBus)
    assert isinstance(create_bus("nats://127.0.0.1:4222"), NatsBus)
    assert isinstance(create_bus("tls://nats.example:4222"), NatsBus)


@pytest.mark.parametrize("url", ["", "kafka://k:9092", "http://user:pw@host/", "127.0.0.1:6379"])
def test_create_bus_refuses_unknown_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="bus_url must start with memory://, redis:// or nats://"):
        create_bus(url)


def test_create_bus_masks_passwords_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        create_bus("amqp://radio:hunter2@mq/")
    assert "hunter2" not in str(caught.value)


def test_bad_prefix_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="prefix"):
        RedisBus("redis://127.0.0.1:6379/0", prefix="a.b")
    with pytest.raises(ConfigError, match="prefix"):
        create_bus("nats://127.0.0.1:4222", prefix="*")
