"""The occurrences route reports each show conflict as data (``overlaps``) beside
its sentence, so the schedule page can mark both occurrences on the calendar."""

from __future__ import annotations

from tests._api import ApiWorld

W = "/api/v1/stations/wgmr"


async def test_overlaps_name_both_occurrences(world: ApiWorld) -> None:
    m = world.client("manager")
    base = {"duration_ms": 2 * 3_600_000, "content": "live"}
    early = {**base, "name": "Early", "rrule": "FREQ=DAILY", "dtstart": "2026-03-02T06:00:00-05:00"}
    late = {**base, "name": "Late", "rrule": "", "dtstart": "2026-03-03T07:00:00-05:00"}
    first = (await m.post(f"{W}/shows", json=early)).json()
    second = (await m.post(f"{W}/shows", json=late)).json()

    r = await world.client("dj").get(
        f"{W}/shows/occurrences",
        params={"from": "2026-03-03T00:00:00-05:00", "to": "2026-03-04T00:00:00-05:00"},
    )
    assert r.status_code == 200, r.text
    found = r.json()
    assert len(found["conflicts"]) == 1
    assert found["overlaps"] == [
        {
            "winner_show_id": second["id"],
            "winner_name": "Late",
            "winner_rule_start": "2026-03-03T07:00:00-05:00",
            "loser_show_id": first["id"],
            "loser_name": "Early",
            "loser_rule_start": "2026-03-03T06:00:00-05:00",
            "start": "2026-03-03T07:00:00-05:00",
            "end": "2026-03-03T08:00:00-05:00",
        }
    ]
    # the loser airs around the winner; its piece keeps the rule start it is keyed by
    pieces = [(o["name"], o["start"], o["rule_start"]) for o in found["occurrences"]]
    assert pieces == [
        ("Early", "2026-03-03T06:00:00-05:00", "2026-03-03T06:00:00-05:00"),
        ("Late", "2026-03-03T07:00:00-05:00", "2026-03-03T07:00:00-05:00"),
    ]


async def test_no_overlaps_without_conflicts(world: ApiWorld) -> None:
    m = world.client("manager")
    body = {
        "name": "Alone",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "dtstart": "2026-03-02T10:00:00Z",
        "duration_ms": 3_600_000,
        "content": "live",
    }
    assert (await m.post(f"{W}/shows", json=body)).status_code == 201
    r = await m.get(
        f"{W}/shows/occurrences",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["overlaps"] == []
    assert r.json()["conflicts"] == []
