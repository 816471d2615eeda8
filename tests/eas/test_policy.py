"""Alert policy: relay or filter with a reason, duplicates, updates, cancels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from grimnir.domain.errors import ConfigError
from grimnir.eas import Action, AlertTracker, CapCircle, EasSettings, decide, parse_cap
from tests.eas._cap_samples import alert, info

NOW = datetime(2026, 3, 1, 18, 10, tzinfo=UTC)  # five minutes after the alert was sent
US = EasSettings(country="US", sender_id="WXYZ/FM", same_locations=("048453",))
CA = EasSettings(
    country="CA", capcp_locations=("3520",), languages=("en", "fr"), broadcast_immediately_only=True
)
ORIGINAL = "cap-pac@canada.ca,urn:oid:2.49.0.1.124.1.2026,2026-03-01T13:05:00-05:00"


def _alert(**kwargs: object):  # type: ignore[no-untyped-def]
    return parse_cap(alert(**kwargs))  # type: ignore[arg-type]


def test_an_alert_for_our_county_is_relayed() -> None:
    decision = decide(US, _alert(), NOW)
    assert decision.action is Action.RELAY
    assert decision.reason == "relay: tornado (en-CA, fr-CA)"
    assert [i.language for i in decision.infos] == ["en-CA", "fr-CA"]


_SVR_ONLY: dict[str, object] = {"infos": (info(same="SVR", capcp=None),)}
_FILTERED: list[tuple[EasSettings, dict[str, object], str]] = [
    (replace(US, relay_events=frozenset({"TOR", "RMT"})), _SVR_ONLY,
     "filtered: event SVR is not relayed by this station"),
    (replace(US, ignore_events=frozenset({"tornado"})), {},
     "filtered: event tornado is ignored by this station"),
    (US, {"infos": (info(expires="2026-03-01T13:06:00-05:00"),)},
     "filtered: expired at 2026-03-01T13:06:00-05:00"),
    (US, {"infos": (info(geocodes=(("SAME", "048491"),)),)}, "filtered: no area matches 048491"),
    (US, {"infos": (info(same=None),)},
     "filtered: event tornado has no SAME event code to put on air"),
    (replace(US, min_severity="Severe"), {"infos": (info(severity="Moderate"),)},
     "filtered: severity Moderate is below this station's minimum Severe"),
    (replace(US, min_urgency="Expected"), {"infos": (info(urgency="Future"),)},
     "filtered: urgency Future is below this station's minimum Expected"),
    (replace(US, min_certainty="Likely"), {"infos": (info(certainty="Unknown"),)},
     "filtered: certainty Unknown is below this station's minimum Likely"),
    (US, {"status": "Exercise"}, "filtered: status Exercise is not aired by this station"),
    (US, {"scope": "Restricted", "extra": "<restriction>ops</restriction>"},
     "filtered: scope Restricted is not public"),
    (US, {"sender": "NAADS-Heartbeat", "status": "System", "infos": ()},
     "filtered: NAAD heartbeat, not an alert"),
    (US, {"infos": ()}, "filtered: the alert has no info to air"),
    (EasSettings(), {}, "filtered: this station has no alert areas configured"),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "kwargs", "reason"), _FILTERED)
def test_filtered_with_the_reason(
    settings: EasSettings, kwargs: dict[str, object], reason: str
) -> None:
    decision = decide(settings, _alert(**kwargs), NOW)
    assert decision.action is Action.FILTER
    assert decision.reason == reason


@pytest.mark.parametrize(
    ("mine", "theirs", "match"),
    [
        ("048000", "048453", True),  # whole-state setting
        ("148453", "048453", True),  # the alert is for the whole county
        ("048453", "248453", True),  # we cover the whole county, the alert a part
        ("148453", "248453", False),
        ("029095", "000000", True),  # national
    ],
)
def test_same_wildcards(mine: str, theirs: str, match: bool) -> None:
    settings = replace(US, same_locations=(mine,))
    decision = decide(settings, _alert(infos=(info(geocodes=(("SAME", theirs),)),)), NOW)
    assert (decision.action is Action.RELAY) is match


def test_canadian_geocodes_match_by_prefix_and_need_broadcast_immediately() -> None:
    assert decide(CA, _alert(), NOW).action is Action.RELAY
    assert decide(replace(CA, capcp_locations=("35200051",)), _alert(), NOW).action is Action.RELAY
    assert decide(replace(CA, capcp_locations=("24",)), _alert(), NOW).reason == (
        "filtered: no area matches 048453, 3520005"
    )
    not_bi = alert().replace(b"<value>Yes</value>", b"<value>No</value>")
    assert decide(CA, parse_cap(not_bi), NOW).reason == (
        "filtered: not marked Broadcast Immediately (CAP-CP SOREM layer)"
    )


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        (
            EasSettings(polygons=(((43.75, -79.3), (43.9, -79.3), (43.9, -79.0), (43.75, -79.3)),)),
            True,
        ),
        (
            EasSettings(polygons=(((45.0, -75.0), (45.1, -75.0), (45.1, -74.9), (45.0, -75.0)),)),
            False,
        ),
        (EasSettings(circles=(CapCircle(43.95, -79.4, 20.0),)), True),  # reaches the polygon
        (EasSettings(circles=(CapCircle(44.5, -79.4, 5.0),)), False),
        (EasSettings(circles=(CapCircle(43.7, -79.35, 1.0),)), True),  # inside both
    ],
)
def test_areas_of_interest(settings: EasSettings, match: bool) -> None:
    settings = replace(settings, country="CA")
    assert (
        decide(settings, _alert(infos=(info(geocodes=()),)), NOW).action is Action.RELAY
    ) is match


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError) as raised:
        EasSettings(
            country="MX", same_locations=("48453",), min_severity="Huge", sender_id="TOO-LONG-ID"
        )
    text = str(raised.value)
    assert "country 'MX': must be US or CA" in text
    assert "SAME location '48453'" in text
    assert "min_severity 'Huge'" in text
    assert "sender_id 'TOO-LONG-ID'" in text


def test_duplicates_updates_and_cancels() -> None:
    tracker = AlertTracker(US)
    first = _alert()
    assert tracker.receive(first, NOW).action is Action.RELAY
    assert tracker.active == [first]
    again = tracker.receive(_alert(), NOW + timedelta(seconds=30))
    assert again.action is Action.DUPLICATE
    assert again.reason.startswith(
        "duplicate: cap-pac@canada.ca urn:oid:2.49.0.1.124.1.2026 already received"
    )

    update = _alert(
        identifier="u1", msg_type="Update", references=ORIGINAL, sent="2026-03-01T13:15:00-05:00"
    )
    decision = tracker.receive(update, NOW + timedelta(minutes=10))
    assert decision.action is Action.RELAY
    assert decision.stops == (first.key,)
    assert decision.reason.endswith("; replaces cap-pac@canada.ca urn:oid:2.49.0.1.124.1.2026")
    assert tracker.active == [update]

    cancel = _alert(
        identifier="c1",
        msg_type="Cancel",
        references="cap-pac@canada.ca,u1,2026-03-01T13:15:00-05:00",
        sent="2026-03-01T13:20:00-05:00",
    )
    stopped = tracker.receive(cancel, NOW + timedelta(minutes=15))
    assert stopped.action is Action.CANCEL
    assert stopped.stops == (update.key,)
    assert stopped.reason == "cancel: stops cap-pac@canada.ca u1"
    assert tracker.active == []
    late = _alert(identifier="c2", msg_type="Cancel", references=ORIGINAL)
    assert (
        tracker.receive(late, NOW).reason
        == "filtered: Cancel of an alert this station does not hold"
    )


def test_an_update_moving_away_cancels_ours() -> None:
    tracker = AlertTracker(US)
    tracker.receive(_alert(), NOW)
    moved = _alert(
        identifier="u2", msg_type="Update", references=ORIGINAL,
        infos=(info(geocodes=(("SAME", "048491"),)),),
    )  # fmt: skip
    decision = tracker.receive(moved, NOW)
    assert decision.action is Action.CANCEL
    assert decision.reason == (
        "cancel: update of cap-pac@canada.ca urn:oid:2.49.0.1.124.1.2026 "
        "(filtered: no area matches 048491)"
    )


def test_expired_and_finished_alerts_leave_the_active_list() -> None:
    tracker = AlertTracker(US)
    first = _alert()
    tracker.receive(first, NOW)
    tracker.finished(first.key)
    assert tracker.active == []
    tracker.receive(_alert(identifier="two"), NOW)
    tracker.receive(_alert(identifier="three"), NOW + timedelta(hours=2))  # "two" expired by now
    assert [a.identifier for a in tracker.active] == []
    tracker.forget_before(NOW + timedelta(days=1))
    assert tracker.receive(first, NOW).action is Action.RELAY  # memory dropped
