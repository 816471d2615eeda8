"""Playlists, smart blocks, clocks and shows through the real app and database."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from grimnir.domain import MediaState
from grimnir.store.models import AuditLog, MediaItem
from tests._api import ApiWorld

W = "/api/v1/stations/wgmr"
OTHER = "/api/v1/stations/other"
GENRES = ["Rock", "Jazz", "Pop"]


async def add_media(
    world: ApiWorld, station: str = "wgmr", n: int = 12, state: MediaState = MediaState.READY
) -> list[uuid.UUID]:
    """``n`` media rows of a station (artists and genres cycle; 3 minutes each)."""
    ids = []
    async with world.ctx.sessions() as session:
        for i in range(n):
            row = MediaItem(
                station_id=world.stations[station],
                sha256=uuid.uuid4().hex * 2,
                path=f"/music/{station}/{i}.mp3",
                size_bytes=1000,
                format="mp3",
                title=f"Song {i}",
                artist=f"Artist {i}",
                album=f"Album {i}",
                genre=GENRES[i % 3],
                year=1990 + i,
                duration_ms=180_000,
                cue_in_ms=0,
                cue_out_ms=180_000,
                state=state,
            )
            session.add(row)
            ids.append(row.id)
        await session.commit()
    return ids


async def audit_actions(world: ApiWorld, station: str = "wgmr") -> list[str]:
    async with world.ctx.sessions() as session:
        rows = await session.scalars(
            select(AuditLog.action)
            .where(AuditLog.station_id == world.stations[station])
            .order_by(AuditLog.id)
        )
        return list(rows)


def rock_rules() -> dict[str, Any]:
    return {"groups": [[{"field": "genre", "modifier": "is", "value": "rock"}]]}


def problem(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    detail: str = r.json()["detail"]
    return detail


# -- playlists ------------------------------------------------------------------------------


async def test_playlist_crud_and_items(world: ApiWorld) -> None:
    media = await add_media(world, n=3)
    m = world.client("manager")
    r = await m.post(
        f"{W}/playlists",
        json={"name": "Morning", "shuffle": True, "rotation": {"type": "once_per_n_songs", "n": 4}},
    )
    assert r.status_code == 201, r.text
    pl = r.json()
    assert pl["rotation"] == {"type": "once_per_n_songs", "n": 4}
    assert pl["item_count"] == 0
    items = [
        {"media_id": str(media[2]), "overrides": {"cue_in_ms": 1000, "fade_out_ms": 500}},
        {"media_id": str(media[0])},
        {"media_id": str(media[2])},
    ]
    r = await m.put(f"{W}/playlists/{pl['id']}/items", json=items)
    assert r.status_code == 200, r.text
    got = r.json()
    assert [i["media_id"] for i in got] == [str(media[2]), str(media[0]), str(media[2])]
    assert [i["position"] for i in got] == [0, 1, 2]
    assert got[0]["overrides"] == {"cue_in_ms": 1000, "fade_out_ms": 500}
    assert got[1]["title"] == "Song 0"

    dj = world.client("dj")
    r = await dj.get(f"{W}/playlists/{pl['id']}/items")
    assert [i["media_id"] for i in r.json()] == [i["media_id"] for i in got]
    r = await dj.get(f"{W}/playlists")
    assert r.json()["total"] == 1
    assert r.json()["items"][0]["item_count"] == 3

    r = await m.put(
        f"{W}/playlists/{pl['id']}",
        json={"name": "Morning jingles", "jingle": True, "rotation": {"type": "default"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["jingle"] is True
    assert r.json()["name"] == "Morning jingles"
    assert (await dj.get(f"{W}/playlists/{pl['id']}")).json()["shuffle"] is False

    r = await m.put(f"{W}/playlists/{pl['id']}/items", json=[])
    assert r.json() == []
    r = await m.delete(f"{W}/playlists/{pl['id']}")
    assert r.status_code == 204
    detail = problem(await dj.get(f"{W}/playlists/{pl['id']}"), 404)
    assert "GET /api/v1/stations/wgmr/playlists" in detail
    assert await audit_actions(world) == [
        "playlist.create",
        "playlist.items",
        "playlist.update",
        "playlist.items",
        "playlist.delete",
    ]


async def test_playlist_validation(world: ApiWorld) -> None:
    media = await add_media(world, n=1)
    m = world.client("manager")
    detail = problem(
        await m.post(
            f"{W}/playlists", json={"name": "x", "rotation": {"type": "once_per_n_songs"}}
        ),
        422,
    )
    assert "needs 'n'" in detail
    r = await m.post(f"{W}/playlists", json={"name": "x"})
    pl = r.json()["id"]
    problem(await m.post(f"{W}/playlists", json={"name": "x"}), 409)
    bad_cue = [{"media_id": str(media[0]), "overrides": {"cue_in_ms": 5000, "cue_out_ms": 4000}}]
    detail = problem(await m.put(f"{W}/playlists/{pl}/items", json=bad_cue), 422)
    assert "cue_out_ms" in detail
    unknown = [{"media_id": str(media[0]), "overrides": {"volume": 3}}]
    detail = problem(await m.put(f"{W}/playlists/{pl}/items", json=unknown), 422)
    assert "volume" in detail


async def test_playlist_refuses_another_stations_media_and_rows(world: ApiWorld) -> None:
    ours = await add_media(world, n=1)
    theirs = await add_media(world, station="other", n=1)
    m = world.client("manager")
    pl = (await m.post(f"{W}/playlists", json={"name": "Mine"})).json()["id"]
    body = [{"media_id": str(ours[0])}, {"media_id": str(theirs[0])}]
    r = await m.put(f"{W}/playlists/{pl}/items", json=body)
    detail = problem(r, 422)
    assert str(theirs[0]) in detail
    assert "[1].media_id" in detail
    assert r.json()["errors"][0]["loc"] == ["body", "1", "media_id"]
    # the rival manages "other": they cannot reach wgmr's playlist through their station
    rival = world.client("rival")
    problem(await rival.get(f"{OTHER}/playlists/{pl}"), 404)
    problem(await rival.delete(f"{OTHER}/playlists/{pl}"), 404)
    problem(await rival.get(f"{W}/playlists/{pl}"), 403)


async def test_dj_reads_but_cannot_write(world: ApiWorld) -> None:
    dj = world.client("dj")
    for path, body in [
        ("playlists", {"name": "x"}),
        ("smart-blocks", {"name": "x"}),
        ("clocks", {"name": "x"}),
    ]:
        r = await dj.post(f"{W}/{path}", json=body)
        assert "manager role" in problem(r, 403)
        assert (await dj.get(f"{W}/{path}")).status_code == 200
    m = world.client("manager")
    pl = (await m.post(f"{W}/playlists", json={"name": "x"})).json()["id"]
    problem(await dj.put(f"{W}/playlists/{pl}", json={"name": "y"}), 403)
    problem(await dj.put(f"{W}/playlists/{pl}/items", json=[]), 403)
    problem(await dj.delete(f"{W}/playlists/{pl}"), 403)
    problem(await world.client("outsider").get(f"{W}/playlists"), 403)


# -- smart blocks ---------------------------------------------------------------------------


async def test_smart_block_crud_and_bad_rule(world: ApiWorld) -> None:
    m = world.client("manager")
    body = {"name": "Rock", "rules": rock_rules(), "target_duration_ms": 900_000}
    r = await m.post(f"{W}/smart-blocks", json=body)
    assert r.status_code == 201, r.text
    block = r.json()
    assert block["rules"] == rock_rules()
    bad = {"groups": [[{"field": "genre", "modifier": "is", "value": "x"}],
                      [{"field": "colour", "modifier": "is", "value": "red"}]]}  # fmt: skip
    detail = problem(
        await m.put(f"{W}/smart-blocks/{block['id']}", json={"name": "Rock", "rules": bad}), 422
    )
    assert "groups[1][0]" in detail
    assert "unknown field 'colour'" in detail
    wrong_mod = {"groups": [[{"field": "year", "modifier": "contains", "value": "19"}]]}
    detail = problem(await m.post(f"{W}/smart-blocks", json={"name": "Y", "rules": wrong_mod}), 422)
    assert "groups[0][0]" in detail
    assert "'contains' does not apply" in detail
    detail = problem(
        await m.post(f"{W}/smart-blocks", json={"name": "S", "rules": {"sepration": {}}}), 422
    )
    assert "sepration" in detail

    other = (
        await world.client("rival").post(f"{OTHER}/smart-blocks", json={"name": "Theirs"})
    ).json()
    detail = problem(
        await m.post(f"{W}/smart-blocks", json={"name": "F", "fallback_block_id": other["id"]}),
        422,
    )
    assert "fallback_block_id" in detail
    assert other["id"] in detail
    detail = problem(
        await m.put(
            f"{W}/smart-blocks/{block['id']}",
            json={"name": "Rock", "fallback_block_id": block["id"]},
        ),
        422,
    )
    assert "itself" in detail

    r = await m.put(
        f"{W}/smart-blocks/{block['id']}",
        json={
            **body,
            "rules": {**rock_rules(), "separation": {"artist": 30}},
            "tolerance_ms": 5000,
        },
    )
    assert r.status_code == 200
    assert r.json()["tolerance_ms"] == 5000
    got = (await world.client("dj").get(f"{W}/smart-blocks/{block['id']}")).json()
    assert got["rules"]["separation"] == {"artist": 30}
    assert (await m.delete(f"{W}/smart-blocks/{block['id']}")).status_code == 204
    problem(await m.get(f"{W}/smart-blocks/{block['id']}"), 404)
    assert [a for a in await audit_actions(world) if a.startswith("smart_block")] == [
        "smart_block.create",
        "smart_block.update",
        "smart_block.delete",
    ]


async def test_preview_picks_ready_tracks_of_the_station(world: ApiWorld) -> None:
    ready = await add_media(world, n=12)
    pending = await add_media(world, n=3, state=MediaState.PENDING)
    await add_media(world, station="other", n=6)
    m = world.client("manager")
    block = (
        await m.post(
            f"{W}/smart-blocks",
            json={"name": "Rock", "rules": rock_rules(), "target_duration_ms": 540_000},
        )
    ).json()
    dj = world.client("dj")
    start = "2026-05-01T10:00:00Z"
    r = await dj.post(f"{W}/smart-blocks/{block['id']}/preview", params={"start": start})
    assert r.status_code == 200, r.text
    got = r.json()
    rock = {str(ready[i]) for i in range(0, 12, 3)}
    picked = [t["media_id"] for t in got["tracks"]]
    assert len(picked) == 3
    assert set(picked) <= rock
    assert len(set(picked)) == 3
    assert not set(picked) & {str(p) for p in pending}
    assert got["duration_ms"] == 540_000
    assert got["shortfall_ms"] == 0
    assert got["library_size"] == 12
    assert next(t["starts_at"] for t in got["tracks"]).startswith("2026-05-01T10:00:00")
    # the same start picks the same tracks
    again = await dj.post(f"{W}/smart-blocks/{block['id']}/preview", params={"start": start})
    assert [t["media_id"] for t in again.json()["tracks"]] == picked

    # an unsaved block asking for more than there is: the artist separation relaxes? no,
    # every artist differs; it runs short and says so
    r = await dj.post(
        f"{W}/smart-blocks/preview",
        params={"target_ms": 3_600_000, "start": start},
        json={"name": "draft", "rules": rock_rules()},
    )
    assert r.status_code == 200, r.text
    draft = r.json()
    assert len(draft["tracks"]) == 4
    assert draft["shortfall_ms"] == 3_600_000 - 4 * 180_000
    assert any("filled" in n for n in draft["notes"])


async def test_preview_reports_relaxations(world: ApiWorld) -> None:
    media = await add_media(world, n=6)
    async with world.ctx.sessions() as session:
        for row in await session.scalars(select(MediaItem).where(MediaItem.id.in_(media))):
            row.artist = "Same Artist"
        await session.commit()
    dj = world.client("dj")
    r = await dj.post(
        f"{W}/smart-blocks/preview",
        params={"target_ms": 720_000, "start": "2026-05-01T10:00:00Z"},
        json={"name": "draft", "rules": {"separation": {"artist": 60}}},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert len(got["tracks"]) == 4
    assert any("artist" in step for step in got["relaxations"]), got
    detail = problem(
        await dj.post(
            f"{W}/smart-blocks/preview", json={"name": "d", "rules": {"groups": [[{"x": 1}]]}}
        ),
        422,
    )
    assert "groups[0][0]" in detail


# -- clocks ---------------------------------------------------------------------------------


def slot(offset_min: float, minutes: float, kind: str = "live", **refs: Any) -> dict[str, Any]:
    return {
        "offset_ms": int(offset_min * 60_000),
        "duration_ms": int(minutes * 60_000),
        "kind": kind,
        **refs,
    }


async def test_clock_crud_and_slot_validation(world: ApiWorld) -> None:
    m = world.client("manager")
    block = (await m.post(f"{W}/smart-blocks", json={"name": "Any"})).json()["id"]
    slots = [slot(0, 30, "smart_block", smart_block_id=block, name="music"), slot(30, 30)]
    r = await m.post(f"{W}/clocks", json={"name": "default", "slots": slots})
    assert r.status_code == 201, r.text
    clock = r.json()
    assert [s["offset_ms"] for s in clock["slots"]] == [0, 1_800_000]
    assert clock["covered_ms"] == 3_600_000
    assert clock["slots"][0]["name"] == "music"

    overlap = [slot(0, 31, "smart_block", smart_block_id=block), slot(30, 30)]
    r = await m.put(f"{W}/clocks/{clock['id']}", json={"name": "default", "slots": overlap})
    detail = problem(r, 422)
    assert "overlap by 60 s" in detail
    past = [slot(50, 15)]
    r = await m.post(f"{W}/clocks", json={"name": "late", "slots": past})
    detail = problem(r, 422)
    assert "slots[0]" in detail
    assert "past the end of the hour" in detail
    assert r.json()["errors"][0]["loc"] == ["body", "slots", "0"]
    detail = problem(
        await m.post(f"{W}/clocks", json={"name": "n", "slots": [slot(0, 10, "playlist")]}), 422
    )
    assert "needs playlist_id" in detail

    their_block = (
        await world.client("rival").post(f"{OTHER}/smart-blocks", json={"name": "T"})
    ).json()
    cross = [slot(0, 10, "smart_block", smart_block_id=their_block["id"])]
    detail = problem(await m.post(f"{W}/clocks", json={"name": "x", "slots": cross}), 422)
    assert "slots.0.smart_block_id" in detail

    r = await m.put(f"{W}/clocks/{clock['id']}", json={"name": "default", "slots": [slot(5, 10)]})
    assert r.status_code == 200, r.text
    assert [s["offset_ms"] for s in r.json()["slots"]] == [300_000]
    got = (await world.client("dj").get(f"{W}/clocks/{clock['id']}")).json()
    assert got["covered_ms"] == 600_000
    assert (await m.delete(f"{W}/clocks/{clock['id']}")).status_code == 204
    assert [a for a in await audit_actions(world) if a.startswith("clock")] == [
        "clock.create",
        "clock.update",
        "clock.delete",
    ]


async def test_clock_simulate(world: ApiWorld) -> None:
    await add_media(world, n=40)
    m = world.client("manager")
    rock = (await m.post(f"{W}/smart-blocks", json={"name": "Rock", "rules": rock_rules()})).json()[
        "id"
    ]
    clock = (
        await m.post(
            f"{W}/clocks",
            json={"name": "Rock hour", "slots": [slot(0, 30, "smart_block", smart_block_id=rock)]},
        )
    ).json()
    r = await world.client("dj").post(
        f"{W}/clocks/{clock['id']}/simulate",
        params={"hours": 2, "start": "2026-05-01T10:20:00+02:00"},
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["report"]["written"] is False
    assert got["report"]["start"].startswith("2026-05-01T08:00:00")
    tracks = [e for e in got["entries"] if e["kind"] == "track"]
    from_block = [e for e in tracks if e["smart_block_id"] == rock]
    assert from_block
    assert all(e["media_id"] for e in from_block)
    assert len(got["entries"]) == got["report"]["planned"]
    # nothing was stored
    assert (await m.get(f"{W}/timeline", params={"from": "2026-05-01T08:00:00Z"})).json()[
        "total"
    ] == 0
    problem(await m.post(f"{W}/clocks/{clock['id']}/simulate", params={"hours": 49}), 422)


# -- shows ----------------------------------------------------------------------------------


async def test_show_crud_occurrences_and_exceptions(world: ApiWorld) -> None:
    m = world.client("manager")
    pl = (await m.post(f"{W}/playlists", json={"name": "Breakfast"})).json()["id"]
    body = {
        "name": "Breakfast",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "dtstart": "2026-03-02T06:00:00-05:00",
        "duration_ms": 3 * 3_600_000,
        "content": "playlist",
        "playlist_id": pl,
        "host_user_id": str(world.users["dj"]),
    }
    r = await m.post(f"{W}/shows", json=body)
    assert r.status_code == 201, r.text
    show = r.json()
    assert show["dtstart"].startswith("2026-03-02T11:00:00")
    assert show["exceptions"] == []

    dj = world.client("dj")
    # the week of New York's DST change: still 06:00 local on both sides
    r = await dj.get(
        f"{W}/shows/occurrences",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-10T00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    occ = r.json()
    assert occ["timezone"] == "America/New_York"
    starts = [o["start"] for o in occ["occurrences"]]
    assert starts == [
        "2026-03-02T06:00:00-05:00",
        "2026-03-04T06:00:00-05:00",
        "2026-03-06T06:00:00-05:00",
        "2026-03-09T06:00:00-04:00",
    ]

    cancel = {"occurrence_start": "2026-03-04T11:00:00Z", "kind": "cancel"}
    r = await m.post(f"{W}/shows/{show['id']}/exceptions", json=cancel)
    assert r.status_code == 201, r.text
    move = {
        "occurrence_start": "2026-03-06T06:00:00-05:00",
        "kind": "move",
        "new_start": "2026-03-07T10:00:00-05:00",
    }
    r = await m.post(f"{W}/shows/{show['id']}/exceptions", json=move)
    assert r.status_code == 201, r.text
    assert len(r.json()["exceptions"]) == 2
    problem(await m.post(f"{W}/shows/{show['id']}/exceptions", json=cancel), 409)
    detail = problem(
        await m.post(
            f"{W}/shows/{show['id']}/exceptions",
            json={"occurrence_start": "2026-03-03T11:00:00Z", "kind": "cancel"},
        ),
        422,
    )
    assert "occurrence_start" in detail
    assert "no occurrence" in detail
    other_pl = (await world.client("rival").post(f"{OTHER}/playlists", json={"name": "P"})).json()
    sub = {
        "occurrence_start": "2026-03-09T10:00:00Z",
        "kind": "substitute",
        "substitute": {"content": "playlist", "playlist_id": other_pl["id"]},
    }
    detail = problem(await m.post(f"{W}/shows/{show['id']}/exceptions", json=sub), 422)
    assert "substitute.playlist_id" in detail
    sub["substitute"] = {"content": "live"}
    r = await m.post(f"{W}/shows/{show['id']}/exceptions", json=sub)
    assert r.status_code == 201, r.text

    r = await dj.get(
        f"{W}/shows/occurrences",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-10T00:00:00Z"},
    )
    occ = r.json()["occurrences"]
    assert [(o["start"], o["exception"], o["content"]) for o in occ] == [
        ("2026-03-02T06:00:00-05:00", None, "playlist"),
        ("2026-03-07T10:00:00-05:00", "move", "playlist"),
        ("2026-03-09T06:00:00-04:00", "substitute", "live"),
    ]

    exc_id = (await dj.get(f"{W}/shows/{show['id']}")).json()["exceptions"][0]["id"]
    assert (await m.delete(f"{W}/shows/{show['id']}/exceptions/{exc_id}")).status_code == 204
    assert len((await dj.get(f"{W}/shows/{show['id']}")).json()["exceptions"]) == 2

    r = await m.put(f"{W}/shows/{show['id']}", json={**body, "rrule": "FREQ=DAILY"})
    assert r.status_code == 200
    assert r.json()["rrule"] == "FREQ=DAILY"
    assert (await m.delete(f"{W}/shows/{show['id']}")).status_code == 204
    problem(await dj.get(f"{W}/shows/{show['id']}"), 404)
    assert "show.exception" in await audit_actions(world)


async def test_show_validation(world: ApiWorld) -> None:
    m = world.client("manager")
    base = {
        "name": "S",
        "rrule": "FREQ=DAILY",
        "dtstart": "2026-03-02T06:00:00Z",
        "duration_ms": 3_600_000,
        "content": "live",
    }
    detail = problem(await m.post(f"{W}/shows", json={**base, "rrule": "FREQ=FORTNIGHTLY"}), 422)
    assert "rrule" in detail
    detail = problem(await m.post(f"{W}/shows", json={**base, "rrule": "FREQ=MINUTELY"}), 422)
    assert "hourly" in detail
    detail = problem(
        await m.post(f"{W}/shows", json={**base, "dtstart": "2026-03-02T06:00:00"}), 422
    )
    assert "dtstart" in detail
    detail = problem(await m.post(f"{W}/shows", json={**base, "duration_ms": 0}), 422)
    assert "duration_ms" in detail
    detail = problem(await m.post(f"{W}/shows", json={**base, "content": "clock"}), 422)
    assert "clock_id" in detail
    other_clock = (await world.client("rival").post(f"{OTHER}/clocks", json={"name": "c"})).json()
    detail = problem(
        await m.post(
            f"{W}/shows", json={**base, "content": "clock", "clock_id": other_clock["id"]}
        ),
        422,
    )
    assert "clock_id" in detail
    assert other_clock["id"] in detail
    detail = problem(
        await m.post(f"{W}/shows", json={**base, "host_user_id": str(world.users["rival"])}), 422
    )
    assert "host_user_id" in detail
    detail = problem(
        await m.get(
            f"{W}/shows/occurrences",
            params={"from": "2026-03-01T00:00:00Z", "to": "2026-04-05T00:00:00Z"},
        ),
        422,
    )
    assert "31 days" in detail
    assert (await m.post(f"{W}/shows", json=base)).status_code == 201
    problem(await m.post(f"{W}/shows", json=base), 409)
    problem(await world.client("dj").post(f"{W}/shows", json={**base, "name": "T"}), 403)
