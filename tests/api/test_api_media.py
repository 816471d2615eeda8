"""The media routes against the real app, database, analysis pool and ffmpeg-made files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from grimnir.bus import SCHEDULE_UPDATED
from grimnir.domain import EntryKind, EntryStatus, MediaState
from grimnir.planner.builder import LOCK
from grimnir.store.models import AuditLog, MediaItem, TimelineEntry
from tests._api import ApiWorld
from tests._require import require_peer
from tests.api.test_api_programming import add_media

MEDIA = "/api/v1/stations/wgmr/media"


def tone(path: Path, *, seconds: float = 3.0, freq: int = 440, **tags: str) -> bytes:
    """An MP3 tone made by the ffmpeg CLI, with ``tags``; returns its bytes."""
    exe = require_peer("ffmpeg")
    meta = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
    source = f"sine=f={freq}:r=44100:d={seconds},volume=4"
    subprocess.run(
        [
            *(exe, "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source),
            *("-c:a", "libmp3lame", "-b:a", "128k", *meta, str(path)),
        ],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def stored_files(world: ApiWorld) -> list[Path]:
    """Every file in the library's store (temporary uploads included)."""
    root = world.ctx.settings.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def count_items(world: ApiWorld) -> int:
    async with world.ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(MediaItem)) or 0


async def upload(
    world: ApiWorld, name: str, data: bytes, who: str = "manager"
) -> dict[str, object]:
    async with world.client(who) as client:
        r = await client.post(MEDIA, files={"file": (name, data, "audio/mpeg")})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


async def test_upload_mp3_is_analysed_and_ready(world: ApiWorld, tmp_path: Path) -> None:
    data = tone(tmp_path / "a.mp3", seconds=3.0, title="Blue Hour", artist="Ana Ng", genre="Pop")
    item = await upload(world, "whatever.mp3", data)
    assert item["state"] == "ready", item
    assert item["title"] == "Blue Hour"
    assert item["artist"] == "Ana Ng"
    assert item["format"] == "mp3"
    assert abs(int(item["duration_ms"]) - 3000) < 120  # type: ignore[call-overload]
    assert -30.0 < float(item["loudness_lufs"]) < 0.0  # type: ignore[arg-type]
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert item["has_waveform"] is True
    # stored once in the content store, under its hash; no temporary left behind
    files = stored_files(world)
    assert [p.name for p in files] == [f"{item['sha256']}.mp3"]
    # the file comes back for previews, and the waveform covers the duration
    async with world.client("dj") as client:
        audio = await client.get(f"{MEDIA}/{item['id']}/audio")
        wave = await client.get(f"{MEDIA}/{item['id']}/waveform")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.content == data
    assert wave.status_code == 200
    body = wave.json()
    assert body["resolution_ms"] == 100
    assert len(body["min"]) == len(body["max"]) == -(-body["duration_ms"] // 100)
    assert max(body["max"]) > 50
    assert min(body["min"]) < -50
    async with world.ctx.sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action)))
    assert "media.upload" in actions


async def test_upload_without_title_takes_the_file_name(world: ApiWorld, tmp_path: Path) -> None:
    data = tone(tmp_path / "b.mp3", freq=550)
    item = await upload(world, "The Band - Night Drive.mp3", data)
    assert (item["artist"], item["title"]) == ("The Band", "Night Drive")


async def test_too_big_is_413_and_nothing_is_stored(world: ApiWorld, tmp_path: Path) -> None:
    data = tone(tmp_path / "c.mp3", freq=660)
    assert len(data) > 20_000
    async with world.client("manager") as client:
        # refused while streaming: the body is under limit + headers room
        world.ctx.max_upload_bytes = len(data) - 1000
        streamed = await client.post(MEDIA, files={"file": ("c.mp3", data, "audio/mpeg")})
        # refused from Content-Length, before reading
        world.ctx.max_upload_bytes = 1000
        early = await client.post(MEDIA, files={"file": ("c.mp3", data, "audio/mpeg")})
    for r, limit in ((streamed, f"{len(data) - 1000} bytes"), (early, "1000 bytes")):
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert limit in r.json()["detail"]
    assert stored_files(world) == []
    assert await count_items(world) == 0


async def test_text_named_mp3_is_refused_and_not_stored(world: ApiWorld) -> None:
    text = b"These are my notes, not a song.\n" * 200
    async with world.client("manager") as client:
        r = await client.post(MEDIA, files={"file": ("song.mp3", text, "audio/mpeg")})
    assert r.status_code == 415, r.text
    assert "not audio" in r.json()["detail"]
    assert stored_files(world) == []
    assert await count_items(world) == 0


