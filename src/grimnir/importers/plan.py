"""The dry run: what an import of a :class:`Snapshot` would do here, row by row.

:func:`plan` reads the snapshot and the database (never writes): every foreign row
gets an action, ``create`` (it will be made), ``exists`` (an earlier run carried
it over, or a row here has its natural key: the station's short name, a user's
name, the same audio on the station, a name taken) or ``skip`` (it cannot be
mapped; the reason says why and what to do). ``findings`` gathers what the reader
and the mapper know cannot be carried over, or only in part. The real run
(:func:`grimnir.importers.apply.apply`) works from the same plan.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.config.station import slugify
from grimnir.importers._ledger import Known, known_rows
from grimnir.importers._mapping import (
    clock_findings,
    clock_layout,
    general_rotation,
    output_config,
    playlist_findings,
    show_findings,
)
from grimnir.importers.model import Finding, Snapshot
from grimnir.library.ingest import sha256_of
from grimnir.services.accounts import check_new_credentials, find_user, usable_hash
from grimnir.store.models import Clock, MediaItem, Playlist, Show, SmartBlock, Station, Webstream

Action = Literal["create", "exists", "skip"]
PARTS = (
    "station",
    "output",
    "user",
    "media",
    "webstream",
    "smart_block",
    "playlist",
    "schedule",
    "clock",
    "show",
    "webhook",
)
"""Every part, in the order an import writes them."""
DEFAULT_ROTATION_KEY = "general-rotation"
"""The key of the clock made of a station's general-rotation playlists."""


@dataclass(frozen=True)
class PlanRow:
    """One foreign row and what the import does (or did) with it."""

    part: str
    key: str
    name: str
    action: str
    """``create`` ``exists`` ``skip`` in a plan; ``created`` ``exists`` ``skipped``
    ``failed`` in a report."""
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "part": self.part,
            "key": self.key,
            "name": self.name,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass
