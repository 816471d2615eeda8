"""read_tags on real files tagged with mutagen, in every format a station meets."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest
from mutagen.flac import FLAC
from mutagen.id3 import (
    APIC,
    COMM,
    TALB,
    TBPM,
    TCOM,
    TCON,
    TDRC,
    TENC,
    TIT2,
    TLAN,
    TMOO,
    TPE1,
    TPE2,
    TPOS,
    TPUB,
    TRCK,
    TSRC,
    TXXX,
)
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from grimnir.library import TagInfo, fix_text, read_tags
from tests._tagging import (
    add_picture,
    id3_frame,
    id3_tags,
    open_audio,
    picture,
    picture_bytes,
    tag_wave,
    update,
)
from tests.library._audio import MakeAudio, music

JPEG = b"\xff\xd8\xff\xe0" + b"front" * 20
BACK = b"\xff\xd8\xff\xe0" + b"back" * 20

VORBIS = {
    "TITLE": "Song Title",
    "ARTIST": "The Artist",
    "ALBUM": "The Album",
    "ALBUMARTIST": "Various",
    "GENRE": "Jazz",
    "MOOD": "Calm",
    "DATE": "2003-05-01",
    "BPM": "128.0 BPM",
    "ISRC": "us-abc-03-12345",
    "LABEL": "Blue Note",
    "COMPOSER": "Composer",
    "LANGUAGE": "eng",
    "TRACKNUMBER": "7/12",
    "DISCNUMBER": "2/2",
    "COMMENT": "a comment",
    "REPLAYGAIN_TRACK_GAIN": "-7.89 dB",
    "REPLAYGAIN_TRACK_PEAK": "0.988",
    "REPLAYGAIN_ALBUM_GAIN": "-6.50 dB",
    "REPLAYGAIN_ALBUM_PEAK": "1.02",
    "ITUNESADVISORY": "1",
    "MusicBrainz Track Id": "abc-123",
}


def _assert_full(tags: TagInfo) -> None:
    assert tags.title == "Song Title"
    assert tags.artist == "The Artist"
    assert tags.album == "The Album"
    assert tags.album_artist == "Various"
    assert tags.genre == "Jazz"
    assert tags.mood == "Calm"
    assert tags.year == 2003
    assert tags.bpm == 128.0
    assert tags.isrc == "USABC0312345"
    assert tags.label == "Blue Note"
    assert tags.composer == "Composer"
    assert tags.language == "eng"
    assert tags.track_number == 7
    assert tags.disc_number == 2
    assert tags.comment == "a comment"
    assert tags.replaygain_track_gain_db == -7.89
    assert tags.replaygain_track_peak == 0.988
    assert tags.replaygain_album_gain_db == -6.5
    assert tags.replaygain_album_peak == 1.02
    assert tags.explicit is True
    assert tags.custom["musicbrainz_track_id"] == "abc-123"
    assert tags.warnings == []


@pytest.fixture
def mp3(make_audio: MakeAudio) -> Path:
    return make_audio("t.mp3", music(1.0))


def test_id3_all_fields(mp3: Path) -> None:
    id3 = id3_tags(
        id3_frame(TIT2, encoding=3, text="Song Title"),
        id3_frame(TPE1, encoding=3, text="The Artist"),
        id3_frame(TALB, encoding=3, text="The Album"),
        id3_frame(TPE2, encoding=3, text="Various"),
        id3_frame(TCON, encoding=3, text="Jazz"),
        id3_frame(TMOO, encoding=3, text="Calm"),
        id3_frame(TDRC, encoding=3, text="2003-05-01"),
        id3_frame(TBPM, encoding=3, text="128.0 BPM"),
        id3_frame(TSRC, encoding=3, text="us-abc-03-12345"),
        id3_frame(TPUB, encoding=3, text="Blue Note"),
        id3_frame(TCOM, encoding=3, text="Composer"),
        id3_frame(TLAN, encoding=3, text="eng"),
        id3_frame(TRCK, encoding=3, text="7/12"),
        id3_frame(TPOS, encoding=3, text="2/2"),
        id3_frame(COMM, encoding=3, lang="eng", desc="", text="a comment"),
        id3_frame(COMM, encoding=3, lang="eng", desc="iTunNORM", text="00000 0000"),
        id3_frame(TENC, encoding=3, text="LAME"),
        id3_frame(APIC, encoding=3, mime="image/jpeg", type=4, desc="back", data=BACK),
        id3_frame(APIC, encoding=3, mime="image/jpeg", type=3, desc="front", data=JPEG),
        *(
            id3_frame(TXXX, encoding=3, desc=key, text=value)
            for key, value in VORBIS.items()
            if key.startswith(("REPLAYGAIN", "ITUNES", "MusicBrainz"))
        ),
    )
    id3.save(mp3)
    tags = read_tags(mp3)
    _assert_full(tags)
    assert tags.custom["tenc"] == "LAME"
    assert "comment_itunnorm" not in tags.custom
    assert tags.artwork == JPEG  # the front cover, though the back cover comes first
    assert tags.artwork_mime == "image/jpeg"


def test_id3_genre_number_and_multiple_values(mp3: Path) -> None:
    id3_tags(
        id3_frame(TCON, encoding=3, text="(17)"),
        id3_frame(TPE1, encoding=3, text=["A", "B"]),
    ).save(mp3)
    tags = read_tags(mp3)
    assert tags.genre == "Rock"
    assert tags.artist == "A; B"


def test_mp4_atoms(make_audio: MakeAudio) -> None:
    path = make_audio("t.m4a", music(1.0))
    mp4 = open_audio(MP4, path)
    assert mp4.tags is not None  # FFmpeg's muxer wrote ©too
    mp4.tags.update(
        {
            "©nam": ["Song Title"],
            "©ART": ["The Artist"],
            "©alb": ["The Album"],
            "aART": ["Various"],
            "©gen": ["Jazz"],
            "©day": ["2003-05-01"],
            "tmpo": [128],
            "©wrt": ["Composer"],
            "©cmt": ["a comment"],
            "trkn": [(7, 12)],
            "disk": [(2, 2)],
            "rtng": [1],
            "covr": [MP4Cover(JPEG, imageformat=MP4Cover.FORMAT_JPEG)],
        }
    )
    free = {k: v for k, v in VORBIS.items() if k.startswith(("REPLAYGAIN", "Music", "ISRC"))}
    free |= {"LABEL": VORBIS["LABEL"], "MOOD": "Calm", "LANGUAGE": "eng"}
    for key, value in free.items():
        mp4.tags[f"----:com.apple.iTunes:{key}"] = [MP4FreeForm(value.encode())]
    mp4.save()
    tags = read_tags(path)
    _assert_full(tags)
    assert tags.artwork == JPEG


@pytest.mark.parametrize("suffix", ["ogg", "opus", "flac"])
def test_vorbis_comments(make_audio: MakeAudio, suffix: str) -> None:
    path = make_audio(f"t.{suffix}", music(1.0))
    audio = open_audio({"ogg": OggVorbis, "opus": OggOpus, "flac": FLAC}[suffix], path)
    for key, value in VORBIS.items():
        audio[key] = value
    cover = picture(JPEG, "image/png")
    if isinstance(audio, FLAC):
        add_picture(audio, cover)
    else:
        audio["METADATA_BLOCK_PICTURE"] = base64.b64encode(picture_bytes(cover)).decode()
    audio.save()
    tags = read_tags(path)
    _assert_full(tags)
    assert (tags.artwork, tags.artwork_mime) == (JPEG, "image/png")


def _riff_info(path: Path, items: dict[bytes, bytes]) -> None:
    body = b"INFO"
    for cid, raw in items.items():
        data = raw + b"\x00"
        body += cid + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    riff = bytearray(path.read_bytes()) + b"LIST" + struct.pack("<I", len(body)) + body
    riff[4:8] = struct.pack("<I", len(riff) - 8)
    path.write_bytes(bytes(riff))


def test_wav_riff_info_and_id3_chunk(make_audio: MakeAudio) -> None:
    path = make_audio("t.wav", music(1.0))
    _riff_info(
        path, {b"INAM": b"Info Title", b"IART": "Jos\xe9".encode("cp1252"), b"ICRD": b"1999"}
    )
    assert read_tags(path).title == "Info Title"
    assert read_tags(path).artist == "José"
    assert read_tags(path).year == 1999
    tag_wave(path, id3_frame(TIT2, encoding=3, text="ID3 Title"))
    tags = read_tags(path)
    assert tags.title == "ID3 Title"  # the ID3 chunk wins; INFO fills what it lacks
    assert tags.artist == "José"


def _id3v1(title: bytes, artist: bytes, year: bytes = b"1987") -> bytes:
    def pad(raw: bytes, n: int) -> bytes:
        return raw[:n].ljust(n, b"\x00")

    return (
        b"TAG"
        + pad(title, 30)
        + pad(artist, 30)
        + pad(b"", 30)
        + pad(year, 4)
        + pad(b"", 30)
        + b"\xff"
    )


def test_id3v1_cp1252_and_utf8_mojibake(mp3: Path) -> None:
    mp3.write_bytes(mp3.read_bytes() + _id3v1(b"Caf\xe9 \x80 5", "Beyoncé".encode()))
    tags = read_tags(mp3)
    assert tags.title == "Café € 5"
    assert tags.artist == "Beyoncé"
    assert tags.year == 1987


def test_latin1_id3v2_frame_holding_utf8(mp3: Path) -> None:
    id3_tags(
        id3_frame(TIT2, encoding=0, text="Motörhead".encode().decode("latin-1")),
        id3_frame(TPE1, encoding=0, text="It’s".encode("cp1252").decode("latin-1")),
    ).save(mp3)
    tags = read_tags(mp3)
    assert tags.title == "Motörhead"
    assert tags.artist == "It’s"


def test_fix_text_leaves_good_text_alone() -> None:
    assert fix_text("  Café  ") == "Café"
    assert fix_text("Ærø\x00") == "Ærø"
    assert fix_text("BeyoncÃ©") == "Beyoncé"
    assert fix_text("plain") == "plain"


def test_oversize_tags_are_clipped_or_dropped(mp3: Path) -> None:
    id3_tags(
        id3_frame(TIT2, encoding=3, text="x" * 300),
        id3_frame(COMM, encoding=3, lang="eng", desc="", text="y" * 1_000_000),
        id3_frame(TXXX, encoding=3, desc="notes", text="z" * 5000),
        id3_frame(
            APIC, encoding=3, mime="image/jpeg", type=3, data=b"\xff\xd8" + bytes(20 * 2**20)
        ),
    ).save(mp3)
    tags = read_tags(mp3)
    assert tags.title == "x" * 255
    assert tags.comment is not None
    assert len(tags.comment) == 4096
    assert len(tags.custom["notes"]) == 1024
    assert tags.artwork is None
    assert any("artwork of 20.0 MiB ignored" in w for w in tags.warnings)
    assert any("'title' clipped from 300 to 255" in w for w in tags.warnings)


def test_garbage_numbers_are_ignored(make_audio: MakeAudio) -> None:
    path = make_audio("n.flac", music(1.0))
    audio = open_audio(FLAC, path)
    update(audio, {"DATE": "unknown", "BPM": "fast", "TRACKNUMBER": "A1", "BPM2": "120"})
    audio["REPLAYGAIN_TRACK_GAIN"] = "-999 dB"
    audio.save()
    tags = read_tags(path)
    assert (tags.year, tags.bpm, tags.track_number, tags.replaygain_track_gain_db) == (
        None,
        None,
        None,
        None,
    )
    assert tags.custom["bpm2"] == "120"


def test_unreadable_tags_give_empty_info_and_a_warning(tmp_path: Path, mp3: Path) -> None:
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC" + b"\x00\x00\x00\x22" + b"\xff" * 20)
    tags = read_tags(broken)
    assert tags.title is None
    assert tags.warnings
    assert tags.warnings[0].startswith("tags unreadable")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert read_tags(text) == TagInfo()
    assert read_tags(mp3).title is None  # untagged is not an error
