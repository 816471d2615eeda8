"""The SAME header of 47 CFR §11.31: its fields, its text form and their rules.

``ZCZC-ORG-EEE-PSSCCC-PSSCCC+TTTT-JJJHHMM-LLLLLLLL-`` is what every EAS
decoder reads; a header built here is valid by construction (the dataclass
checks itself), and :meth:`SameHeader.parse` refuses what an ENDEC would
refuse, naming the field that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from grimnir.eas.errors import SameError

#: Originator codes of §11.31(d): Primary Entry Point, civil authorities,
#: National Weather Service, broadcast station or cable system.
ORIGINATORS: frozenset[str] = frozenset({"PEP", "CIV", "WXR", "EAS"})
#: Most location codes one header may carry (§11.31(c)).
MAX_LOCATIONS = 31
#: Longest purge time the four digits can express that §11.31 allows.
MAX_PURGE_MINUTES = 99 * 60 + 30
#: The end-of-message code, sent three times after the message.
EOM_TEXT = "NNNN"

_EVENT = re.compile(r"[A-Z]{3}")
_LOCATION = re.compile(r"[0-9]{6}")
_SENDER_FORBIDDEN = frozenset("-+")
_HEADER = re.compile(
    r"ZCZC-(?P<org>[^-]*)-(?P<event>[^-]*)-(?P<locations>[^+]*)"
    r"\+(?P<purge>[^-]*)-(?P<issued>[^-]*)-(?P<sender>[^-]*)-"
)


def valid_purge_minutes(minutes: int) -> bool:
    """Whether §11.31 allows this purge time: 15-minute steps up to one hour,
    30-minute steps after it (+0015 … +0100, +0130, +0200 …)."""
    if minutes <= 0 or minutes > MAX_PURGE_MINUTES:
        return False
    return minutes % 15 == 0 if minutes <= 60 else minutes % 30 == 0


def round_purge_minutes(minutes: float) -> int:
    """The shortest allowed purge time covering ``minutes`` (rounded up to the next
    step, at least +0015, at most +9930): how a CAP ``expires`` becomes +TTTT."""
    if minutes <= 15:
        return 15
    if minutes <= 60:
        return int(-(-minutes // 15) * 15)
    return int(min(-(-minutes // 30) * 30, MAX_PURGE_MINUTES))


def _check_location(code: str) -> None:
    if not _LOCATION.fullmatch(code):
        raise SameError(
            f"SAME location {code!r}: must be six digits PSSCCC (P subdivision, "
            "SS state FIPS, CCC county FIPS; 000 for a whole state)"
        )


def _check_sender(sender: str) -> None:
    if len(sender) != 8:
        raise SameError(
            f"SAME sender {sender!r}: must be exactly 8 characters (LLLLLLLL, "
            "e.g. 'WXYZ/FM ' padded with spaces)"
        )
    bad = [c for c in sender if not (" " <= c <= "~") or c in _SENDER_FORBIDDEN]
    if bad:
        raise SameError(
            f"SAME sender {sender!r}: {bad[0]!r} is not allowed (printable ASCII "
            "without '-' or '+')"
        )


@dataclass(frozen=True, slots=True)
class SameHeader:
    """One SAME header: who sends what, where, until when.

    ``issued`` is the UTC minute of issue (JJJHHMM carries no year or seconds;
    :meth:`parse` takes the year from ``year`` or the clock).
    """

    originator: str
    event: str
    locations: tuple[str, ...]
    purge_minutes: int
    issued: datetime
    sender: str

    def __post_init__(self) -> None:
        if self.originator not in ORIGINATORS:
            raise SameError(
                f"SAME originator {self.originator!r}: must be one of "
                f"{', '.join(sorted(ORIGINATORS))}"
            )
        if not _EVENT.fullmatch(self.event):
            raise SameError(
                f"SAME event {self.event!r}: must be three capital letters (RWT, TOR, …)"
            )
        if not 1 <= len(self.locations) <= MAX_LOCATIONS:
            raise SameError(
                f"SAME locations: {len(self.locations)} given, a header carries 1 to "
                f"{MAX_LOCATIONS}; split the alert into several headers"
            )
        for code in self.locations:
            _check_location(code)
        if not valid_purge_minutes(self.purge_minutes):
            raise SameError(
                f"SAME purge time {self.purge_minutes} min: §11.31 allows 15-minute "
                "steps up to one hour, then 30-minute steps (+0015 … +0100, +0130, …, +9930)"
            )
        if self.issued.tzinfo is None:
            raise SameError("SAME issue time: must carry a time zone (UTC)")
        _check_sender(self.sender)

    @property
    def purge(self) -> timedelta:
        """How long the alert is valid after :attr:`issued`."""
        return timedelta(minutes=self.purge_minutes)

    @property
    def expires(self) -> datetime:
        """When the alert's purge time runs out."""
        return self.issued_utc + self.purge

    @property
    def issued_utc(self) -> datetime:
        """The issue minute in UTC, seconds dropped as JJJHHMM does."""
        return self.issued.astimezone(UTC).replace(second=0, microsecond=0)

    def __str__(self) -> str:
        at = self.issued_utc
        hours, minutes = divmod(self.purge_minutes, 60)
        return (
            f"ZCZC-{self.originator}-{self.event}-{'-'.join(self.locations)}"
            f"+{hours:02d}{minutes:02d}-{at.timetuple().tm_yday:03d}{at:%H%M}-{self.sender}-"
        )

    @classmethod
    def parse(
        cls, text: str, *, year: int | None = None, now: datetime | None = None
    ) -> SameHeader:
        """Read ``ZCZC-…-`` back into a header; :class:`SameError` names the bad field.

        The year of JJJ is ``year`` when given, else the year that puts the issue
        time nearest to ``now`` (the clock by default), so a header decoded
        just after New Year keeps December's year.
        """
        match = _HEADER.fullmatch(text.strip())
        if match is None:
            raise SameError(
                f"SAME header {text!r}: not of the form "
                "ZCZC-ORG-EEE-PSSCCC-…+TTTT-JJJHHMM-LLLLLLLL-"
            )
        purge = match["purge"]
        if not re.fullmatch(r"[0-9]{4}", purge):
            raise SameError(f"SAME purge time {purge!r}: must be four digits HHMM")
        issued = match["issued"]
        if not re.fullmatch(r"[0-9]{7}", issued):
            raise SameError(f"SAME issue time {issued!r}: must be seven digits JJJHHMM")
        day, hour, minute = int(issued[:3]), int(issued[3:5]), int(issued[5:])
        if not (1 <= day <= 366 and hour <= 23 and minute <= 59):
            raise SameError(f"SAME issue time {issued!r}: day 001–366, hour 00–23, minute 00–59")
        return cls(
            originator=match["org"],
            event=match["event"],
            locations=tuple(match["locations"].split("-")),
            purge_minutes=int(purge[:2]) * 60 + int(purge[2:]),
            issued=_issue_time(day, hour, minute, year, now),
            sender=match["sender"],
        )


