"""ICY (SHOUTcast/Icecast) in-stream metadata for listeners that ask for it.

A client sending ``Icy-MetaData: 1`` gets ``icy-metaint: 16000`` and, after
every 16000 audio bytes, one length byte L followed by L×16 bytes of
``StreamTitle='…';`` padded with NULs — or a single zero byte when the title
has not changed since that listener's previous block.
"""

from __future__ import annotations

import re

METAINT = 16_000
"""Audio bytes between metadata blocks (Icecast's interval)."""
MAX_META_BYTES = 255 * 16
EMPTY_BLOCK = b"\x00"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PREFIX, _SUFFIX = b"StreamTitle='", b"';"


def clean_title(title: str) -> str:
    """``title`` safe inside ``StreamTitle='…';``.

    Control characters (NUL, line ends) go. Apostrophes stay, as Icecast keeps
    them ("Guns N' Roses"): clients read up to the closing ``';``, so only an
    apostrophe followed by ``;`` is replaced with a typographic one.
    """
    text = _CONTROL.sub(" ", title).strip()
    return text.replace("';", "’;")


def metadata_block(title: str) -> bytes:
    """The metadata block (length byte included) announcing ``title``.

    Titles longer than a block can hold (255×16 bytes) are cut at a UTF-8
    character boundary.
    """
    room = MAX_META_BYTES - len(_PREFIX) - len(_SUFFIX)
    encoded = clean_title(title).encode("utf-8")
    if len(encoded) > room:
        encoded = encoded[:room].decode("utf-8", "ignore").encode("utf-8")
    content = _PREFIX + encoded + _SUFFIX
    length = -(-len(content) // 16)
    return bytes([length]) + content.ljust(length * 16, b"\x00")


def parse_blocks(data: bytes, metaint: int = METAINT) -> tuple[bytes, list[bytes]]:
    """Split a complete ICY stream into (audio bytes, metadata contents without padding).

    The reference reader used by tests and benchmarks; a trailing partial
    block is left out.
    """
    audio = bytearray()
    metas: list[bytes] = []
    pos = 0
    while pos < len(data):
        take = data[pos : pos + metaint]
        audio += take
        pos += len(take)
        if len(take) < metaint or pos >= len(data):
            break
        length = data[pos] * 16
        if pos + 1 + length > len(data):
            break
        if length:
            metas.append(data[pos + 1 : pos + 1 + length].rstrip(b"\x00"))
        pos += 1 + length
    return bytes(audio), metas
