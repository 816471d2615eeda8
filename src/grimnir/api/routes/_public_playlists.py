"""Playlist files naming a station's streams, for players that open a file.

PLS: ``[playlist]``, ``FileN``/``TitleN``/``LengthN=-1`` (a stream has no
length), ``NumberOfEntries`` and ``Version=2``. M3U: extended M3U
(``#EXTM3U``, ``#EXTINF:-1,title`` before each URL). Both end lines in CRLF,
which every player reads.
"""

from __future__ import annotations

PLS = "audio/x-scpls"
M3U = "audio/x-mpegurl"


def _clean(text: str) -> str:
    """One line of text (a title cannot break the file's structure)."""
    return " ".join(text.split())


def pls(title: str, urls: list[str]) -> bytes:
    lines = ["[playlist]"]
    for n, url in enumerate(urls, start=1):
        lines += [f"File{n}={_clean(url)}", f"Title{n}={_clean(title)}", f"Length{n}=-1"]
    lines += [f"NumberOfEntries={len(urls)}", "Version=2"]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def m3u(title: str, urls: list[str]) -> bytes:
    lines = ["#EXTM3U"]
    for url in urls:
        lines += [f"#EXTINF:-1,{_clean(title)}", _clean(url)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
