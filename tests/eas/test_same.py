"""The SAME header model: text form, parsing, the rules of 47 CFR §11.31."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from grimnir.eas import (
    SameError,
    SameHeader,
    round_purge_minutes,
    same_location_matches,
    valid_purge_minutes,
)
from tests.eas._signals import CASES

AT = datetime(2026, 3, 1, 18, 5, tzinfo=UTC)
TOR = SameHeader("WXR", "TOR", ("048453", "048491"), 30, AT, "KEWX/NWS")


def test_text_form() -> None:
    assert str(TOR) == "ZCZC-WXR-TOR-048453-048491+0030-0601805-KEWX/NWS-"
    assert str(replace(TOR, purge_minutes=90)).endswith("+0130-0601805-KEWX/NWS-")
    assert str(replace(TOR, purge_minutes=360)).endswith("+0600-0601805-KEWX/NWS-")


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_round_trips_every_case(name: str) -> None:
    header = CASES[name]
    assert SameHeader.parse(str(header), year=2026) == header


def test_issue_time_is_utc_and_expiry_follows() -> None:
    assert TOR.expires == datetime(2026, 3, 1, 18, 35, tzinfo=UTC)
    assert SameHeader.parse(str(TOR), year=2026).issued == AT


def test_year_is_the_one_nearest_now() -> None:
    dec31 = SameHeader(
        "EAS", "RWT", ("048453",), 15, datetime(2026, 12, 31, 23, 50, tzinfo=UTC), "GRIMNIR "
    )
    parsed = SameHeader.parse(str(dec31), now=datetime(2027, 1, 1, 0, 2, tzinfo=UTC))
    assert parsed.issued == dec31.issued


@pytest.mark.parametrize(
    ("minutes", "ok"),
    [(15, True), (30, True), (45, True), (60, True), (90, True), (120, True), (360, True),
     (5970, True), (0, False), (10, False), (75, False), (100, False), (6000, False)],
)  # fmt: skip
def test_purge_steps(minutes: int, ok: bool) -> None:
    assert valid_purge_minutes(minutes) is ok


@pytest.mark.parametrize(
    ("minutes", "rounded"),
    [(1, 15), (15, 15), (16, 30), (59, 60), (61, 90), (95, 120), (9999, 5970)],
)
def test_purge_rounding(minutes: float, rounded: int) -> None:
    assert round_purge_minutes(minutes) == rounded
    assert valid_purge_minutes(rounded)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"originator": "XYZ"}, "SAME originator 'XYZ': must be one of CIV, EAS, PEP, WXR"),
        ({"event": "tor"}, "SAME event 'tor': must be three capital letters"),
        ({"locations": ()}, "SAME locations: 0 given, a header carries 1 to 31"),
        ({"locations": tuple(f"0480{i:02d}" for i in range(32))}, "32 given"),
        ({"locations": ("48453",)}, "SAME location '48453': must be six digits PSSCCC"),
        ({"purge_minutes": 75}, "SAME purge time 75 min"),
        ({"sender": "KEWX"}, "SAME sender 'KEWX': must be exactly 8 characters"),
        ({"sender": "KEWX-NWS"}, "'-' is not allowed"),
        ({"issued": datetime(2026, 3, 1, 18, 5)}, "must carry a time zone"),  # noqa: DTZ001
    ],
)
def test_invalid_fields_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(SameError, match=message.replace("(", r"\(").replace("+", r"\+")):
        replace(TOR, **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NNNN", "not of the form ZCZC-ORG-EEE-PSSCCC"),
        ("ZCZC-WXR-TOR-048453+003-0601805-KEWX/NWS-", "purge time '003': must be four digits"),
        ("ZCZC-WXR-TOR-048453+0030-060180-KEWX/NWS-", "issue time '060180': must be seven digits"),
        ("ZCZC-WXR-TOR-048453+0030-3671805-KEWX/NWS-", "day 001–366"),
        ("ZCZC-WXR-TOR-048453+0030-0602405-KEWX/NWS-", "hour 00–23"),
        ("ZCZC-WXR-TOR-048453--048491+0030-0601805-KEWX/NWS-", "SAME location ''"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SameError, match=message):
        SameHeader.parse(text, year=2026)


def test_day_366_only_in_leap_years() -> None:
    text = "ZCZC-WXR-TOR-048453+0030-3661805-KEWX/NWS-"
    assert SameHeader.parse(text, year=2028).issued == datetime(2028, 12, 31, 18, 5, tzinfo=UTC)
    with pytest.raises(SameError, match="day 366 does not exist in 2026"):
        SameHeader.parse(text, year=2026)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ("048453", "048453", True),
        ("048453", "048491", False),
        ("048000", "048453", True),  # county 000: the whole state
        ("048453", "048000", True),
        ("048000", "040000", False),
        ("148453", "048453", True),  # subdivision 0: the whole county
        ("148453", "248453", False),
        ("148453", "148453", True),
        ("000000", "029095", True),  # the whole country
    ],
)
def test_location_matching(a: str, b: str, match: bool) -> None:
    assert same_location_matches(a, b) is match
