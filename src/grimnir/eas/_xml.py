"""Safe XML in (private): defusedxml with every dangerous feature refused.

Alerts come from other servers, so a document may be hostile: external
entities (XXE) could read our files or reach internal hosts, nested entities
(billion laughs) could eat the memory, a huge body could too. CAP never needs
a DTD, so any DOCTYPE is refused outright, and the size is checked before a
byte is parsed.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from grimnir.eas.errors import CapError


def safe_root(data: bytes, max_bytes: int, what: str) -> Element:
    """The root element of ``data``; :class:`CapError` says why it was refused."""
    if len(data) > max_bytes:
        raise CapError(
            f"{what} refused: {len(data)} bytes is over the limit of {max_bytes} bytes; "
            "raise the limit only if a trusted source really sends documents this big"
        )
    if not data.strip():
        raise CapError(f"{what} refused: the body is empty")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise CapError(
            f"{what} refused: it declares a DTD (<!DOCTYPE …>); CAP never uses one, and "
            "DTDs carry external-entity (XXE) and entity-expansion attacks"
        ) from None
    except EntitiesForbidden:
        raise CapError(
            f"{what} refused: it declares entities (<!ENTITY …>), the way of entity-expansion "
            "(billion laughs) and external-entity (XXE) attacks"
        ) from None
    except ExternalReferenceForbidden:
        raise CapError(
            f"{what} refused: it references an external resource (XXE); "
            "a CAP document must be self-contained"
        ) from None
    except ParseError as error:
        raise CapError(f"{what} refused: malformed XML ({error})") from None


def local(tag: str) -> tuple[str, str]:
    """``(namespace, local name)`` of an ElementTree tag."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag
