"""The station with its outputs, the people, web streams and smart blocks: each
written through our services in the caller's transaction (one per part)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.config.station import StationConfig, slugify
from grimnir.domain import Role
from grimnir.domain.errors import GrimnirError
from grimnir.importers._mapping import output_config
from grimnir.importers._run import Run
from grimnir.importers.model import SmartBlock as SmartBlockIn
from grimnir.importers.plan import PlanRow
from grimnir.planner.smartblock import SmartBlockSpec
from grimnir.services import accounts, memberships
from grimnir.services.authentication import membership_role
from grimnir.services.programming.blocks import create_block
from grimnir.services.programming.playlists import create_playlist, replace_items
from grimnir.services.stations import find_station, find_station_named, register_station
from grimnir.services.webstreams import add_webstream
from grimnir.store.models import Mount, Playlist, SmartBlock, Webstream

_ROLES = {"admin": Role.ADMIN, "manager": Role.MANAGER, "dj": Role.DJ}


def _mounts(run: Run) -> tuple[list[dict[str, Any]], list[str]]:
    """Our mounts for the outputs the plan creates (one mount each), and their keys."""
    mounts: list[dict[str, Any]] = []
    keys: list[str] = []
    taken: set[str] = set()
    for output in run.snapshot.outputs:
        if run.action("output", output.key) != "create":
            continue
        config, _ = output_config(output, run.plan.short_name)
        if config is None:
            continue
        slug = slugify(output.name) or f"mount-{len(mounts) + 1}"
        while slug in taken:
            slug = f"{slug[:56]}-{len(taken) + 1}"
        taken.add(slug)
        mounts.append({"id": slug, "name": output.name or slug, "outputs": [config]})
        keys.append(output.key)
    if not mounts:
        short = run.plan.short_name
        http = {"type": "http", "path": f"/{short}.mp3", "format": "mp3", "bitrate_kbps": 128}
        mounts.append({"id": "main", "name": "Main", "outputs": [http]})
    return mounts, keys


async def station_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """The station (found, or registered from a config made of theirs) and its outputs."""
    snap, plan, out = run.snapshot, run.plan, []
    if plan.action("station", snap.key) == "exists":
        known = run.ledger.find("station", snap.key)
        station = await find_station(session, known) if known else None
        station = station or await find_station_named(session, plan.short_name)
        if station is None:
            raise RuntimeError(f"station {plan.short_name!r} vanished while importing: run again")
        run.station_id = station.id
        if known is None:
            run.ledger.add(session, "station", snap.key, "stations", station.id, created=False)
        out.append(run.done("station", snap.key, snap.name, "exists", plan.short_name))
        out += [
            run.done("output", o.key, o.name, run.action("output", o.key) or "skip")
            for o in snap.outputs
        ]
        return out
    mounts, keys = _mounts(run)
    config = StationConfig.model_validate(
        {
            "station": {
                "id": str(uuid.uuid4()),
                "name": snap.name,
                "short_name": plan.short_name,
                "timezone": plan.timezone,
                "description": snap.description or "",
            },
            "mounts": mounts,
        }
    )
    station, _ = await register_station(session, config)
    run.station_id = station.id
    run.ledger.add(session, "station", snap.key, "stations", station.id, created=True)
    out.append(run.done("station", snap.key, snap.name, "create", plan.short_name))
    await session.flush()
    found = await session.execute(select(Mount.key, Mount.id).where(Mount.station_id == station.id))
    ids = {slug: mount_id for slug, mount_id in found}
    for output in snap.outputs:
        if output.key in keys:
            slug = mounts[keys.index(output.key)]["id"]
            run.ledger.add(session, "output", output.key, "mounts", ids[slug], created=True)
            out.append(run.done("output", output.key, output.name, "create", f"mount {slug}"))
        else:
            out.append(
                run.done(
                    "output", output.key, output.name, run.action("output", output.key) or "skip"
                )
            )
    return out


async def user_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """Accounts with their password hashes as they were, and their role on the station."""
    out, station_id = [], run.station()
    for user in run.snapshot.users:
        action = run.action("user", user.key)
        if action == "skip":
            out.append(run.done("user", user.key, user.username, "skip"))
            continue
        row_id = run.ledger.find("user", user.key)
        created = False
        if row_id is None:
            found = await accounts.find_user(session, user.username)
            if found is None:
                found = await accounts.import_user(
                    session,
                    username=user.username,
                    password_hash=user.password_hash,
                    is_admin=user.role == "admin",
                    email=user.email,
                    display_name=user.display_name,
                    disabled=user.disabled,
                )
                created = True
            row_id = found.id
            run.ledger.add(session, "user", user.key, "users", row_id, created=created)
        if await membership_role(session, row_id, station_id) is None:
            membership = await memberships.set_role(session, row_id, station_id, _ROLES[user.role])
            run.ledger.add(
                session, "membership", user.key, "memberships", membership.id, created=True
            )
        out.append(
            run.done("user", user.key, user.username, "create" if created else "exists", user.role)
        )
    return out


async def _named(
    session: AsyncSession, model: Any, station_id: uuid.UUID, name: str
) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(model.id).where(model.station_id == station_id, model.name == name)
    )
    return found


async def webstream_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """Web streams (their single URL; our defaults for stall and grace times)."""
    out, station_id = [], run.station()
    for stream in run.snapshot.webstreams:
        if run.ledger.find("webstream", stream.key) is not None:
            out.append(run.done("webstream", stream.key, stream.name, "exists"))
            continue
        twin = await _named(session, Webstream, station_id, stream.name)
        if twin is not None:
            run.ledger.add(session, "webstream", stream.key, "webstreams", twin, created=False)
            out.append(run.done("webstream", stream.key, stream.name, "exists"))
            continue
        row = await add_webstream(
            session,
            station_id,
            name=stream.name,
            urls=[stream.url],
            stall_timeout_ms=5_000,
            grace_ms=2_000,
            pass_metadata=True,
        )
        run.ledger.add(session, "webstream", stream.key, "webstreams", row.id, created=True)
        out.append(run.done("webstream", stream.key, stream.name, "create"))
    return out


async def _static(run: Run, session: AsyncSession, block: SmartBlockIn) -> PlanRow:
    """A static block: a playlist of its tracks in their order."""
    found = [run.ledger.find("media", key) for key in block.contents]
    items: list[tuple[uuid.UUID, dict[str, Any]]] = [(m, {}) for m in found if m is not None]
    row = await create_playlist(
        session,
        run.station(),
        name=block.name,
        description=block.description or "",
        shuffle=False,
        rotation={"type": "default"},
        jingle=False,
    )
    await replace_items(session, row, items)
    run.ledger.add(session, "smart_block", block.key, "playlists", row.id, created=True)
    return run.done("smart_block", block.key, block.name, "create", f"playlist of {len(items)}")


async def block_part(run: Run, session: AsyncSession) -> list[PlanRow]:
    """Smart blocks with the settings the criteria mapper made of theirs (checked by
    the planner before they are stored); static blocks as playlists."""
    out, station_id = [], run.station()
    for block in run.snapshot.smart_blocks:
        action = run.action("smart_block", block.key)
        if action == "skip":
            out.append(run.done("smart_block", block.key, block.name, "skip"))
            continue
        if run.ledger.find("smart_block", block.key) is not None:
            out.append(run.done("smart_block", block.key, block.name, "exists"))
            continue
        model = Playlist if block.static else SmartBlock
        table = "playlists" if block.static else "smart_blocks"
        twin = await _named(session, model, station_id, block.name)
        if twin is not None:
            run.ledger.add(session, "smart_block", block.key, table, twin, created=False)
            out.append(run.done("smart_block", block.key, block.name, "exists"))
            continue
        if block.static:
            out.append(await _static(run, session, block))
            continue
        settings = dict(run.plan.block_settings.get(block.key, {}))
        try:
            SmartBlockSpec.from_rules(
                block.key,
                block.name,
                settings.get("rules") or {},
                target_ms=settings.get("target_duration_ms"),
                tolerance_ms=settings.get("tolerance_ms") or 0,
            )
        except GrimnirError as e:
            reason = f"its rules do not check here ({e}): recreate the block by hand"
            out.append(run.done("smart_block", block.key, block.name, "skip", reason))
            continue
        row = await create_block(
            session,
            station_id,
            {"name": block.name, "description": block.description or "", **settings},
        )
        run.ledger.add(session, "smart_block", block.key, "smart_blocks", row.id, created=True)
        out.append(run.done("smart_block", block.key, block.name, "create"))
    return out
