"""Imports from AzuraCast and LibreTime (administrators): start one (an uploaded
backup or a path on the server; a dry run or the real thing), follow it (progress
events ``import.progress`` on the bus, so on /api/v1/events), read its report,
roll it back.

The work runs in the background: the answer is 202 with the import's id at once.
Dry runs write nothing to the database: their report is kept in memory.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from grimnir.api._body_limit import RouteLimit, mib
from grimnir.api.auth import AdminDep, Principal, context
from grimnir.api.context import ApiContext
from grimnir.api.problems import Problem
from grimnir.api.routes._media_upload import body_limit, receive_file
from grimnir.bus import IMPORT_FINISHED, IMPORT_PROGRESS, Event
from grimnir.domain.errors import GrimnirError, NotFoundError
from grimnir.importers import Snapshot, apply, get_import, list_imports, plan, rollback

router = APIRouter(tags=["imports"])

Admin = Annotated[Principal, Depends(AdminDep)]
_NO_NUL = r"^[^\x00]*$"


def _exists(path: Path, folder: bool = False) -> bool:
    """Whether ``path`` is a file (a folder) on the server; a name the system
    refuses (too long, say) is none."""
    try:
        return path.is_dir() if folder else path.is_file()
    except (OSError, ValueError):
        return False


def _advice(ctx: ApiContext) -> str:
    return (
        f"an uploaded backup may be at most {mib(ctx.max_upload_bytes)}: copy it to the "
        "server and give its path= instead"
    )


BODY_LIMITS = [RouteLimit("POST", "/imports", body_limit, _advice)]
"""An upload takes a backup of up to ``max_upload_bytes``, not just a JSON body."""
Product = Literal["azuracast", "libretime"]


class PartProgress(BaseModel):
    done: int
    total: int


class ImportOut(BaseModel):
    id: uuid.UUID
    state: str
    """``reading``, ``running``, ``done``, ``partial``, ``failed``, ``rolled_back``,
    ``planned`` (a dry run's report is ready)."""
    dry_run: bool
    product: str
    source: str
    error: str | None = None
    report: dict[str, Any] | None = None
    progress: dict[str, PartProgress] = {}
    """Per part while it runs (what ``import.progress`` events said last)."""


class Started(BaseModel):
    id: uuid.UUID
    state: str
    dry_run: bool


@dataclass
class _Job:
    """An import this process runs (or ran, for dry runs)."""

    id: uuid.UUID
    product: str
    source: str
    dry_run: bool
    state: str = "reading"
    error: str | None = None
    report: dict[str, Any] | None = None
    progress: dict[str, PartProgress] = field(default_factory=dict)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def out(self) -> ImportOut:
        return ImportOut(
            id=self.id,
            state=self.state,
            dry_run=self.dry_run,
            product=self.product,
            source=self.source,
            error=self.error,
            report=self.report,
            progress=dict(self.progress),
        )


def _jobs(request: Request) -> dict[uuid.UUID, _Job]:
    jobs: dict[uuid.UUID, _Job] | None = getattr(request.app.state, "import_jobs", None)
    if jobs is None:
        jobs = {}
        request.app.state.import_jobs = jobs
    return jobs


@dataclass(frozen=True)
class _Source:
    """What to read: the backup (or dump), and what goes with it."""

    path: Path
    uploaded: bool
    """The file was uploaded: its folder goes when the job ends."""
    station: str | None = None
    storage: Path | None = None
    config: Path | None = None


def _read(product: str, source: _Source, work: Path) -> Snapshot:
    """The one snapshot to import (a reader's ``BackupError`` says what is wrong)."""
    try:
        reader = importlib.import_module(f"grimnir.importers.{product}")
    except ImportError as e:
        raise GrimnirError(f"this server cannot read {product} backups ({e})") from None
    if product == "libretime":
        if source.storage is None:
            raise GrimnirError("a LibreTime import needs storage=: its storage folder's path")
        snapshot: Snapshot = reader.read_dump(source.path, source.storage, config=source.config)
        return snapshot
    found: list[Snapshot] = reader.read_backup(source.path, work, station=source.station)
    if len(found) != 1:
        names = ", ".join(s.short_name for s in found)
        raise GrimnirError(f"the backup holds the stations {names}: give station= to pick one")
    return found[0]


async def _run(ctx: ApiContext, job: _Job, source: _Source) -> None:
    async def progress(part: str, done: int, total: int) -> None:
        job.progress[part] = PartProgress(done=done, total=total)
        await ctx.bus.publish(
            Event.now(
                IMPORT_PROGRESS, None, import_id=str(job.id), part=part, done=done, total=total
            )
        )

    work = Path(tempfile.mkdtemp(prefix="import-", dir=ctx.settings.data_dir))
    try:
        snapshot = await asyncio.to_thread(_read, job.product, source, work)
        job.source = snapshot.source
        if job.dry_run:
            async with ctx.sessions() as session:
                job.report = (await plan(snapshot, session)).to_json()
            job.state = "planned"
        else:
            job.state = "running"
            report = await apply(
                snapshot,
                ctx.sessions,
                media_dir=ctx.settings.media_dir,
                artwork_dir=ctx.settings.data_dir / "artwork",
                progress=progress,
                import_id=job.id,
            )
            job.report, job.state = report.to_json(), report.state
    except GrimnirError as e:
        job.state, job.error = "failed", str(e)
    except Exception as e:  # NOTE: the job must say it failed, whatever went wrong
        job.state, job.error = "failed", f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if source.uploaded:
            shutil.rmtree(source.path.parent, ignore_errors=True)
        await ctx.bus.publish(
            Event.now(
                IMPORT_FINISHED, None, import_id=str(job.id), state=job.state, error=job.error
            )
        )


@router.post("/imports", response_model=Started, status_code=202)
async def start_import(
    request: Request,
    _: Admin,
    product: Annotated[Product, Query(description="What the backup comes from.")],
    dry_run: Annotated[bool, Query(description="Only report what would be done.")] = False,
    station: Annotated[
        str | None,
        Query(max_length=64, description="AzuraCast: the station of the backup to import."),
    ] = None,
    path: Annotated[
        str | None,
        Query(
            max_length=4096,
            pattern=_NO_NUL,
            description="The backup (or LibreTime dump) on the server, instead of an upload.",
        ),
    ] = None,
    storage: Annotated[
        str | None,
        Query(
            max_length=4096,
            pattern=_NO_NUL,
            description="LibreTime: its storage folder on the server.",
        ),
    ] = None,
    config: Annotated[
        str | None,
        Query(
            max_length=4096, pattern=_NO_NUL, description="LibreTime: its config.yml on the server."
        ),
    ] = None,
) -> Started:
    """Start an import of an uploaded backup (multipart field ``file``) or of ``path``
    on the server; the answer comes at once with its id (follow it with GET
    /api/v1/imports/{id} or the ``import.progress`` events)."""
    ctx = context(request)
    folder = Path(storage) if storage else None
    if folder is not None and not _exists(folder, folder=True):
        raise Problem(
            422,
            f"storage {storage!r} is not a folder on the server: give LibreTime's storage folder",
        )
    settings = Path(config) if config else None
    if settings is not None and not _exists(settings):
        raise Problem(
            422, f"config {config!r} is not a file on the server: give LibreTime's config.yml"
        )
    if path is not None:
        source = Path(path)
        if not _exists(source):
            raise Problem(
                422,
                f"path {path!r} is not a file on the server: give the backup's full path, "
                "or upload it as 'file'",
            )
        upload = False
    elif request.headers.get("content-type", "").startswith("multipart/form-data"):
        # NOTE: a folder of its own, the file under the name it was sent with (the
        # report names the backup by it)
        incoming = ctx.settings.data_dir / "imports" / uuid.uuid4().hex
        incoming.mkdir(parents=True)
        try:
            received = await receive_file(request, incoming, ctx.max_upload_bytes)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        source = incoming / (Path(received.filename or "").name or "backup")
        received.path.rename(source)
        upload = True
    else:
        raise Problem(
            422, "no backup: upload it as multipart field 'file', or give path= of it on the server"
        )
    job = _Job(uuid.uuid4(), product, source.name, dry_run)
    _jobs(request)[job.id] = job
    what = _Source(source, upload, station, folder, settings)
    job.task = asyncio.create_task(_run(ctx, job, what))
    return Started(id=job.id, state=job.state, dry_run=dry_run)


@router.get("/imports", response_model=list[ImportOut])
async def imports(request: Request, _: Admin) -> list[ImportOut]:
    """Every import stored (newest first), after the dry runs and reads in progress."""
    ctx = context(request)
    async with ctx.sessions() as session:
        rows = await list_imports(session)
    stored = {row.id for row in rows}
    out = [job.out() for job in _jobs(request).values() if job.id not in stored]
    for row in rows:
        out.append(
            ImportOut(
                id=row.id,
                state=row.state,
                dry_run=False,
                product=row.product,
                source=row.source,
                report=None,
            )
        )
    return out


@router.get("/imports/{import_id}", response_model=ImportOut)
async def one_import(request: Request, _: Admin, import_id: uuid.UUID) -> ImportOut:
    """An import's state and, once it is done, its report."""
    job = _jobs(request).get(import_id)
    if job is not None and (job.dry_run or job.state == "reading"):
        return job.out()
    async with context(request).sessions() as session:
        try:
            row = await get_import(session, import_id)
        except NotFoundError:
            if job is None:
                raise
            return job.out()  # NOTE: planned, its row not written yet
    return ImportOut(
        id=row.id,
        state=row.state,
        dry_run=False,
        product=row.product,
        source=row.source,
        error=None if job is None else job.error,
        report=row.report or None,
        progress={} if job is None else dict(job.progress),
    )


@router.post("/imports/{import_id}/rollback")
async def rollback_import(request: Request, _: Admin, import_id: uuid.UUID) -> dict[str, Any]:
    """Remove what the import created (409 if it was rolled back already)."""
    job = _jobs(request).get(import_id)
    if job is not None and job.dry_run:
        raise Problem(409, f"import {import_id} was a dry run: it wrote nothing to roll back")
    removed = await rollback(context(request).sessions, import_id)
    return {"id": str(import_id), "state": "rolled_back", "removed": removed}
