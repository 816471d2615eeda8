"""CAP 1.2 / CAP-CP parsing: every field read, every rule enforced, every attack refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from grimnir.eas import CapError, parse_cap
from tests.eas._cap_samples import AUDIO, NS, alert, info

EST = timezone(timedelta(hours=-5))


def test_a_cap_cp_alert_is_read_completely() -> None:
    data = alert()
    parsed = parse_cap(data)
    assert parsed.identifier == "urn:oid:2.49.0.1.124.1.2026"
    assert parsed.sender == "cap-pac@canada.ca"
    assert parsed.sent == datetime(2026, 3, 1, 13, 5, tzinfo=EST)
    assert (parsed.status, parsed.msg_type, parsed.scope) == ("Actual", "Alert", "Public")
    assert parsed.raw == data
    en, fr = parsed.infos
    assert (en.language, fr.language, fr.primary_language) == ("en-CA", "fr-CA", "fr")
    assert en.categories == ("Met",)
    assert en.event == "tornado"
    assert (en.urgency, en.severity, en.certainty) == ("Immediate", "Extreme", "Observed")
    assert en.response_types == ("Shelter",)
    assert en.same_event == "TOR"
    assert en.capcp_events == ["tornado"]
    assert en.effective == datetime(2026, 3, 1, 13, 5, tzinfo=EST)
    assert en.expires == datetime(2026, 3, 1, 19, 5, tzinfo=UTC)
    assert en.headline == "Tornado warning"
    assert fr.headline == "Alerte de tornade"
    assert en.instruction == "Take cover now"
    (resource,) = en.resources
    assert resource.mime_type == "audio/x-ipaws-audio-wav"
    assert resource.size == 26
    assert resource.deref == b"RIFF----WAVEfmt fake audio"
    (area,) = en.areas
    assert area.description == "Toronto"
    assert area.polygons[0][0] == (43.6, -79.5)
    assert len(area.polygons[0]) == 5
    assert (area.circles[0].lat, area.circles[0].lon, area.circles[0].radius_km) == (
        43.7,
        -79.4,
        5.0,
    )
    assert area.same_codes == ["048453"]
    assert area.capcp_codes == ["3520005"]
    assert parsed.expires == en.expires
    assert AUDIO


def test_update_and_cancel_references_are_triples() -> None:
    refs = (
        "cap-pac@canada.ca,urn:oid:2.49.0.1.124.1.2026,2026-03-01T13:05:00-05:00 "
        "other@example.org,abc,2026-03-01T12:00:00-00:00"
    )
    parsed = parse_cap(alert(msg_type="Cancel", references=refs, identifier="x2"))
    assert parsed.msg_type == "Cancel"
    first, second = parsed.references
    assert first.key == (
        "cap-pac@canada.ca",
        "urn:oid:2.49.0.1.124.1.2026",
        datetime(2026, 3, 1, 18, 5, tzinfo=UTC),
    )
    assert second.sender == "other@example.org"
    assert second.sent_text == "2026-03-01T12:00:00-00:00"


def test_a_heartbeat_without_info() -> None:
    parsed = parse_cap(alert(sender="NAADS-Heartbeat", status="System", infos=()))
    assert parsed.is_naad_heartbeat
    assert parsed.infos == ()


def test_xxe_is_refused() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""
    with pytest.raises(CapError, match=r"CAP document refused: it declares a DTD .*XXE"):
        parse_cap(data)


def test_billion_laughs_is_refused() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    data = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol0 "lol">{lol}]>
<alert xmlns="{NS}"><identifier>&lol9;</identifier></alert>""".encode()
    with pytest.raises(CapError, match="entity-expansion"):
        parse_cap(data)


def test_any_dtd_is_refused() -> None:
    data = alert(head="").replace(
        b"<alert ", b'<!DOCTYPE alert SYSTEM "http://example.org/cap.dtd">\n<alert ', 1
    )
    with pytest.raises(CapError, match=r"declares a DTD \(<!DOCTYPE …>\); CAP never uses one"):
        parse_cap(data)


def test_oversized_body_is_refused_before_parsing() -> None:
    data = alert()
    with pytest.raises(CapError, match=rf"{len(data)} bytes is over the limit of 1000 bytes"):
        parse_cap(data, max_bytes=1000)
    huge = b"<" * ((1 << 20) + 1)  # would be malformed, but the size is checked first
    with pytest.raises(CapError, match="over the limit of 1048576 bytes"):
        parse_cap(huge)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the body is empty"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>", "malformed XML"),
        (b"not xml at all", "malformed XML"),
    ],
)
def test_malformed_xml(data: bytes, message: str) -> None:
    with pytest.raises(CapError, match=message):
        parse_cap(data)


def _without(tag: str) -> bytes:
    data = alert().decode()
    start = data.index(f"<{tag}>")
    end = data.index(f"</{tag}>") + len(tag) + 3
    return (data[:start] + data[end:]).encode()


