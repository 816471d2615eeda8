"""The ``eas:`` section of a station config: accepted, converted, and clear when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grimnir.config.station import load_station_config, parse_station_config
from grimnir.domain.errors import ConfigError
from grimnir.services.alerts import settings_of
from tests._require import require_shared

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "station-wgmr.yaml"

FULL = {
    "enabled": True,
    "country": "CA",
    "sender_id": "CWGM",
    "same_locations": ["048453"],
    "capcp_locations": ["35"],
    "polygons": [[[43.6, -79.5], [43.8, -79.5], [43.8, -79.2], [43.6, -79.5]]],
    "circles": [{"lat": 43.7, "lon": -79.4, "radius_km": 20}],
    "relay_events": ["TOR", "tornado"],
    "ignore_events": ["RMT"],
    "min_severity": "Severe",
    "languages": ["en", "fr"],
    "attention_seconds": 8,
    "preroll_ms": 500,
    "cap_secret": "0123456789abcdef",
    "feeds": [{"url": "https://alerts.example.org/feed", "poll_seconds": 30}],
    "naad": [{"host": "streaming1.naad-adna.pelmorex.com", "port": 8080}],
    "monitor": ["http://127.0.0.1:8000/upstream.mp3"],
    "rwt": {"weekday": "wednesday", "time": "11:05"},
    "rmt_window_minutes": 60,
}


def _text(eas: object) -> str:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["eas"] = eas
    return yaml.safe_dump(raw)


def test_the_examples_still_load() -> None:
    assert load_station_config(EXAMPLE).eas is None
    assert load_station_config(require_shared("examples/station-wgmr.yaml")).eas is None


def test_a_full_section_becomes_the_policy_settings() -> None:
    config = parse_station_config(_text(FULL)).eas
    assert config is not None
    settings = settings_of(config)
    assert settings.country == "CA"
    assert settings.sender_id == "CWGM    "
    assert settings.capcp_locations == ("35",)
    assert settings.relay_events == frozenset({"TOR", "tornado"})
    assert settings.languages == ("en", "fr")
    assert settings.circles[0].radius_km == 20
    assert config.rwt is not None
    assert config.rwt.weekday == "wednesday"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"same_locations": ["48453"]}, "six digits PSSCCC"),
        ({"attention_seconds": 30}, "must be ≤ 25"),
        ({"sender_id": "TOO-LONG-ID"}, "at most 8 characters"),
        ({"sender_id": "WG-MR"}, "no '-'"),
        ({"same_locations": [], "capcp_locations": [], "polygons": [], "circles": []}, "no area"),
        ({"rwt": {"weekday": "wednesday", "time": "25:00"}}, "HH:MM"),
        ({"polygons": [[[1, 2], [3, 4], [1, 2]]]}, "at least 4"),
        ({"country": "MX"}, "must be one of US, CA"),
    ],
)
def test_mistakes_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_station_config(_text({**FULL, **change}))
    assert message in str(caught.value)
