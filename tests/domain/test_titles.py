"""Names read from a file name, for files whose tags give no title."""

from __future__ import annotations

import pytest

from grimnir.domain.titles import names_from_filename


@pytest.mark.parametrize(
    ("filename", "artist", "title"),
    [
        ("The Band - Night Drive.mp3", "The Band", "Night Drive"),
        ("The_Band_-_Night_Drive.flac", "The Band", "Night Drive"),
        ("01 - Aurora Vale - Hidden Orchards.mp3", "Aurora Vale", "Hidden Orchards"),
        ("07. Morning Jingle.ogg", None, "Morning Jingle"),
        ("3_station_id.wav", None, "station id"),
        ("99 Luftballons.mp3", None, "99 Luftballons"),  # a title, not a track number
        ("1999 - Prince.mp3", "1999", "Prince"),  # four digits: not a track number
        ("AC-DC.mp3", None, "AC-DC"),  # a dash without spaces is part of the name
        ("/music/sub/Artist - Title.mp3", "Artist", "Title"),
        (".mp3", None, ".mp3"),
    ],
)
def test_a_file_name_gives_artist_and_title(
    filename: str, artist: str | None, title: str | None
) -> None:
    assert names_from_filename(filename) == (artist, title)


def test_an_artist_from_the_tags_is_kept_and_the_name_is_the_title() -> None:
    assert names_from_filename("Live - Set.mp3", "DJ Ada") == ("DJ Ada", "Live - Set")


def test_names_fit_the_library_columns() -> None:
    artist, title = names_from_filename("A" * 300 + " - " + "B" * 300 + ".mp3")
    assert artist is not None
    assert title is not None
    assert len(artist) <= 255
    assert len(title) <= 255
