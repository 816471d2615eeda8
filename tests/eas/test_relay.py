"""From a CAP alert to its SAME header and the words to speak."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from grimnir.eas import (
    EasError,
    EasSettings,
    SameHeader,
    audio_resource,
    decide,
    originator_for,
    parse_cap,
    same_header_for,
    speech_for,
)
from tests.eas._cap_samples import alert, info

US = EasSettings(country="US", sender_id="WXYZ/FM", same_locations=("048453",))


def test_header_from_a_cap_alert() -> None:
    cap = parse_cap(alert())
    header = same_header_for(cap, cap.infos[0], US)
    assert header == SameHeader(
        "WXR", "TOR", ("048453",), 60, datetime(2026, 3, 1, 18, 5, tzinfo=UTC), "WXYZ/FM "
    )
    assert str(header) == "ZCZC-WXR-TOR-048453+0100-0601805-WXYZ/FM -"


@pytest.mark.parametrize(
    ("expires", "purge"),
    [
        ("2026-03-01T13:10:00-05:00", 15),
        ("2026-03-01T13:35:00-05:00", 30),
        ("2026-03-01T13:50:00-05:00", 45),
        ("2026-03-01T14:20:00-05:00", 90),
        ("2026-03-01T19:05:00-05:00", 360),
        ("2026-03-09T13:05:00-05:00", 5970),
    ],
)
def test_purge_time_is_rounded_up_to_an_allowed_step(expires: str, purge: int) -> None:
    cap = parse_cap(alert(infos=(info(expires=expires),)))
    assert same_header_for(cap, cap.infos[0], US).purge_minutes == purge


def test_locations_over_31_keep_ours_first() -> None:
    codes = (*tuple(("SAME", f"0480{i:02d}") for i in range(1, 40)), ("SAME", "048453"))
    cap = parse_cap(alert(infos=(info(geocodes=codes),)))
    header = same_header_for(cap, cap.infos[0], US)
    assert len(header.locations) == 31
    assert header.locations[0] == "048453"


def test_originators() -> None:
    cap = parse_cap(alert(infos=(info(same="EAN"),)))
    assert originator_for(cap, cap.infos[0]) == "PEP"
    civil = parse_cap(
        alert(infos=(info(),)).replace(b"<category>Met</category>", b"<category>Fire</category>")
    )
    assert originator_for(civil, civil.infos[0]) == "CIV"
    assert same_header_for(civil, civil.infos[0], US, originator="EAS").originator == "EAS"


def test_no_same_codes_no_header() -> None:
    cap = parse_cap(alert(infos=(info(same=None),)))
    with pytest.raises(EasError, match="no SAME event code; cannot build a SAME header"):
        same_header_for(cap, cap.infos[0], US)
    cap = parse_cap(alert(infos=(info(geocodes=()),)))
    with pytest.raises(EasError, match="no SAME location codes"):
        same_header_for(cap, cap.infos[0], US)


def test_speech_in_the_alert_languages() -> None:
    cap = parse_cap(alert())
    both = replace(US, languages=("fr", "en"))
    speeches = speech_for(cap.infos, both)
    assert [s.language for s in speeches] == ["fr", "en"]
    assert speeches[1].text == (
        "Tornado warning. A tornado was seen near the town. Take cover now."
    )
    assert [s.language for s in speech_for(cap.infos, US)] == ["en"]
    french_only = parse_cap(alert(infos=(info(language="fr-CA", headline="Alerte"),)))
    assert [s.language for s in speech_for(french_only.infos, US)] == ["fr"]


def test_prepared_broadcast_text_wins() -> None:
    extra = (
        "<parameter><valueName>layer:SOREM:1.0:Broadcast_Text</valueName>"
        "<value>Read this exactly.</value></parameter>"
    )
    cap = parse_cap(alert(infos=(info(extra=extra),)))
    assert speech_for(cap.infos, US)[0].text == "Read this exactly."


def test_audio_resource_is_offered() -> None:
    cap = parse_cap(alert())
    resource = audio_resource(cap.infos[0])
    assert resource is not None
    assert resource.deref is not None
    decision = decide(US, cap, datetime(2026, 3, 1, 18, 6, tzinfo=UTC))
    assert audio_resource(decision.infos[0]) == resource