def _issue_time(
    day: int, hour: int, minute: int, year: int | None, now: datetime | None
) -> datetime:
    """The datetime of JJJHHMM in ``year``, or in the year nearest ``now``."""

    def at(y: int) -> datetime | None:
        start = datetime(y, 1, 1, hour, minute, tzinfo=UTC)
        moment = start + timedelta(days=day - 1)
        return moment if moment.year == y else None

    if year is not None:
        moment = at(year)
        if moment is None:
            raise SameError(f"SAME issue time: day {day:03d} does not exist in {year}")
        return moment
    reference = (now or datetime.now(UTC)).astimezone(UTC)
    options = [m for y in (reference.year - 1, reference.year, reference.year + 1) if (m := at(y))]
    return min(options, key=lambda m: abs(m - reference))


def same_location_matches(a: str, b: str) -> bool:
    """Whether two PSSCCC codes overlap: ``000000`` is the whole country, county
    ``000`` a whole state, subdivision ``0`` a whole county (§11.31(c))."""
    _check_location(a)
    _check_location(b)
    if a == "000000" or b == "000000":
        return True
    if a[1:3] != b[1:3]:
        return False
    if a[3:] != b[3:] and "000" not in (a[3:], b[3:]):
        return False
    return a[0] == b[0] or "0" in (a[0], b[0]) or "000" in (a[3:], b[3:])
