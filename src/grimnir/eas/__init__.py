"""Emergency alerts: CAP / CAP-CP in, SAME on air, with the reasons for the log.

* :mod:`~grimnir.eas.same` — the SAME header of 47 CFR §11.31.
* :mod:`~grimnir.eas.encoder` — its audio: bursts, attention signals, EOM, a whole alert.
* :mod:`~grimnir.eas.decoder` — a software SAME decoder (any rate, noise, level steps).
* :mod:`~grimnir.eas.cap` / :mod:`~grimnir.eas.cap_parse` — CAP 1.2 / CAP-CP, parsed safely.
* :mod:`~grimnir.eas.feeds` — ATOM feeds of CAP and the NAAD TCP stream.
* :mod:`~grimnir.eas.policy` / :mod:`~grimnir.eas.relay` — what a station airs and how.
* :mod:`~grimnir.eas.tts` — espeak-ng speech.
* :mod:`~grimnir.eas.sources` — feeds, NAAD stream, SAME monitor, scheduled tests.
"""

from grimnir.eas.cap import (
    CAP_NAMESPACE,
    DEFAULT_MAX_BYTES,
    NAAD_HEARTBEAT_SENDER,
    CapAlert,
    CapArea,
    CapCircle,
    CapInfo,
    CapReference,
    CapResource,
    CapValue,
)
from grimnir.eas.cap_parse import parse_cap
from grimnir.eas.decoder import (
    SameBurst,
    SameDecode,
    SameMessage,
    SameStreamDecoder,
    decode_same,
)
from grimnir.eas.encoder import (
    DEFAULT_PEAK_DBFS,
    AlertAudio,
    alert_programme,
    attention_signal,
    canadian_attention_signal,
    eom_bursts,
    header_bursts,
    same_burst,
)
from grimnir.eas.errors import CapError, EasError, SameError, SpeechError
from grimnir.eas.feeds import FeedEntry, NaadSplitter, naad_archive_paths, parse_cap_feed
from grimnir.eas.policy import Action, AlertTracker, Decision, EasSettings, decide
from grimnir.eas.relay import Speech, audio_resource, originator_for, same_header_for, speech_for
from grimnir.eas.same import (
    SameHeader,
    round_purge_minutes,
    same_location_matches,
    valid_purge_minutes,
)
from grimnir.eas.sources import (
    AlertSource,
    AtomPoller,
    Backoff,
    Deliver,
    NaadClient,
    RmtWindow,
    RwtRunner,
    RwtSchedule,
    SameMonitor,
    SourceHealth,
)
from grimnir.eas.tts import speak

__all__ = [
    "CAP_NAMESPACE",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_PEAK_DBFS",
    "NAAD_HEARTBEAT_SENDER",
    "Action",
    "AlertAudio",
    "AlertSource",
    "AlertTracker",
    "AtomPoller",
    "Backoff",
    "CapAlert",
    "CapArea",
    "CapCircle",
    "CapError",
    "CapInfo",
    "CapReference",
    "CapResource",
    "CapValue",
    "Decision",
    "Deliver",
    "EasError",
    "EasSettings",
    "FeedEntry",
    "NaadClient",
    "NaadSplitter",
    "RmtWindow",
    "RwtRunner",
    "RwtSchedule",
    "SameBurst",
    "SameDecode",
    "SameError",
    "SameHeader",
    "SameMessage",
    "SameMonitor",
    "SameStreamDecoder",
    "SourceHealth",
    "Speech",
    "SpeechError",
    "alert_programme",
    "attention_signal",
    "audio_resource",
    "canadian_attention_signal",
    "decide",
    "decode_same",
    "eom_bursts",
    "header_bursts",
    "naad_archive_paths",
    "originator_for",
    "parse_cap",
    "parse_cap_feed",
    "round_purge_minutes",
    "same_burst",
    "same_header_for",
    "same_location_matches",
    "speak",
    "speech_for",
    "valid_purge_minutes",
]
