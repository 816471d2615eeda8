"""What the executor sends for each kind of entry (web streams, jingles, joins)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from grimnir.domain import EntryKind, EntryStatus, FadeCurve, Timing
from grimnir.executor._timeline import Planned, play_request

START = datetime(2030, 1, 1, 12, tzinfo=UTC)


def planned(kind: EntryKind, **changes: object) -> Planned:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "seq": 1,
        "starts_at": START,
        "ends_at": START + timedelta(minutes=30),
        "kind": kind,
        "status": EntryStatus.PLANNED,
        "timing": Timing.HARD,
        "media_id": None,
        "path": "/music/a.flac",
        "urls": (),
        "cue_in_ms": 500,
        "cue_out_ms": 200_000,
        "fade_in_ms": 100,
        "fade_out_ms": 2000,
        "curve": FadeCurve.S_CURVE,
        "gain_db": -3.5,
        "title": "Title",
        "artist": "Artist",
        "album": "",
        "meta": {},
    }
    values.update(changes)
    return Planned(**values)  # type: ignore[arg-type]


def test_a_webstream_plays_its_first_url_with_the_rest_as_backups_for_its_slot() -> None:
    entry = planned(
        EntryKind.WEBSTREAM, path=None, urls=("http://a/stream", "http://b/stream"), cue_in_ms=0
    )
    request = play_request(entry)
    assert request is not None
    assert request.path == "http://a/stream"
    assert request.meta["backup_urls"] == ["http://b/stream"]
    assert request.cue.cue_out == 30 * 60 * 1000
    assert request.start_at == START
    assert request.timing is Timing.HARD
    joined = play_request(entry, offset_ms=60_000)
    assert joined is not None
    assert joined.cue.cue_out == 29 * 60 * 1000
    assert joined.start_at is None
    assert play_request(planned(EntryKind.WEBSTREAM, path=None, urls=())) is None


def test_tracks_carry_cues_fades_gain_and_text_jingles_no_text() -> None:
    request = play_request(planned(EntryKind.TRACK))
    assert request is not None
    assert (request.cue.cue_in, request.cue.cue_out) == (500, 200_000)
    assert (request.fade_in_ms, request.fade_out_ms, request.gain_db) == (100, 2000, -3.5)
    assert (request.title, request.artist) == ("Title", "Artist")
    jingle = play_request(planned(EntryKind.JINGLE))
    assert jingle is not None
    assert (jingle.title, jingle.artist) == ("", "")
    joined = play_request(planned(EntryKind.TRACK), offset_ms=10_000)
    assert joined is not None
    assert joined.cue.cue_in == 10_500
    assert joined.fade_in_ms == 0
    assert play_request(planned(EntryKind.TRACK), offset_ms=199_500) is None  # nothing left
