"""Alerts that do not arrive as CAP — a SAME header heard on a monitor, an alert
(or the weekly test) a manager originates — become a :class:`CapAlert`, so one
policy, one tracker and one log serve every source; and the SAME header a
relayed alert goes on air with."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

from grimnir.eas import (
    Action,
    CapAlert,
    CapArea,
    CapInfo,
    CapValue,
    Decision,
    EasError,
    EasSettings,
    SameHeader,
    round_purge_minutes,
    same_header_for,
)

log = logging.getLogger("grimnir.services.alerts")

#: SAME originators, as CAP categories for the policy (weather goes to WXR).
_CATEGORY = {"WXR": "Met", "PEP": "Safety", "CIV": "Safety", "EAS": "Other"}


def alert_of_header(header: SameHeader, settings: EasSettings) -> CapAlert:
    """A SAME header heard on a monitor as a CAP alert for the policy.

    The header's text is kept in ``note`` (the relay repeats it with this
    station's sender code); severity, urgency and certainty are unknown to
    SAME, so a station that sets minimums filters monitor alerts.
    """
    text = str(header)
    return CapAlert(
        identifier="SAME-" + hashlib.sha256(text.encode()).hexdigest()[:16],
        sender=f"{header.sender.strip()}@same",
        sent=header.issued_utc,
        status="Actual",
        msg_type="Alert",
        scope="Public",
        note=text,
        infos=(
            CapInfo(
                categories=(_CATEGORY.get(header.originator, "Other"),),
                event=header.event,
                urgency="Unknown",
                severity="Unknown",
                certainty="Unknown",
                language=f"{settings.languages[0]}-US",
                event_codes=(CapValue("SAME", header.event),),
                expires=header.expires,
                headline=f"SAME {header.event} alert relayed from {header.sender.strip()}",
                areas=(
                    CapArea(
                        "SAME locations",
                        geocodes=tuple(CapValue("SAME", code) for code in header.locations),
                    ),
                ),
            ),
        ),
        raw=text.encode("ascii"),
    )


def originated_alert(
    *,
    station: str,
    event: str,
    locations: list[str],
    minutes: int,
    text: str,
    language: str,
    by: str,
    test: bool,
    now: datetime | None = None,
) -> CapAlert:
    """The alert a manager sends from the API (``test``: the Required Weekly Test).

    ``raw`` is the request as JSON, for the log; the purge time is rounded up
    to a step §11.31 allows.
    """
    sent = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    purge = round_purge_minutes(minutes)
    request = {
        "event": event,
        "locations": locations,
        "minutes": minutes,
        "text": text,
        "language": language,
        "test": test,
        "by": by,
    }
    identifier = (
        "grimnir-"
        + hashlib.sha256(
            json.dumps([station, sent.isoformat(), request], sort_keys=True).encode()
        ).hexdigest()[:20]
    )
    headline = "This is a test of the Emergency Alert System." if test else text.split(".")[0]
    return CapAlert(
        identifier=identifier,
        sender=f"{station}@grimnir",
        sent=sent,
        status="Actual",
        msg_type="Alert",
        scope="Public",
        infos=(
            CapInfo(
                categories=("Other",) if test else ("Safety",),
                event="Required Weekly Test" if test else event,
                urgency="Immediate",
                severity="Minor" if test else "Extreme",
                certainty="Observed",
                language=language,
                event_codes=(CapValue("SAME", event),),
                expires=sent + timedelta(minutes=purge),
                headline=headline[:200],
                description=text or headline,
                areas=(
                    CapArea("Originated", geocodes=tuple(CapValue("SAME", c) for c in locations)),
                ),
            ),
        ),
        raw=json.dumps(request, sort_keys=True).encode(),
    )


def relay_header(
    alert: CapAlert, decision: Decision, settings: EasSettings, source: str
) -> SameHeader | None:
    """The SAME header this station airs for a relayed alert (``None``: none to air).

    A header heard on a monitor is repeated with this station's sender code;
    alerts a manager originates are sent as ``EAS`` (a broadcast station).
    """
    if decision.action is not Action.RELAY or settings.country == "CA":
        return None
    originator = "EAS" if source in ("originated", "test") else None
    header_text = alert.note if source == "same-monitor" else None
    if header_text:
        heard = SameHeader.parse(header_text, now=alert.sent)
        return SameHeader(
            heard.originator,
            heard.event,
            heard.locations,
            heard.purge_minutes,
            heard.issued,
            settings.sender_id.ljust(8),
        )
    try:
        return same_header_for(alert, decision.infos[0], settings, originator)
    except EasError as error:
        log.warning("alert %s: %s", alert.identifier, error)
        return None
