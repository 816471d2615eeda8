"""How alerts arrive: ATOM feeds of CAP (IPAWS-OPEN style) and NAAD's TCP stream.

* An ATOM feed lists entries that either link to a CAP document (fetched by
  the caller) or embed the ``<alert>`` in ``<content>``; :func:`parse_cap_feed`
  returns both kinds, an entry whose embedded alert is invalid carrying the
  error instead of failing the whole feed.
* The NAAD System (Pelmorex, Canada) streams CAP-CP documents back to back
  over TCP, each from ``<alert`` to ``</alert>``, with no other framing; a
  heartbeat (``sender`` NAADS-Heartbeat, ``status`` System) comes about every
  minute and lists the last alerts sent (NAADS LMD User Guide).
  :class:`NaadSplitter` cuts complete documents out of whatever the socket
  delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, tostring

from grimnir.eas import _cap_values as v
from grimnir.eas._xml import local, safe_root
from grimnir.eas.cap import CAP_NAMESPACE, DEFAULT_MAX_BYTES, CapAlert
from grimnir.eas.cap_parse import alert_from_element
from grimnir.eas.errors import CapError

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
#: Feeds are lists of many alerts: a larger default than one document's.
DEFAULT_MAX_FEED_BYTES = 8 << 20


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One ATOM entry: links to CAP documents and/or the alert it embeds."""

    id: str | None
    title: str | None
    updated: datetime | None
    links: tuple[str, ...]
    alert: CapAlert | None = None
    error: str | None = None


def _atom(element: Element, tag: str) -> list[Element]:
    return [c for c in element if local(c.tag) == (ATOM_NAMESPACE, tag)]


def _atom_text(element: Element, tag: str) -> str | None:
    found = _atom(element, tag)
    return (found[0].text or "").strip() or None if found else None


def _cap_link(link: Element) -> bool:
    kind = link.get("type", "")
    return "cap" in kind or kind in ("text/xml", "application/xml") or not kind


def parse_cap_feed(data: bytes, *, max_bytes: int = DEFAULT_MAX_FEED_BYTES) -> list[FeedEntry]:
    """The entries of an ATOM feed of CAP alerts, in feed order.

    The feed is parsed with the same defences as a CAP document; an entry's
    embedded alert is validated like :func:`~grimnir.eas.cap_parse.parse_cap`
    and, when invalid, the entry carries ``error`` instead.
    """
    root = safe_root(data, max_bytes, "ATOM feed")
    if local(root.tag) != (ATOM_NAMESPACE, "feed"):
        raise CapError(f"ATOM feed refused: the root is {root.tag!r}, not an ATOM <feed>")
    entries = []
    for entry in _atom(root, "entry"):
        updated_text = _atom_text(entry, "updated")
        updated = None
        if updated_text is not None:
            try:
                updated = datetime.fromisoformat(updated_text.replace("Z", "+00:00"))
            except ValueError:
                updated = None
        links = tuple(
            href
            for link in _atom(entry, "link")
            if (href := link.get("href"))
            and link.get("rel", "alternate") != "self"
            and _cap_link(link)
        )
        alert, error = None, None
        embedded = [
            a
            for content in _atom(entry, "content")
            for a in content
            if local(a.tag) == (CAP_NAMESPACE, "alert")
        ]
        if embedded:
            try:
                alert = alert_from_element(embedded[0], tostring(embedded[0], encoding="utf-8"))
            except CapError as refused:
                error = str(refused)
        entries.append(
            FeedEntry(
                _atom_text(entry, "id"), _atom_text(entry, "title"), updated, links, alert, error
            )
        )
    return entries


_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?alert[\s>/]")
_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?alert\s*>")
_DECLARATION = re.compile(rb"<\?xml[^>]*\?>\s*$")


class NaadSplitter:
    """Cuts complete ``<alert>…</alert>`` documents out of a TCP byte stream.

    Feed it whatever each read returned; it keeps the unfinished tail for the
    next call. Bytes between documents are dropped; an ``<?xml …?>``
    declaration just before a document stays with it. A document growing past
    ``max_bytes`` without its end is dropped (counted in :attr:`dropped`),
    so a broken peer cannot make the buffer grow without bound.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.dropped = 0
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Complete documents now available, oldest first."""
        self._buffer += data
        documents: list[bytes] = []
        while True:
            start = _START.search(self._buffer)
            if start is None:
                # Keep a tail that may begin the next document: its "<?xml …?>"
                # declaration, or a "<alert" cut by the read.
                declaration = self._buffer.rfind(b"<?xml")
                cut = declaration if declaration >= 0 else self._buffer.rfind(b"<")
                self._buffer = self._buffer[cut:] if cut >= 0 else b""
                if len(self._buffer) > self.max_bytes:
                    self._buffer, self.dropped = b"", self.dropped + 1
                return documents
            begin = start.start()
            head = _DECLARATION.search(self._buffer, 0, begin)
            if head is not None:
                begin = head.start()
            end = _END.search(self._buffer, start.end())
            if end is None:
                self._buffer = self._buffer[begin:]
                if len(self._buffer) > self.max_bytes:
                    self._buffer, self.dropped = b"", self.dropped + 1
                return documents
            documents.append(self._buffer[begin : end.end()])
            self._buffer = self._buffer[end.end() :]


def _naad_name(text: str) -> str:
    return text.replace("-", "_").replace("+", "p").replace(":", "_")


def naad_archive_paths(alert: CapAlert) -> list[str]:
    """Archive paths of the alerts a NAAD heartbeat lists, to fetch from
    ``http://capcp1.naad-adna.pelmorex.com`` (or ``capcp2``) when the stream
    missed one: ``/<sent date>/<sent>I<identifier>.xml`` with '-' and ':' made
    '_' and '+' made 'p', e.g. ``/2016-12-07/2016_12_07T16_23_21_00_00Iurn_oid_2.49….xml``
    (NAADS LMD User Guide)."""
    if not alert.is_naad_heartbeat:
        raise v.fail("alert/sender", f"{alert.sender!r} is not a NAAD heartbeat")
    return [
        f"/{ref.sent_text[:10]}/{_naad_name(ref.sent_text)}I{_naad_name(ref.identifier)}.xml"
        for ref in alert.references
    ]
