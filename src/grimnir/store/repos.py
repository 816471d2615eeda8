"""Small async queries the rest of Grimnir uses instead of writing SQL.

Each takes the caller's ``AsyncSession`` and never commits: the caller owns
the transaction. Errors are domain errors (``NotFoundError``,
``ConflictError``) with messages for the person who has to fix the problem.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import ConflictError, NotFoundError
from grimnir.store.errors import conflict
from grimnir.store.models import Mount, Output, Station, User
from grimnir.store.specs import MountSpec, OutputSpec, StationSpec

__all__ = [
    "MountSpec",
    "OutputSpec",
    "StationSpec",
    "allocate_timeline_seq",
    "create_user",
    "get_station",
    "get_user",
    "list_stations",
    "list_users",
    "upsert_station",
]

_LISTED_STATIONS = 20  # how many station names a "not found" message lists


async def _flush(session: AsyncSession, what: str) -> None:
    try:
        await session.flush()
    except IntegrityError as e:
        raise conflict(e, what) from e


# users


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password_hash: str,
    is_admin: bool = False,
    email: str | None = None,
) -> User:
    """Add a user. ``password_hash`` is the hash, never the password itself."""
    taken = await session.scalar(select(User.id).where(User.username == username))
    if taken is not None:
        raise ConflictError(f"a user named {username!r} already exists; choose another username")
    user = User(username=username, password_hash=password_hash, is_admin=is_admin, email=email)
    session.add(user)
    await _flush(session, f"user {username!r}")
    return user


async def get_user(session: AsyncSession, username: str) -> User:
    """The user called ``username``."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    return user


async def list_users(session: AsyncSession) -> Sequence[User]:
    """Every user, by username."""
    return (await session.scalars(select(User).order_by(User.username))).all()


# stations


async def get_station(session: AsyncSession, ref: str) -> Station:
    """The station whose id (a UUID string) or short name is ``ref``."""
    station: Station | None = None
    try:
        station_id = uuid.UUID(ref)
    except ValueError:
        pass
    else:
        station = await session.get(Station, station_id)
    if station is None:
        station = await session.scalar(select(Station).where(Station.short_name == ref))
    if station is None:
        names = (
            await session.scalars(
                select(Station.short_name).order_by(Station.short_name).limit(_LISTED_STATIONS + 1)
            )
        ).all()
        if not names:
            known = "there are no stations yet"
        else:
            known = "stations: " + ", ".join(names[:_LISTED_STATIONS])
            if len(names) > _LISTED_STATIONS:
                known += ", …"
        raise NotFoundError(f"no station with id or short name {ref!r}; {known}")
    return station


async def list_stations(session: AsyncSession) -> Sequence[Station]:
    """Every station, by short name."""
    return (await session.scalars(select(Station).order_by(Station.short_name))).all()


async def upsert_station(session: AsyncSession, spec: StationSpec) -> tuple[Station, bool]:
    """Create the station ``spec`` describes, or update it to match; ``True`` if created.

    Mounts and outputs are made to match the spec exactly (mounts are matched
    by key, so their ids survive an update); everything else the station owns
    (library, playlists, timeline…) is left alone.
    """
    clash = await session.scalar(
        select(Station).where(Station.short_name == spec.short_name, Station.id != spec.id)
    )
    if clash is not None:
        raise ConflictError(
            f"short name {spec.short_name!r} already belongs to station {clash.name!r} "
            f"({clash.id}); give station {spec.id} another short_name"
        )
    station = await session.get(Station, spec.id)
    created = station is None
    if station is None:
        station = Station(id=spec.id, timeline_seq=0)
        session.add(station)
    station.short_name = spec.short_name
    station.name = spec.name
    station.timezone = spec.timezone
    station.description = spec.description
    station.config = dict(spec.config)
    await _sync_mounts(session, station, spec.mounts)
    await _flush(session, f"station {spec.short_name!r}")
    return station, created


async def _sync_mounts(session: AsyncSession, station: Station, specs: list[MountSpec]) -> None:
    # NOTE: awaitable_attrs loads the collection if this session never did
    # (a station made by hand earlier in the same session, say).
    current = {mount.key: mount for mount in await station.awaitable_attrs.mounts}
    mounts: list[Mount] = []
    for spec in specs:
        mount = current.pop(spec.key, None) or Mount(key=spec.key)
        mount.name = spec.name
        await _sync_outputs(session, mount, spec.outputs)
        mounts.append(mount)
    station.mounts = mounts  # mounts left in ``current`` are orphans and get deleted


async def _sync_outputs(session: AsyncSession, mount: Mount, specs: list[OutputSpec]) -> None:
    existing = list(await mount.awaitable_attrs.outputs)
    if [o.position for o in existing] != list(range(len(existing))):
        # NOTE: rewriting positions in place could collide on UNIQUE(mount_id,
        # position) mid-flush; gaps only come from outside edits, so start over.
        mount.outputs = []
        await _flush(session, f"mount {mount.key!r}")
        existing = []
    outputs: list[Output] = []
    for position, spec in enumerate(specs):
        output = existing[position] if position < len(existing) else Output(position=position)
        output.kind = spec.kind
        output.format = spec.format
        output.bitrate_kbps = spec.bitrate_kbps
        output.settings = dict(spec.settings)
        outputs.append(output)
    mount.outputs = outputs


async def allocate_timeline_seq(
    session: AsyncSession, station_id: uuid.UUID, count: int = 1
) -> int:
    """Reserve ``count`` consecutive timeline sequence numbers; returns the first.

    The UPDATE locks the station row until the caller's transaction ends, so
    concurrent planners get disjoint ranges on every database. Numbers start
    at 1; a rolled-back transaction gives its numbers back.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    await session.execute(
        update(Station)
        .where(Station.id == station_id)
        # NOTE: keep updated_at: it tells when the station was edited, and
        # numbering its timeline is not an edit (Core would apply onupdate).
        .values(timeline_seq=Station.timeline_seq + count, updated_at=Station.updated_at)
    )
    last = await session.scalar(select(Station.timeline_seq).where(Station.id == station_id))
    if last is None:
        raise NotFoundError(f"no station with id {station_id}; cannot number its timeline")
    return last - count + 1