@pytest.mark.parametrize("tag", ["identifier", "sender", "sent", "status", "msgType", "scope"])
def test_missing_alert_elements(tag: str) -> None:
    with pytest.raises(CapError, match=rf"^alert/{tag}: missing \(required by CAP 1.2\)$"):
        parse_cap(_without(tag))


@pytest.mark.parametrize("tag", ["event", "urgency", "severity", "certainty", "category"])
def test_missing_info_elements(tag: str) -> None:
    with pytest.raises(
        CapError, match=rf"^alert/info\[1\]/{tag}: missing \(required by CAP 1.2\)$"
    ):
        parse_cap(_without(tag))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"status": "Real"},
            "alert/status: 'Real' is not one of Actual, Exercise, System, Test, Draft",
        ),
        ({"msg_type": "Notice"}, "alert/msgType: 'Notice' is not one of Alert, Update"),
        ({"scope": "Everyone"}, "alert/scope: 'Everyone' is not one of Public"),
        ({"scope": "Restricted"}, "alert/restriction: missing; scope Restricted requires it"),
        ({"scope": "Private"}, "alert/addresses: missing; scope Private requires it"),
        ({"msg_type": "Cancel"}, "alert/references: missing; an Cancel must name"),
        (
            {"msg_type": "Update", "references": "a,b"},
            "alert/references: 'a,b' is not 'sender,identifier,sent'",
        ),
        ({"identifier": "has space"}, "alert/identifier: 'has space' must not contain spaces"),
        ({"sender": "a,b"}, "alert/sender: 'a,b' must not contain spaces, commas"),
        (
            {"sent": "2026-03-01T13:05:00"},
            "alert/sent: '2026-03-01T13:05:00' is not a CAP date-time with time zone",
        ),
        ({"sent": "2026-03-01T13:05:00Z"}, "CAP 1.2 writes UTC as -00:00, never Z"),
        ({"sent": "2026-02-30T13:05:00-05:00"}, "is not a real date and time"),
        (
            {"namespace": "urn:oasis:names:tc:emergency:cap:1.1"},
            "alert: namespace 'urn:oasis:names:tc:emergency:cap:1.1' is not CAP 1.2",
        ),
        (
            {"infos": (info(urgency="Soon"),)},
            r"alert/info\[1\]/urgency: 'Soon' is not one of Immediate",
        ),
        (
            {"infos": (info(severity="Bad"),)},
            r"alert/info\[1\]/severity: 'Bad' is not one of Extreme",
        ),
        (
            {"infos": (info(certainty="Sure"),)},
            r"alert/info\[1\]/certainty: 'Sure' is not one of Observed",
        ),
        (
            {"infos": (info(expires="tomorrow"),)},
            r"alert/info\[1\]/expires: 'tomorrow' is not a CAP date-time",
        ),
        (
            {"infos": (info(area_extra="<polygon>1,1 2,2 3,3 1,2</polygon>"),)},
            r"alert/info\[1\]/area\[1\]/polygon\[2\]: not closed: "
            r"the first point 1.0,1.0 must equal the last 1.0,2.0",
        ),
        (
            {"infos": (info(area_extra="<polygon>1,1 2,2 1,1</polygon>"),)},
            r"polygon\[2\]: 3 points; a polygon needs at least 4",
        ),
        (
            {"infos": (info(area_extra="<polygon>1,1 95,2 3,3 1,1</polygon>"),)},
            r"polygon\[2\]: '95,2' is outside latitude",
        ),
        (
            {"infos": (info(area_extra="<circle>43.7,-79.4</circle>"),)},
            r"circle\[2\]: '43.7,-79.4' is not 'latitude,longitude radius'",
        ),
        (
            {"infos": (info(area_extra="<ceiling>100</ceiling>"),)},
            r"area\[1\]/ceiling: given without altitude",
        ),
        (
            {"infos": (info(extra="<eventCode><value>X</value></eventCode>"),)},
            r"eventCode\[3\]/valueName: missing",
        ),
        (
            {"infos": (info(extra="<category>Weather</category>"),)},
            r"category\[2\]: 'Weather' is not one of Geo, Met",
        ),
        (
            {"infos": (info(extra="<headline>two</headline>"),)},
            r"alert/info\[1\]/headline: appears 2 times; CAP allows one",
        ),
    ],
)
def test_rule_breaches_name_the_element(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CapError, match=message):
        parse_cap(alert(**kwargs))  # type: ignore[arg-type]


def test_bad_resource_content() -> None:
    data = alert(infos=(info(),)).replace(AUDIO.encode(), b"@@not base64@@")
    with pytest.raises(
        CapError, match=r"alert/info\[1\]/resource\[1\]/derefUri: is not valid base64"
    ):
        parse_cap(data)
    data = alert(infos=(info(),)).replace(b"<mimeType>audio/x-ipaws-audio-wav</mimeType>", b"")
    with pytest.raises(CapError, match=r"resource\[1\]/mimeType: missing"):
        parse_cap(data)


def test_root_must_be_an_alert() -> None:
    with pytest.raises(CapError, match="the document's root is not a CAP <alert>"):
        parse_cap(b"<feed xmlns='http://www.w3.org/2005/Atom'/>")