async def test_bad_requests_say_how_to_upload(world: ApiWorld) -> None:
    async with world.client("manager") as client:
        raw = await client.post(MEDIA, content=b"abc", headers={"content-type": "audio/mpeg"})
        no_file = await client.post(MEDIA, data={"title": "x"}, files={"other": ("a", b"x")})
        empty = await client.post(MEDIA, files={"file": ("e.mp3", b"", "audio/mpeg")})
    assert raw.status_code == 415
    assert "multipart/form-data" in raw.json()["detail"]
    assert no_file.status_code == 422
    assert "'file'" in no_file.json()["detail"]
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    assert await count_items(world) == 0


async def test_duplicate_upload_is_409_naming_the_item(world: ApiWorld, tmp_path: Path) -> None:
    data = tone(tmp_path / "d.mp3", freq=770, title="Twice")
    first = await upload(world, "d.mp3", data)
    async with world.client("manager") as client:
        again = await client.post(MEDIA, files={"file": ("copy.mp3", data, "audio/mpeg")})
    assert again.status_code == 409
    assert str(first["id"]) in again.json()["detail"]
    assert await count_items(world) == 1
    assert len(stored_files(world)) == 1


async def test_dj_cannot_upload_or_edit_but_can_read(world: ApiWorld) -> None:
    async with world.client("dj") as dj, world.client("outsider") as outsider:
        up = await dj.post(MEDIA, files={"file": ("x.mp3", b"x", "audio/mpeg")})
        listed = await dj.get(MEDIA)
        other = await outsider.get(MEDIA)
        edit = await dj.patch(f"{MEDIA}/{uuid.uuid4()}", json={"title": "x"})
    assert up.status_code == 403
    assert "manager" in up.json()["detail"]
    assert listed.status_code == 200
    assert other.status_code == 403
    assert edit.status_code == 403
    assert stored_files(world) == []


async def _library(world: ApiWorld) -> dict[str, uuid.UUID]:
    """Rows straight into the database (the search does not care how they came)."""
    rows = [
        ("Été indien", "Joe Dassin", "Joe", "Chanson", MediaState.READY, 230_000),
        ("Les Champs-Élysées", "Joe Dassin", "Joe", "Chanson", MediaState.READY, 150_000),
        ("Blue Monday", "New Order", "Power", "Synth", MediaState.READY, 450_000),
        ("Age of Consent", "New Order", "Power", "Synth", MediaState.FAILED, None),
        ("Ceremony", "New Order", None, "Synth", MediaState.PENDING, None),
        ("100% Pure", "Ünlü Sanatçı", "Yüz", "Pop", MediaState.READY, 200_000),
        ("Pure Morning", "Placebo", "Without You", "Rock", MediaState.READY, 240_000),
    ]
    ids: dict[str, uuid.UUID] = {}
    async with world.ctx.sessions() as session:
        for n, (title, artist, album, genre, state, duration) in enumerate(rows):
            item = MediaItem(
                station_id=world.stations["wgmr"],
                sha256=f"{n:064x}",
                path=f"/music/{n}.mp3",
                size_bytes=1000 + n,
                title=title,
                artist=artist,
                album=album,
                genre=genre,
                state=state,
                duration_ms=duration,
                cue_out_ms=duration,
                custom_tags={},
            )
            session.add(item)
            await session.flush()
            ids[title] = item.id
        session.add(
            MediaItem(
                station_id=world.stations["other"],
                sha256="f" * 64,
                path="/music/other.mp3",
                size_bytes=1,
                title="Été indien",
                artist="Joe Dassin",
                custom_tags={},
            )
        )
        await session.commit()
    return ids


