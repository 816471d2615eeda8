"""The library's bulk edit (``PATCH …/media``) and reanalysis (``POST
…/media/reanalyze``) against the real app, database and analysis pool."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from grimnir.domain import MediaState
from grimnir.store.models import AuditLog, MediaItem
from tests._api import ApiWorld
from tests.api.test_api_media import MEDIA, tone, upload


async def _tones(world: ApiWorld, tmp_path: Path, count: int = 3) -> list[str]:
    ids = []
    for n, freq in enumerate((330, 440, 550)[:count]):
        data = tone(tmp_path / f"t{n}.mp3", seconds=3.0, freq=freq, title=f"Tone {n}")
        ids.append(str((await upload(world, f"t{n}.mp3", data))["id"]))
    return ids


async def test_bulk_edit_sets_tags_on_every_item_or_none(world: ApiWorld, tmp_path: Path) -> None:
    ids = await _tones(world, tmp_path)
    async with world.client("manager") as client:
        r = await client.patch(
            MEDIA, json={"ids": ids[:2], "changes": {"genre": " Jazz ", "year": 1959}}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["updated"] == 2
        assert [i["genre"] for i in body["items"]] == ["Jazz", "Jazz"]
        listed = (await client.get(MEDIA, params={"genre": "jazz"})).json()
        assert sorted(i["id"] for i in listed["items"]) == sorted(ids[:2])

        # one id not of this station: nothing changes, and the answer names it
        stranger = str(uuid.uuid4())
        r = await client.patch(MEDIA, json={"ids": [ids[2], stranger], "changes": {"genre": "X"}})
        assert r.status_code == 404, r.text
        assert stranger in r.json()["detail"]
        third = (await client.get(f"{MEDIA}/{ids[2]}")).json()
        assert third["genre"] is None

        for bad, says in (
            ({"ids": ids, "changes": {"cue_in_ms": 10}}, "cue points belong to one item"),
            ({"ids": ids, "changes": {}}, "say which tags to change"),
            ({"ids": [], "changes": {"genre": "X"}}, "ids"),
            ({"ids": ids, "changes": {"year": 12}}, "year"),
        ):
            r = await client.patch(MEDIA, json=bad)
            assert r.status_code == 422, (bad, r.text)
            assert says in r.text, r.text
    async with world.client("dj") as client:
        r = await client.patch(MEDIA, json={"ids": ids, "changes": {"genre": "X"}})
        assert r.status_code == 403
    async with world.ctx.sessions() as session:
        actions = (await session.scalars(select(AuditLog.action))).all()
    assert actions.count("media.update_many") == 1


async def test_reanalysis_measures_again_and_says_why_an_item_failed(
    world: ApiWorld, tmp_path: Path
) -> None:
    ids = await _tones(world, tmp_path, 2)
    async with world.client("manager") as client:
        measured = (await client.get(f"{MEDIA}/{ids[0]}")).json()
        r = await client.patch(f"{MEDIA}/{ids[0]}", json={"cue_in_ms": 1000, "intro_end_ms": None})
        assert r.status_code == 200, r.text
        # the second item's file disappears
        async with world.ctx.sessions() as session:
            item = await session.get(MediaItem, uuid.UUID(ids[1]))
            assert item is not None
            Path(item.path).unlink()
        r = await client.post(f"{MEDIA}/reanalyze", json={"ids": ids[:2]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["ready"], body["failed"]) == (1, 1)
        first, second = body["items"]
        assert first["state"] == MediaState.READY.value
        assert first["cue_in_ms"] == measured["cue_in_ms"]  # measured anew
        assert first["loudness_lufs"] == measured["loudness_lufs"]
        assert second["state"] == MediaState.FAILED.value
        assert "the file is gone" in second["failed_reason"]

        r = await client.post(f"{MEDIA}/reanalyze", json={"ids": [str(uuid.uuid4())]})
        assert r.status_code == 404
        r = await client.post(f"{MEDIA}/reanalyze", json={"ids": ids * 11})
        assert r.status_code == 422  # over 20: send them in turns
    async with world.client("dj") as client:
        r = await client.post(f"{MEDIA}/reanalyze", json={"ids": ids[:1]})
        assert r.status_code == 403
