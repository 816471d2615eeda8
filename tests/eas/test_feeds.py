"""ATOM feeds of CAP (IPAWS style) and the NAAD TCP stream splitter."""

from __future__ import annotations

import socket
import threading

import pytest

from grimnir.eas import CapError, NaadSplitter, naad_archive_paths, parse_cap, parse_cap_feed
from tests.eas._cap_samples import alert, info

ATOM = "http://www.w3.org/2005/Atom"


def _embedded(data: bytes) -> str:
    return data.decode().split("?>", 1)[1]


def _feed(entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="{ATOM}"><id>urn:feed</id><title>IPAWS-OPEN</title>
<updated>2026-03-01T18:06:00Z</updated>{entries}</feed>""".encode()


def test_atom_entries_link_to_or_embed_cap() -> None:
    good = alert(infos=(info(),))
    bad = alert(identifier="bad one", infos=(info(),))
    data = _feed(
        f"""<entry><id>urn:1</id><title>Tornado Warning</title>
  <updated>2026-03-01T18:05:00Z</updated>
  <link rel="alternate" type="application/cap+xml" href="https://example.org/cap/1.xml"/>
  <link rel="self" href="https://example.org/feed/1"/></entry>
<entry><id>urn:2</id><title>Embedded</title><updated>2026-03-01T18:05:30-00:00</updated>
  <content type="text/xml">{_embedded(good)}</content></entry>
<entry><id>urn:3</id><title>Broken</title>
  <content type="text/xml">{_embedded(bad)}</content></entry>"""
    )
    linked, embedded, broken = parse_cap_feed(data)
    assert linked.links == ("https://example.org/cap/1.xml",)
    assert linked.alert is None
    assert linked.title == "Tornado Warning"
    assert linked.updated is not None
    assert embedded.alert is not None
    assert embedded.alert.identifier == parse_cap(good).identifier
    assert embedded.alert.infos == parse_cap(good).infos
    assert broken.alert is None
    assert broken.error == "alert/identifier: 'bad one' must not contain spaces, commas, '<' or '&'"


def test_a_feed_gets_the_same_defences() -> None:
    with pytest.raises(CapError, match="ATOM feed refused: it declares a DTD"):
        parse_cap_feed(b'<!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]><feed/>')
    with pytest.raises(CapError, match=r"ATOM feed refused: .* over the limit of 10 bytes"):
        parse_cap_feed(_feed(""), max_bytes=10)
    with pytest.raises(CapError, match="not an ATOM <feed>"):
        parse_cap_feed(alert())


HEARTBEAT = alert(
    identifier="urn:oid:2.49.0.1.124.hb.2026",
    sender="NAADS-Heartbeat",
    status="System",
    references=(
        "cap-pac@canada.ca,urn:oid:2.49.0.1.124.0326941791.2016,2016-12-07T16:23:21-00:00 "
        "x@y,2.49.0+1,2026-03-01T13:05:00+01:00"
    ),
    infos=(),
)


def test_naad_splitter_handles_partial_reads_and_noise() -> None:
    first, second = alert(), alert(identifier="urn:oid:two", infos=(info(),))
    stream = b"\r\n" + first + b"\n\x00garbage" + HEARTBEAT + second + b"<?xml version='1.0'?><al"
    for size in (1, 7, 1000, len(stream)):
        splitter = NaadSplitter()
        documents = []
        for offset in range(0, len(stream), size):
            documents += splitter.feed(stream[offset : offset + size])
        assert documents == [first, HEARTBEAT, second], size
        parsed = [parse_cap(d) for d in documents]
        assert [p.is_naad_heartbeat for p in parsed] == [False, True, False]
    tail = splitter.feed(b"ert xmlns='x'>unfinished")
    assert tail == []


def test_naad_splitter_drops_a_runaway_document() -> None:
    splitter = NaadSplitter(max_bytes=2000)
    assert splitter.feed(b"<alert>" + b"x" * 3000) == []
    assert splitter.dropped == 1
    assert splitter.feed(alert()) == [alert()]


def test_naad_splitter_over_a_real_socket() -> None:
    """Documents written in odd-sized pieces on a TCP connection come out whole."""
    payload = alert() + HEARTBEAT + alert(identifier="three", infos=(info(),))
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def send() -> None:
        connection, _ = server.accept()
        with connection:
            for offset in range(0, len(payload), 333):
                connection.sendall(payload[offset : offset + 333])

    thread = threading.Thread(target=send)
    thread.start()
    splitter = NaadSplitter()
    documents: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        while chunk := client.recv(100):
            documents += splitter.feed(chunk)
    thread.join()
    server.close()
    assert [parse_cap(d).identifier for d in documents] == [
        "urn:oid:2.49.0.1.124.1.2026",
        "urn:oid:2.49.0.1.124.hb.2026",
        "three",
    ]


def test_naad_archive_paths_of_a_heartbeat() -> None:
    assert naad_archive_paths(parse_cap(HEARTBEAT)) == [
        "/2016-12-07/2016_12_07T16_23_21_00_00Iurn_oid_2.49.0.1.124.0326941791.2016.xml",
        "/2026-03-01/2026_03_01T13_05_00p01_00I2.49.0p1.xml",
    ]
    with pytest.raises(CapError, match="is not a NAAD heartbeat"):
        naad_archive_paths(parse_cap(alert()))
