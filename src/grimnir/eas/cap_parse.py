"""Reading CAP 1.2 / CAP-CP documents safely and checking them against CAP 1.2.

:func:`parse_cap` turns bytes into a :class:`~grimnir.eas.cap.CapAlert` or
raises :class:`~grimnir.eas.errors.CapError` naming the element and what is
wrong (``alert/info[1]/urgency: 'Soon' is not one of Immediate, …``).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from grimnir.eas import _cap_values as v
from grimnir.eas._xml import local, safe_root
from grimnir.eas.cap import (
    CAP_NAMESPACE,
    DEFAULT_MAX_BYTES,
    CapAlert,
    CapArea,
    CapCircle,
    CapInfo,
    CapReference,
    CapResource,
    CapValue,
)


def parse_cap(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CapAlert:
    """Parse and validate one CAP 1.2 (or CAP-CP) document.

    Refused with :class:`~grimnir.eas.errors.CapError`: bodies over
    ``max_bytes`` (checked before parsing), DTDs, entities and external
    references, malformed XML, a root that is not a CAP 1.2 ``alert``, and
    any breach of CAP 1.2's rules (required elements, enumerations,
    date-times with a numeric zone, closed polygons of ≥ 4 points, …).
    """
    root = safe_root(data, max_bytes, "CAP document")
    return alert_from_element(root, bytes(data))


def alert_from_element(root: Element, raw: bytes) -> CapAlert:
    """Validate an already safely parsed ``alert`` element (ATOM feeds embed them)."""
    namespace, tag = local(root.tag)
    if tag != "alert":
        raise v.fail(tag, "the document's root is not a CAP <alert>")
    if namespace != CAP_NAMESPACE:
        raise v.fail(
            "alert",
            f"namespace {namespace or '(none)'!r} is not CAP 1.2's {CAP_NAMESPACE!r}",
        )
    node = _Node(root, "alert")
    msg_type = v.enum("alert/msgType", node.text("msgType"), v.MSG_TYPE)
    scope = v.enum("alert/scope", node.text("scope"), v.SCOPE)
    restriction = node.optional("restriction")
    if scope == "Restricted" and restriction is None:
        raise v.fail("alert/restriction", "missing; scope Restricted requires it")
    addresses = node.optional("addresses")
    if scope == "Private" and addresses is None:
        raise v.fail("alert/addresses", "missing; scope Private requires it")
    references = _references(node.optional("references"))
    if msg_type in ("Update", "Cancel") and not references:
        raise v.fail(
            "alert/references", f"missing; an {msg_type} must name the message it replaces"
        )
    return CapAlert(
        identifier=v.name("alert/identifier", node.text("identifier")),
        sender=v.name("alert/sender", node.text("sender")),
        sent=v.when("alert/sent", node.text("sent")),
        status=v.enum("alert/status", node.text("status"), v.STATUS),
        msg_type=msg_type,
        scope=scope,
        source=node.optional("source"),
        restriction=restriction,
        addresses=addresses,
        codes=tuple(c.value() for c in node.children("code")),
        note=node.optional("note"),
        references=references,
        incidents=node.optional("incidents"),
        infos=tuple(_info(info) for info in node.children("info")),
        raw=raw,
    )


class _Node:
    """An element and its path, for reading children with precise errors."""

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    def children(self, tag: str) -> list[_Node]:
        found = [c for c in self.element if local(c.tag) == (CAP_NAMESPACE, tag)]
        return [_Node(c, f"{self.path}/{tag}[{i}]") for i, c in enumerate(found, 1)]

    def value(self) -> str:
        text = (self.element.text or "").strip()
        if not text:
            raise v.fail(self.path, "is empty")
        return text

    def optional(self, tag: str) -> str | None:
        found = self.children(tag)
        if not found:
            return None
        if len(found) > 1:
            raise v.fail(f"{self.path}/{tag}", f"appears {len(found)} times; CAP allows one")
        return (found[0].element.text or "").strip() or None

    def text(self, tag: str) -> str:
        value = self.optional(tag)
        if value is None:
            raise v.fail(f"{self.path}/{tag}", "missing (required by CAP 1.2)")
        return value

    def pairs(self, tag: str) -> tuple[CapValue, ...]:
        return tuple(
            CapValue(child.text("valueName"), child.text("value")) for child in self.children(tag)
        )


def _references(text: str | None) -> tuple[CapReference, ...]:
    if text is None:
        return ()
    out = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3 or not all(parts):
            raise v.fail("alert/references", f"{item!r} is not 'sender,identifier,sent'")
        out.append(CapReference(parts[0], parts[1], v.when("alert/references", parts[2]), parts[2]))
    return tuple(out)


def _info(node: _Node) -> CapInfo:
    p = node.path
    categories = tuple(v.enum(c.path, c.value(), v.CATEGORY) for c in node.children("category"))
    if not categories:
        raise v.fail(f"{p}/category", "missing (required by CAP 1.2)")
    times = {
        name: v.when(f"{p}/{name}", text)
        for name in ("effective", "onset", "expires")
        if (text := node.optional(name)) is not None
    }
    return CapInfo(
        categories=categories,
        event=node.text("event"),
        urgency=v.enum(f"{p}/urgency", node.text("urgency"), v.URGENCY),
        severity=v.enum(f"{p}/severity", node.text("severity"), v.SEVERITY),
        certainty=v.enum(f"{p}/certainty", node.text("certainty"), v.CERTAINTY),
        language=node.optional("language") or "en-US",
        response_types=tuple(
            v.enum(r.path, r.value(), v.RESPONSE_TYPE) for r in node.children("responseType")
        ),
        audience=node.optional("audience"),
        event_codes=node.pairs("eventCode"),
        effective=times.get("effective"),
        onset=times.get("onset"),
        expires=times.get("expires"),
        sender_name=node.optional("senderName"),
        headline=node.optional("headline"),
        description=node.optional("description"),
        instruction=node.optional("instruction"),
        web=node.optional("web"),
        contact=node.optional("contact"),
        parameters=node.pairs("parameter"),
        resources=tuple(_resource(r) for r in node.children("resource")),
        areas=tuple(_area(a) for a in node.children("area")),
    )


def _resource(node: _Node) -> CapResource:
    size = node.optional("size")
    deref = node.optional("derefUri")
    return CapResource(
        description=node.text("resourceDesc"),
        mime_type=node.text("mimeType"),
        size=v.integer(f"{node.path}/size", size) if size is not None else None,
        uri=node.optional("uri"),
        deref=v.base64_data(f"{node.path}/derefUri", deref) if deref is not None else None,
        digest=node.optional("digest"),
    )


def _area(node: _Node) -> CapArea:
    altitude = node.optional("altitude")
    ceiling = node.optional("ceiling")
    if ceiling is not None and altitude is None:
        raise v.fail(f"{node.path}/ceiling", "given without altitude; CAP 1.2 requires both")
    return CapArea(
        description=node.text("areaDesc"),
        polygons=tuple(v.polygon(c.path, c.value()) for c in node.children("polygon")),
        circles=tuple(CapCircle(*v.circle(c.path, c.value())) for c in node.children("circle")),
        geocodes=node.pairs("geocode"),
        altitude=v.number(f"{node.path}/altitude", altitude) if altitude is not None else None,
        ceiling=v.number(f"{node.path}/ceiling", ceiling) if ceiling is not None else None,
    )
