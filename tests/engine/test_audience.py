"""Listener counting pieces: Icecast's listclients answer, HLS clients over time."""

from __future__ import annotations

from pathlib import Path

from grimnir.engine.outputs import parse_listclients
from grimnir.engine.server import StaticDir, client_address
from grimnir.engine.server._http import Request

# What icecast2 2.4.4 answers to GET /admin/listclients?mount=/x.mp3 (two listeners).
LISTCLIENTS = (
    b'<?xml version="1.0"?>\n<icestats><source mount="/x.mp3"><Listeners>2</Listeners>'
    b"<listener><IP>127.0.0.1</IP><UserAgent>curl/7.88.1</UserAgent><Connected>2</Connected>"
    b"<ID>1</ID></listener><listener><IP>127.0.0.1</IP><UserAgent>VLC/3</UserAgent>"
    b"<Connected>2</Connected><ID>2</ID></listener></source></icestats>"
)


def test_icecasts_listener_list_is_counted() -> None:
    assert parse_listclients(LISTCLIENTS, "/x.mp3") == 2
    assert parse_listclients(LISTCLIENTS, "/other.mp3") is None
    # an older answer without the <Listeners> total: the listener elements count
    bare = b'<icestats><source mount="/x.mp3"><listener><ID>1</ID></listener></source></icestats>'
    assert parse_listclients(bare, "/x.mp3") == 1


def test_what_is_not_a_listener_list_counts_nothing() -> None:
    assert parse_listclients(b"<html><body>Unauthorized</body></html>", "/x.mp3") is None
    assert parse_listclients(b"not xml at all", "/x.mp3") is None
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;">]><icestats>&lol2;</icestats>'
    )
    assert parse_listclients(bomb, "/x.mp3") is None  # entities refused, not expanded


def test_hls_clients_count_while_they_keep_fetching(tmp_path: Path) -> None:
    static = StaticDir("/hls/main", tmp_path, active_s=10.0)
    static.visited("192.0.2.1", "player-a", now=100.0)
    static.visited("192.0.2.1", "player-b", now=101.0)
    static.visited("192.0.2.2", "player-a", now=102.0)
    static.visited("192.0.2.1", "player-a", now=105.0)  # the same client again
    assert static.listeners(now=105.0) == 3
    assert static.listeners(now=111.5) == 2  # player-b went quiet 10.5 s ago
    assert static.listeners(now=116.0) == 0
    static.visited("192.0.2.3", "player-c", now=200.0)  # prunes those long gone
    assert static.listeners(now=200.0) == 1


def _request(**headers: str) -> Request:
    return Request("GET", "/hls/main/index.m3u8", "HTTP/1.1", "/hls/main/index.m3u8", "", headers)


def test_only_a_relay_on_this_machine_may_name_the_listener() -> None:
    relayed = _request(**{"x-forwarded-for": "203.0.113.7, 10.0.0.1"})
    assert client_address(relayed, "127.0.0.1") == "203.0.113.7"
    assert client_address(relayed, "::1") == "203.0.113.7"
    assert client_address(relayed, "198.51.100.4") == "198.51.100.4"  # forged: ignored
    assert client_address(_request(), "127.0.0.1") == "127.0.0.1"