async def _titles(world: ApiWorld, **params: object) -> tuple[list[str], int]:
    async with world.client("dj") as client:
        r = await client.get(MEDIA, params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    body = r.json()
    return [i["title"] for i in body["items"]], body["total"]


async def test_search_filter_sort_and_paginate(world: ApiWorld) -> None:
    await _library(world)
    assert await _titles(world, q="ÉTÉ") == (["Été indien"], 1)  # case folded beyond ASCII
    assert await _titles(world, q="élysées") == (["Les Champs-Élysées"], 1)
    assert await _titles(world, q="ünlü") == (["100% Pure"], 1)
    assert await _titles(world, q="100%") == (["100% Pure"], 1)  # % is no wildcard
    assert (await _titles(world, q="pure"))[1] == 2
    assert (await _titles(world, artist="new order"))[1] == 3
    assert (await _titles(world, artist="New"))[1] == 0  # the whole value
    assert (await _titles(world, album="joe", genre="CHANSON"))[1] == 2
    assert (await _titles(world, ready_only="true"))[1] == 5
    assert await _titles(world, state="failed") == (["Age of Consent"], 1)
    by_length, total = await _titles(world, sort="duration", order="desc", limit=3)
    assert (by_length, total) == (["Blue Monday", "Pure Morning", "Été indien"], 7)
    # pages: the whole sorted list cut in pieces, nothing lost or repeated
    every, total = await _titles(world, sort="title", limit=100)
    assert total == 7
    assert len(every) == 7
    pages = [await _titles(world, sort="title", limit=3, offset=o) for o in (0, 3, 6)]
    assert [t for titles, _ in pages for t in titles] == every
    assert all(count == 7 for _, count in pages)
    assert await _titles(world, sort="title", limit=3, offset=7) == ([], 7)
    # across the items without a value (two have no length): they come last either way
    for order in ("asc", "desc"):
        every, _ = await _titles(world, sort="duration", order=order, limit=100)
        assert every[-2:] in (["Age of Consent", "Ceremony"], ["Ceremony", "Age of Consent"])
        pages = [
            await _titles(world, sort="duration", order=order, limit=2, offset=o)
            for o in (0, 2, 4, 6)
        ]
        assert [t for titles, _ in pages for t in titles] == every, order


async def test_the_search_follows_edited_tags_and_rows_added_without_the_orm(
    world: ApiWorld,
) -> None:
    """The search reads one folded column; an edit of title, artist or album, and a
    row inserted with plain SQL (an import), keep it right."""
    ids = await _library(world)
    async with world.client("manager") as client:
        r = await client.patch(f"{MEDIA}/{ids['Ceremony']}", json={"title": "Cérémonie"})
        assert r.status_code == 200, r.text
        r = await client.patch(f"{MEDIA}/{ids['Blue Monday']}", json={"album": "Substance"})
        assert r.status_code == 200, r.text
    async with world.ctx.sessions() as session:
        await session.execute(
            insert(MediaItem),
            [
                {
                    "station_id": world.stations["wgmr"],
                    "sha256": "e" * 64,
                    "path": "/music/imported.mp3",
                    "size_bytes": 1,
                    "title": "Ωmega",
                    "artist": "Imported",
                    "custom_tags": {},
                }
            ],
        )
        await session.commit()
    assert await _titles(world, q="CÉRÉMONIE") == (["Cérémonie"], 1)
    assert await _titles(world, q="ceremony") == ([], 0)
    assert await _titles(world, q="substance") == (["Blue Monday"], 1)
    assert (await _titles(world, q="power"))[1] == 1  # Age of Consent only now
    assert await _titles(world, q="ωMEGA") == (["Ωmega"], 1)
    # the fields are apart: nothing matches across the end of one and the start of the next
    assert await _titles(world, q="monday\x1fnew") == ([], 0)
    assert await _titles(world, q="mondaynew") == ([], 0)


async def test_the_library_filters_by_smart_block_rules(world: ApiWorld) -> None:
    """``rules`` select what a smart block's filter would: every field and modifier."""
    await _library(world)
    synth_long = {
        "groups": [
            [{"field": "genre", "modifier": "is", "value": "SYNTH"}],
            [{"field": "duration", "modifier": "greater_than", "value": 300}],
        ]
    }
    assert await _titles(world, rules=json.dumps(synth_long)) == (["Blue Monday"], 1)
    either = {
        "groups": [
            [
                {"field": "artist", "modifier": "starts_with", "value": "joe"},
                {"field": "title", "modifier": "contains", "value": "PURE"},
            ]
        ]
    }
    titles, total = await _titles(world, rules=json.dumps(either))
    assert total == 4
    assert sorted(titles) == sorted(
        ["100% Pure", "Été indien", "Les Champs-Élysées", "Pure Morning"]
    )
    # with the search and the other filters, all at once
    assert await _titles(world, rules=json.dumps(either), q="morning") == (["Pure Morning"], 1)
    async with world.client("dj") as client:
        for bad, says in (
            ("{not json", "not JSON"),
            (
                json.dumps({"groups": [[{"field": "colour", "modifier": "is", "value": "x"}]]}),
                "colour",
            ),
            (
                json.dumps({"groups": [[{"field": "year", "modifier": "contains", "value": 1}]]}),
                "number field",
            ),
        ):
            r = await client.get(MEDIA, params={"rules": bad})
            assert r.status_code == 422, r.text
            assert says in r.json()["detail"], r.text


async def test_search_rejects_bad_parameters(world: ApiWorld) -> None:
    async with world.client("dj") as client:
        for params in (
            {"sort": "size"},
            {"order": "up"},
            {"limit": "0"},
            {"offset": "-1"},
            {"state": "lost"},
            {"q": "x" * 300},
            {"state": "failed", "ready_only": "true"},
        ):
            r = await client.get(MEDIA, params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.headers["content-type"] == "application/problem+json"


async def test_patch_tags_and_its_validation(world: ApiWorld) -> None:
    ids = await _library(world)
    url = f"{MEDIA}/{ids['Blue Monday']}"
    async with world.client("manager") as client:
        ok = await client.patch(
            url,
            json={
                "title": "  Blue Monday '88 ",
                "album": None,
                "year": 1988,
                "bpm": 130.5,
                "isrc": "gb-aap-88-00001",
                "explicit": True,
                "custom_tags": {"mix": "12 inch", "rating": 5},
            },
        )
        bad = await client.patch(
            url, json={"year": 3100, "bpm": -1, "isrc": "nope", "title": "x" * 300}
        )
        unknown = await client.patch(url, json={"colour": "blue"})
        missing = await client.patch(f"{MEDIA}/{uuid.uuid4()}", json={"title": "x"})
        elsewhere = await client.patch(
            f"/api/v1/stations/other/media/{ids['Blue Monday']}", json={"title": "x"}
        )
    assert ok.status_code == 200, ok.text
    item = ok.json()
    assert item["title"] == "Blue Monday '88"
    assert item["album"] is None
    assert (item["year"], item["bpm"], item["isrc"]) == (1988, 130.5, "GBAAP8800001")
    assert item["explicit"] is True
    assert item["custom_tags"] == {"mix": "12 inch", "rating": 5}
    assert item["artist"] == "New Order"  # not sent, not changed
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    fields = {e["loc"][-1] for e in bad.json()["errors"]}
    assert {"year", "bpm", "isrc", "title"} <= fields
    assert "year" in bad.json()["detail"]
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["detail"]
    assert missing.status_code == 404
    assert elsewhere.status_code == 403  # the manager is not a member of "other"
    async with world.ctx.sessions() as session:
        row = await session.get(MediaItem, ids["Blue Monday"])
        assert row is not None
        assert row.year == 1988
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "media.update"))
    assert audit is not None
    assert audit.target == str(ids["Blue Monday"])


