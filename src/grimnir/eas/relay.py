"""From a CAP alert to what goes on air: the SAME header and the words to speak."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from grimnir.eas.cap import CapAlert, CapInfo, CapResource
from grimnir.eas.errors import EasError
from grimnir.eas.policy import EasSettings
from grimnir.eas.same import MAX_LOCATIONS, SameHeader, round_purge_minutes, same_location_matches

#: SAME events of the national (Primary Entry Point) system.
NATIONAL_EVENTS = frozenset({"EAN", "NPT", "NIC", "NMN"})
#: CAP-CP's parameter holding the text prepared for broadcast (SOREM layer).
BROADCAST_TEXT = "layer:SOREM:1.0:Broadcast_Text"
#: Languages espeak-ng speaks for us (CAP-CP alerts come in English and French).
SPOKEN_LANGUAGES = ("en", "fr")


def originator_for(alert: CapAlert, info: CapInfo) -> str:
    """SAME originator: PEP for national events, WXR for weather, else CIV."""
    if info.same_event in NATIONAL_EVENTS:
        return "PEP"
    if "Met" in info.categories or "nws" in alert.sender.lower():
        return "WXR"
    return "CIV"


def same_header_for(
    alert: CapAlert, info: CapInfo, settings: EasSettings, originator: str | None = None
) -> SameHeader:
    """The SAME header relaying ``info`` of ``alert`` from this station.

    Locations are the info's SAME geocodes (the station's own first when more
    than 31); purge time is ``expires − sent`` rounded up to a step §11.31
    allows (the station's default without ``expires``); JJJHHMM is ``sent``
    in UTC; the sender is the station's ``sender_id`` padded to 8 characters.
    """
    if info.same_event is None:
        raise EasError(f"alert {alert.identifier}: no SAME event code; cannot build a SAME header")
    codes = list(dict.fromkeys(c for a in info.areas for c in a.same_codes))
    if not codes:
        raise EasError(f"alert {alert.identifier}: no SAME location codes in its areas")
    if len(codes) > MAX_LOCATIONS:
        ours = [
            c for c in codes if any(same_location_matches(c, m) for m in settings.same_locations)
        ]
        codes = (ours + [c for c in codes if c not in ours])[:MAX_LOCATIONS]
    if info.expires is not None:
        minutes = max(0.0, (info.expires - alert.sent).total_seconds() / 60)
        purge = round_purge_minutes(minutes)
    else:
        purge = settings.default_purge_minutes
    return SameHeader(
        originator=originator or originator_for(alert, info),
        event=info.same_event,
        locations=tuple(codes),
        purge_minutes=purge,
        issued=alert.sent.astimezone(UTC),
        sender=settings.sender_id.ljust(8),
    )


@dataclass(frozen=True, slots=True)
class Speech:
    """Text to speak and its language (``en`` / ``fr``)."""

    language: str
    text: str


def _text(info: CapInfo) -> str:
    prepared = [p.value for p in info.parameters if p.name == BROADCAST_TEXT and p.value.strip()]
    if prepared:
        return prepared[0].strip()
    parts = [info.headline, info.description, info.instruction]
    sentences = [" ".join(p.split()) for p in parts if p and p.strip()]
    return " ".join(s if s.endswith((".", "!", "?")) else s + "." for s in sentences)


def speech_for(infos: tuple[CapInfo, ...] | list[CapInfo], settings: EasSettings) -> list[Speech]:
    """What to speak, one entry per language of ``settings.languages`` the alert has,
    in that order (a Canadian station lists ``("en", "fr")`` to air both, as
    the NPAS Common Look and Feel asks).

    Uses CAP-CP's prepared broadcast text when present, else headline,
    description and instruction. With none of the station's languages, the
    first info in a language we speak is used, else the first info in English.
    """
    by_language: dict[str, CapInfo] = {}
    for info in infos:
        by_language.setdefault(info.primary_language, info)
    order = [lang for lang in settings.languages if lang in by_language]
    if not order:
        order = [lang for lang in by_language if lang in SPOKEN_LANGUAGES][:1]
    speeches = [Speech(lang, text) for lang in order if (text := _text(by_language[lang]))]
    if not speeches and infos:
        speeches = [Speech("en", _text(infos[0]) or infos[0].event)]
    return speeches


def audio_resource(info: CapInfo) -> CapResource | None:
    """The alert's own audio (first ``audio/*`` resource), aired instead of speech."""
    for resource in info.resources:
        if resource.mime_type.lower().startswith("audio/") and (resource.uri or resource.deref):
            return resource
    return None
