"""A smart block preview says how many ready tracks pass the block's filter (what
the web UI's rule builder shows beside the picks) and how far the last is trimmed."""

from __future__ import annotations

from tests._api import ApiWorld
from tests.api.test_api_programming import W, add_media

START = "2026-05-01T10:00:00Z"


async def test_preview_counts_the_tracks_the_filter_lets_through(world: ApiWorld) -> None:
    await add_media(world, n=12)  # genres cycle Rock, Jazz, Pop; years 1990…2001
    dj = world.client("dj")
    rules = {
        "groups": [
            [{"field": "genre", "modifier": "is", "value": "rock"}],
            [{"field": "year", "modifier": "greater_than", "value": 1992}],
        ]
    }
    r = await dj.post(
        f"{W}/smart-blocks/preview",
        params={"start": START, "target_ms": 360_000},
        json={"name": "draft", "rules": rules},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["library_size"] == 12
    assert got["matching"] == 3  # Rock from 1993, 1996, 1999 (1990 is too old)
    assert len(got["tracks"]) == 2
    assert got["trim_last_to_ms"] is None

    nothing = {"groups": [[{"field": "genre", "modifier": "is", "value": "polka"}]]}
    r = await dj.post(
        f"{W}/smart-blocks/preview",
        params={"start": START},
        json={"name": "draft", "rules": nothing},
    )
    assert r.status_code == 200, r.text
    assert r.json()["matching"] == 0
    assert r.json()["tracks"] == []


async def test_preview_says_where_the_last_track_is_trimmed(world: ApiWorld) -> None:
    await add_media(world, n=3)  # 3 minutes each
    dj = world.client("dj")
    r = await dj.post(
        f"{W}/smart-blocks/preview",
        params={"start": START, "target_ms": 240_000},
        json={"name": "draft", "rules": {"overflow": "trim_last"}},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["matching"] == 3
    assert len(got["tracks"]) == 2
    assert got["trim_last_to_ms"] == 60_000