async def test_delete_removes_row_and_file(world: ApiWorld, tmp_path: Path) -> None:
    data = tone(tmp_path / "e.mp3", freq=880, title="Gone Soon")
    item = await upload(world, "e.mp3", data)
    assert len(stored_files(world)) == 1
    async with world.client("manager") as client:
        r = await client.delete(f"{MEDIA}/{item['id']}")
        after = await client.get(f"{MEDIA}/{item['id']}")
        twice = await client.delete(f"{MEDIA}/{item['id']}")
    assert r.status_code == 204
    assert after.status_code == 404
    assert twice.status_code == 404
    assert stored_files(world) == []
    assert await count_items(world) == 0


async def test_delete_of_planned_media_needs_force(world: ApiWorld) -> None:
    ids = await _library(world)
    media_id = ids["Pure Morning"]
    start = datetime.now(UTC) + timedelta(hours=1)
    async with world.ctx.sessions() as session:
        entry = TimelineEntry(
            station_id=world.stations["wgmr"],
            seq=1,
            starts_at=start,
            ends_at=start + timedelta(minutes=4),
            kind=EntryKind.TRACK,
            status=EntryStatus.PLANNED,
            media_id=media_id,
            title="Pure Morning",
        )
        session.add(entry)
        await session.commit()
        entry_id = entry.id
    async with world.client("manager") as client:
        refused = await client.delete(f"{MEDIA}/{media_id}")
        forced = await client.delete(f"{MEDIA}/{media_id}", params={"force": "true"})
    assert refused.status_code == 409
    assert "force=true" in refused.json()["detail"]
    assert forced.status_code == 204
    async with world.ctx.sessions() as session:
        kept = await session.get(TimelineEntry, entry_id)
        assert kept is not None
        assert kept.media_id is None
        assert kept.title == "Pure Morning"
        assert await session.get(MediaItem, media_id) is None