class ImportPlan:
    """What an import would do: rows by part, findings, and what the run needs."""

    snapshot: Snapshot
    short_name: str
    """The station's short name here."""
    timezone: str
    station_exists: bool
    rows: list[PlanRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    known: dict[tuple[str, str], Known] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    """Media key → the SHA-256 of its file (read once, by the plan)."""
    block_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Smart block key → our block's settings (``rules``, ``target_duration_ms``…)."""

    def action(self, part: str, key: str) -> str | None:
        """The planned action of one row (None: not in the plan)."""
        for row in self.rows:
            if row.part == part and row.key == key:
                return row.action
        return None

    def counts(self) -> dict[str, dict[str, int]]:
        """Per part: how many rows were found and how many get each action."""
        out: dict[str, dict[str, int]] = {}
        for row in self.rows:
            part = out.setdefault(row.part, {"found": 0, "create": 0, "exists": 0, "skip": 0})
            part["found"] += 1
            part[row.action] = part.get(row.action, 0) + 1
        return {p: out[p] for p in PARTS if p in out}

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON-able report."""
        snap = self.snapshot
        return {
            "dry_run": True,
            "product": snap.product,
            "source": snap.source,
            "schema_version": snap.schema_version,
            "station": {
                "short_name": self.short_name,
                "name": snap.name,
                "exists": self.station_exists,
            },
            "counts": self.counts(),
            "rows": [r.to_json() for r in self.rows],
            "findings": [finding_json(f) for f in self.findings],
        }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "part": finding.part,
        "name": finding.name,
        "reason": finding.reason,
        "skipped": finding.skipped,
        "message": str(finding),
    }


def our_short_name(snapshot: Snapshot, short_name: str | None = None) -> str:
    """The station's short name here: the one asked for, else theirs made a slug."""
    return slugify(short_name or snapshot.short_name) or slugify(snapshot.name) or "imported"


class _Planner:
    def __init__(self, snapshot: Snapshot, session: AsyncSession, plan: ImportPlan) -> None:
        self.snap, self.session, self.plan = snapshot, session, plan
        self.station: Station | None = None
        self.noted = {(f.part, f.name) for f in snapshot.findings if f.skipped}

    def row(self, part: str, key: str, name: str, action: Action, detail: str = "") -> None:
        self.plan.rows.append(PlanRow(part, key, name, action, detail))
        if action == "skip" and (part, name) not in self.noted:
            self.plan.findings.append(Finding(part, name, detail))
            self.noted.add((part, name))

    def note(self, findings: list[Finding]) -> None:
        self.plan.findings.extend(findings)

    def known(self, part: str, key: str) -> bool:
        return (part, key) in self.plan.known

    async def named(self, model: Any, name: str) -> bool:
        if self.station is None:
            return False
        found = await self.session.scalar(
            select(model.id).where(model.station_id == self.station.id, model.name == name)
        )
        return found is not None

    async def station_part(self) -> None:
        snap, plan = self.snap, self.plan
        by_record = plan.known.get(("station", snap.key))
        if by_record is not None:
            self.station = await self.session.get(Station, by_record.row_id)
        if self.station is None:
            self.station = await self.session.scalar(
                select(Station).where(Station.short_name == plan.short_name)
            )
        plan.station_exists = self.station is not None
        if self.station is not None:
            plan.timezone = self.station.timezone
            self.row("station", snap.key, snap.name, "exists", f"station {plan.short_name!r}")
        else:
            self.row("station", snap.key, snap.name, "create", f"station {plan.short_name!r}")
        for output in snap.outputs:
            if self.known("output", output.key):
                self.row("output", output.key, output.name, "exists")
            elif self.station is not None:
                self.row(
                    "output",
                    output.key,
                    output.name,
                    "skip",
                    f"station {plan.short_name!r} exists already and keeps its outputs: add "
                    "this one to its config if you want it",
                )
            else:
                _, problem = output_config(output, plan.short_name)
                if problem is None:
                    self.row("output", output.key, output.name, "create")
                else:
                    self.row("output", output.key, output.name, "skip", problem)

    async def user_part(self) -> None:
        for user in self.snap.users:
            name = user.username
            if self.known("user", user.key) or await find_user(self.session, name):
                self.row("user", user.key, name, "exists", "a user of that name is here")
                continue
            try:
                check_new_credentials(name, "x" * 16)
            except Exception as e:
                self.row("user", user.key, name, "skip", f"{e}; create the account by hand")
                continue
            if user.password_hash is None or not usable_hash(user.password_hash):
                self.note(
                    [
                        Finding(
                            "user",
                            name,
                            "no password that can be carried over (the account is made "
                            "without one): an administrator must set one for them "
                            "(PATCH /api/v1/users/{id} with a password)",
                            skipped=False,
                        )
                    ]
                )
            self.row("user", user.key, name, "create", user.role)

    async def media_part(self) -> None:
        seen: dict[str, str] = {}
        for media in self.snap.media:
            name = media.title or media.original_path
            if self.known("media", media.key):
                self.row("media", media.key, name, "exists")
                continue
            if media.file is None or not media.file.is_file():
                self.row("media", media.key, name, "skip", "file missing from the backup")
                continue
            try:
                digest = await asyncio.to_thread(sha256_of, media.file)
            except OSError as e:
                self.row("media", media.key, name, "skip", f"the file cannot be read: {e}")
                continue
            self.plan.sha256[media.key] = digest
            if digest in seen:
                self.row(
                    "media", media.key, name, "exists", f"same audio as media row {seen[digest]!r}"
                )
                continue
            seen[digest] = name
            twin = None
            if self.station is not None:
                twin = await self.session.scalar(
                    select(MediaItem.id).where(
                        MediaItem.station_id == self.station.id, MediaItem.sha256 == digest
                    )
                )
            if twin is not None:
                self.row("media", media.key, name, "exists", f"already in the library ({twin})")
            else:
                self.row("media", media.key, name, "create")

    async def programming_part(self) -> None:
        snap = self.snap
        for stream in snap.webstreams:
            exists = self.known("webstream", stream.key) or await self.named(Webstream, stream.name)
            self.row("webstream", stream.key, stream.name, "exists" if exists else "create")
        await self._blocks()
        for playlist in snap.playlists:
            exists = self.known("playlist", playlist.key) or await self.named(
                Playlist, playlist.name
            )
            self.row("playlist", playlist.key, playlist.name, "exists" if exists else "create")
            self.note(playlist_findings(playlist))
            for schedule in playlist.schedules:
                key = f"{playlist.key}/{schedule.key}"
                exists = self.known("schedule", key)
                self.row("schedule", key, playlist.name, "exists" if exists else "create")
        rotation = general_rotation(snap)
        if rotation:
            names = ", ".join(p.name for p in rotation)
            if self.known("clock", DEFAULT_ROTATION_KEY):
                self.row("clock", DEFAULT_ROTATION_KEY, "default", "exists", names)
            elif await self.named(Clock, "default"):
                self.row(
                    "clock",
                    DEFAULT_ROTATION_KEY,
                    "default",
                    "skip",
                    f"the station has a clock named 'default' already; add {names} to it "
                    "to play the general rotation",
                )
            else:
                # NOTE: what the clock will hold, minute by minute, as the real run makes it
                layout = clock_layout(rotation)
                self.row("clock", DEFAULT_ROTATION_KEY, "default", "create", layout.summary())
                self.note(clock_findings(rotation))
        for show in snap.shows:
            exists = self.known("show", show.key) or await self.named(Show, show.name)
            self.row("show", show.key, show.name, "exists" if exists else "create")
            self.note(show_findings(show, snap, self.plan.timezone))
        for hook in snap.webhooks:
            self.row(
                "webhook",
                hook.key,
                hook.name,
                "skip",
                f"Grimnir has no webhooks: the {hook.kind} webhook"
                + (f" to {hook.url}" if hook.url else "")
                + " is not carried over; follow the station's events on /api/v1/events instead",
            )

    async def _blocks(self) -> None:
        if not self.snap.smart_blocks:
            return
        try:
            from grimnir.importers.criteria import rules_of
        except ImportError:
            for block in self.snap.smart_blocks:
                self.row(
                    "smart_block",
                    block.key,
                    block.name,
                    "skip",
                    "this grimnir cannot translate smart block criteria "
                    "(grimnir.importers.criteria is missing): recreate the block by hand",
                )
            return
        for block in self.snap.smart_blocks:
            model = Playlist if block.static else SmartBlock
            if self.known("smart_block", block.key) or await self.named(model, block.name):
                self.row("smart_block", block.key, block.name, "exists")
                continue
            if block.static:
                self.note(
                    [
                        Finding(
                            "smart_block",
                            block.name,
                            f"a static block: carried over as a playlist of its "
                            f"{len(block.contents)} tracks in their order",
                            skipped=False,
                        )
                    ]
                )
                self.row("smart_block", block.key, block.name, "create", "as a playlist")
                continue
            settings, findings = rules_of(block)
            self.note(findings)
            self.plan.block_settings[block.key] = settings
            self.row("smart_block", block.key, block.name, "create")


async def plan(
    snapshot: Snapshot, session: AsyncSession, *, short_name: str | None = None
) -> ImportPlan:
    """What importing ``snapshot`` would do here (reads only; ``short_name``: the
    station's short name here, by default theirs)."""
    timezone = snapshot.timezone
    findings = list(snapshot.findings)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        findings.append(
            Finding(
                "station",
                snapshot.name,
                f"unknown time zone {timezone!r}: UTC is used; set the right one in the "
                "station's settings",
                skipped=False,
            )
        )
        timezone = "UTC"
    result = ImportPlan(
        snapshot=snapshot,
        short_name=our_short_name(snapshot, short_name),
        timezone=timezone,
        station_exists=False,
        findings=findings,
        known=await known_rows(session, snapshot),
    )
    planner = _Planner(snapshot, session, result)
    await planner.station_part()
    await planner.user_part()
    await planner.media_part()
    await planner.programming_part()
    return result