async def test_waveform_missing_is_404_with_reason(world: ApiWorld) -> None:
    ids = await _library(world)
    async with world.client("dj") as client:
        r = await client.get(f"{MEDIA}/{ids['Ceremony']}/waveform")
        audio = await client.get(f"{MEDIA}/{ids['Ceremony']}/audio")
    assert r.status_code == 404
    assert "pending" in r.json()["detail"]
    assert audio.status_code == 404
    assert "missing from disk" in audio.json()["detail"]


# -- cue points ---------------------------------------------------------------------


async def _cued(world: ApiWorld) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A ready 180 s item with every cue point set, a pending and a failed one."""
    async with world.ctx.sessions() as session:
        rows = [
            MediaItem(
                station_id=world.stations["wgmr"],
                sha256=f"c{n:063x}",
                path=f"/music/cued-{n}.mp3",
                size_bytes=1000,
                title=f"Cued {n}",
                state=state,
                failed_reason="no audio stream" if state is MediaState.FAILED else None,
                duration_ms=180_000 if state is MediaState.READY else None,
                cue_in_ms=0,
                cue_out_ms=180_000 if state is MediaState.READY else None,
                intro_end_ms=10_000 if state is MediaState.READY else None,
                segue_ms=175_000 if state is MediaState.READY else None,
                custom_tags={},
            )
            for n, state in enumerate((MediaState.READY, MediaState.PENDING, MediaState.FAILED))
        ]
        session.add_all(rows)
        await session.commit()
        return rows[0].id, rows[1].id, rows[2].id


async def _cues(world: ApiWorld, media_id: uuid.UUID) -> tuple[object, ...]:
    async with world.ctx.sessions() as session:
        row = await session.get(MediaItem, media_id)
        assert row is not None
        return (row.title, row.cue_in_ms, row.cue_out_ms, row.intro_end_ms, row.segue_ms)


async def _actions(world: ApiWorld) -> list[str]:
    async with world.ctx.sessions() as session:
        return list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


async def test_cue_points_that_do_not_fit_are_422_and_change_nothing(world: ApiWorld) -> None:
    ready, _, _ = await _cued(world)
    before = await _cues(world, ready)
    cases: list[tuple[dict[str, object], str, str]] = [
        (
            {"cue_out_ms": 200_000},
            "cue_out_ms",
            "cue_out_ms 200000 is past the end of the file (180000 ms): send at most 180000, "
            "or null to play to the end",
        ),
        (
            {"cue_in_ms": 179_500, "intro_end_ms": None, "segue_ms": None},
            "cue_in_ms",
            "cue_in_ms 179500 and the stored cue_out_ms 180000 leave 500 ms to play; keep "
            "cue-out at least 1000 ms (1 s) after cue-in: send cue_in_ms at most 179000",
        ),
        (
            {"cue_in_ms": 5000, "cue_out_ms": 4000, "title": "Not stored"},
            "cue_in_ms",
            "cue_in_ms 5000 and cue_out_ms 4000 leave 0 ms to play; keep cue-out at least "
            "1000 ms (1 s) after cue-in: send cue_in_ms at most 3000 or cue_out_ms at least 6000",
        ),
        (
            {"cue_in_ms": 20_000},
            "intro_end_ms",
            "the stored intro_end_ms 10000 is outside the part that plays (cue-in 20000 to "
            "cue-out 180000 ms): send intro_end_ms from 20000 to 180000, or null for no intro",
        ),
        (
            {"segue_ms": 0},
            "segue_ms",
            "segue_ms 0 must be after cue-in (0 ms) and at most cue-out (180000 ms): send "
            "segue_ms from 1 to 180000, or null to segue at cue-out",
        ),
        (
            {"cue_out_ms": 150_000},
            "segue_ms",
            "the stored segue_ms 175000 must be after cue-in (0 ms) and at most cue-out "
            "(150000 ms)",
        ),
    ]
    async with world.client("manager") as client:
        for body, field, message in cases:
            r = await client.patch(f"{MEDIA}/{ready}", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert message in r.json()["detail"], (body, r.json()["detail"])
            assert [e["loc"] for e in r.json()["errors"]] == [["body", field]]
        both = await client.patch(
            f"{MEDIA}/{ready}", json={"intro_end_ms": 190_000, "segue_ms": 181_000}
        )
        negative = await client.patch(f"{MEDIA}/{ready}", json={"cue_in_ms": -1})
    assert both.status_code == 422
    assert {e["loc"][-1] for e in both.json()["errors"]} == {"intro_end_ms", "segue_ms"}
    assert negative.status_code == 422
    assert "cue_in_ms" in negative.json()["detail"]
    assert await _cues(world, ready) == before
    assert await _actions(world) == []


async def test_cue_points_need_a_ready_item_and_the_manager_role(world: ApiWorld) -> None:
    ready, pending, failed = await _cued(world)
    async with world.client("manager") as client:
        waiting = await client.patch(f"{MEDIA}/{pending}", json={"cue_in_ms": 1000})
        broken = await client.patch(f"{MEDIA}/{failed}", json={"cue_out_ms": 2000})
    async with world.client("dj") as dj:
        refused = await dj.patch(f"{MEDIA}/{ready}", json={"cue_in_ms": 1000})
    assert waiting.status_code == 409
    assert (
        f"media item {pending} is pending: cue points can be set once its analysis"
        in (waiting.json()["detail"])
    )
    assert broken.status_code == 409
    assert "failed its analysis (no audio stream)" in broken.json()["detail"]
    assert refused.status_code == 403
    assert "manager" in refused.json()["detail"]
    for media_id in (ready, pending, failed):
        assert (await _cues(world, media_id))[1] == 0
    assert await _actions(world) == []


async def test_new_cue_points_reach_the_timeline_after_the_lock(world: ApiWorld) -> None:
    await add_media(world, n=30)
    sub = await world.ctx.bus.subscribe([SCHEDULE_UPDATED], str(world.stations["wgmr"]))
    async with world.client("manager") as client:
        built = await client.post("/api/v1/stations/wgmr/timeline/rebuild")
        assert built.status_code == 200, built.text
        await sub.get(timeout=5)
        first = await _entries(world)
        # the item on air now: its current play is locked, its later ones are not
        media_id = first[0].media_id
        assert media_id is not None
        edited = await client.patch(
            f"{MEDIA}/{media_id}", json={"cue_in_ms": 30_000, "intro_end_ms": 40_000}
        )
        locked_at = datetime.now(UTC) + LOCK
        event = await sub.get(timeout=5)
        again = await client.patch(f"{MEDIA}/{media_id}", json={"cue_in_ms": 30_000})
        ends = await client.patch(f"{MEDIA}/{media_id}", json={"cue_out_ms": None})
    await sub.close()
    assert edited.status_code == 200, edited.text
    item = edited.json()
    assert (item["cue_in_ms"], item["cue_out_ms"], item["intro_end_ms"]) == (
        30_000,
        180_000,
        40_000,
    )
    assert event.station_id == str(world.stations["wgmr"])
    assert event.data["planned"] > 0
    plays = [e for e in await _entries(world) if e.media_id == media_id]
    kept = [e for e in plays if e.starts_at < locked_at]
    replanned = [e for e in plays if e.starts_at >= locked_at]
    assert kept
    assert kept[0].id == first[0].id
    assert all(e.cue_in_ms == 0 for e in kept)
    assert replanned
    assert all(e.cue_in_ms == 30_000 for e in replanned)
    assert all(e.ends_at - e.starts_at == timedelta(seconds=150) for e in replanned)
    # the same points again change nothing and rebuild nothing; null is the file's end
    assert again.status_code == 200
    assert ends.status_code == 200
    assert ends.json()["cue_out_ms"] is None
    assert await _actions(world) == [
        "timeline.rebuild",
        "media.update",
        "timeline.rebuild",
        "media.update",
        "media.update",
        "timeline.rebuild",
    ]
    async with world.ctx.sessions() as session:
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.action == "media.update").order_by(AuditLog.id)
        )
    assert audit is not None
    assert audit.target == str(media_id)
    assert audit.details["fields"] == ["cue_in_ms", "intro_end_ms"]
    assert audit.details["cues"]["cue_in_ms"] == 30_000


async def _entries(world: ApiWorld) -> list[TimelineEntry]:
    async with world.ctx.sessions() as session:
        rows = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.station_id == world.stations["wgmr"])
            .order_by(TimelineEntry.starts_at, TimelineEntry.seq)
        )
        return list(rows)
