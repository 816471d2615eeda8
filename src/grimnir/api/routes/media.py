"""A station's media library: upload, search, edit tags, delete, preview.

Uploads are checked by content (FFmpeg must find audio in them; the name and
the declared type do not count), stored once in the library's content store
under ``<data dir>/media`` and analysed in a worker process (a file that
crashes a decoder costs that worker, never the API). An upload is kept only
when its analysis makes it ready to air (damage it plays through, such as a
file cut short, comes back as warnings); any other file is refused and
leaves nothing behind: 415 when it holds no audio that decodes, 422 when its
audio cannot go on air (silent, too corrupt, too long). Tag and cue point edits
are written to the database only: the database is what the planner and the
engine read, and the stored file stays byte-identical to its ``sha256``. New
cue points rebuild the station's timeline from now, so what is planned from
the rebuild lock (two minutes ahead) on plays them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.api._body_limit import RouteLimit
from grimnir.api.audit import audit
from grimnir.api.auth import DjDep, ManagerDep, StationScope, context
from grimnir.api.context import ApiContext
from grimnir.api.pages import Page, PageParams, page_params
from grimnir.api.problems import PROBLEM_JSON, Problem, ProblemBody
from grimnir.api.routes._media_models import (
    MediaBulkOut,
    MediaBulkPatch,
    MediaOut,
    MediaPatch,
    MediaUploaded,
    ReanalyzeBody,
    ReanalyzeOut,
    WaveformOut,
    waveform_out,
)
from grimnir.api.routes._media_upload import (
    UPLOAD_BODY,
    body_advice,
    body_limit,
    receive_file,
    remove,
)
from grimnir.api.routes.timeline import rebuild
from grimnir.domain import ConflictError, LibraryError, MediaState, NotFoundError, PlannerError
from grimnir.library import queries
from grimnir.library.analysis import AnalysisOptions, probe_audio
from grimnir.library.ingest import Outcome, discard_item, ingest_file, reanalyze
from grimnir.library.pool import AnalysisPool
from grimnir.library.storage import LocalStorage
from grimnir.services import library
from grimnir.store.models import MediaItem, Station

log = logging.getLogger("grimnir.api")

router = APIRouter(tags=["media"])

MEDIA = "/stations/{station}/media"
ITEM = MEDIA + "/{media_id}"
_PROBE_TIMEOUT_S = 30.0
_ANALYSIS_TIMEOUT_S = 300.0
_DEFAULT_TARGET_LUFS = -16.0
_FORMAT_EXT = {"mp3": "mp3", "mp4": "m4a", "aac": "aac", "ogg": "ogg", "flac": "flac"}
_FORMAT_EXT |= {"wav": "wav", "matroska": "mka", "aiff": "aiff", "asf": "wma"}
_MIME = {"mp3": "audio/mpeg", "mp4": "audio/mp4", "aac": "audio/aac", "ogg": "audio/ogg"}
_MIME |= {"flac": "audio/flac", "wav": "audio/wav", "matroska": "audio/x-matroska"}
_NO_NUL = r"^[^\x00]*$"

Text = Annotated[str | None, Query(min_length=1, max_length=255, pattern=_NO_NUL)]

BODY_LIMITS = [RouteLimit("POST", MEDIA, body_limit, body_advice)]
"""The upload takes a file of up to ``max_upload_bytes``, not just a JSON body."""


def _store(ctx: ApiContext) -> LocalStorage:
    """The library's content store: ``<media dir>/ab/cd/<sha256>.<ext>``, each file once."""
    return LocalStorage(ctx.settings.media_dir, "content")


def _options(station: Station) -> AnalysisOptions:
    graph = (station.config or {}).get("dsp_graph") or {}
    for node in graph.get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == "loudness_normalize":
            target = node.get("target_lufs")
            if isinstance(target, int | float) and -70.0 < target < 0.0:
                return AnalysisOptions(target_lufs=float(target))
    return AnalysisOptions(target_lufs=_DEFAULT_TARGET_LUFS)


def _not_audio(label: str, reason: str | None) -> Problem:
    return Problem(
        415,
        f"{label} is not audio that can go on air ({reason}); nothing was stored: upload an "
        "MP3, AAC/M4A, Ogg Vorbis, Opus, FLAC or WAV file that plays",
    )


def _not_kept(label: str, reason: str | None) -> Problem:
    return Problem(
        422,
        f"{label} cannot go on air, so it was not added (nothing was stored): {reason}",
    )


def _duplicate(twin: MediaItem) -> Problem:
    name = " – ".join(x for x in (twin.artist, twin.title) if x) or Path(twin.path).name
    return Problem(
        409,
        f"this station already has this audio: media item {twin.id} ({name}, "
        f"{twin.state.value}); use that item, or delete it first to upload again",
    )


async def _item(session: AsyncSession, scope: StationScope, media_id: uuid.UUID) -> MediaItem:
    try:
        return await queries.get_media(session, media_id, scope.station.id)
    except NotFoundError:
        raise Problem(
            404,
            f"station {scope.station.short_name!r} has no media item {media_id}: "
            f"see GET /api/v1/stations/{scope.station.short_name}/media",
        ) from None


async def _unreferenced(ctx: ApiContext, path: str) -> bool:
    async with ctx.sessions() as session:
        return not await library.path_in_use(session, path)


@router.post(
    MEDIA,
    response_model=MediaUploaded,
    status_code=201,
    openapi_extra=UPLOAD_BODY,
    responses={
        413: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}, "description": "Too big."},
        415: {
            "model": ProblemBody,
            "content": {PROBLEM_JSON: {}},
            "description": "No audio that decodes (nothing is stored).",
        },
        422: {
            "model": ProblemBody,
            "content": {PROBLEM_JSON: {}},
            "description": "Empty, or audio that cannot go on air (nothing is stored).",
        },
    },
)
async def upload_media(
    request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> MediaUploaded:
    """Upload an audio file (multipart field ``file``): it is checked, stored and
    analysed before the answer. A file that is kept is ``ready``, with
    ``warnings`` for damage it plays through (a file cut short plays what
    decodes); one that cannot go on air is refused with the reason and
    nothing is stored: 415 for no audio that decodes, 422 for audio the
    analysis refuses. The same audio twice on a station is refused (409)
    with the existing item."""
    ctx = context(request)
    store = _store(ctx)
    received = await receive_file(request, store.root / ".incoming", ctx.max_upload_bytes)
    label = received.filename or "the uploaded file"
    try:
        async with ctx.sessions() as session:
            twin = await queries.find_by_sha256(session, scope.station.id, received.sha256)
            if twin is not None:
                raise _duplicate(twin)
        async with AnalysisPool(workers=1, timeout_s=_ANALYSIS_TIMEOUT_S) as pool:
            try:
                info = await pool.call(
                    probe_audio, str(received.path), timeout_s=_PROBE_TIMEOUT_S, label=label
                )
            except LibraryError as exc:
                raise _not_audio(label, str(exc)) from None
            ext = _FORMAT_EXT.get(info.format, "bin")
            stored = await asyncio.to_thread(
                store.put, received.path, f"upload.{ext}", str(scope.station.id)
            )
            result = await ingest_file(
                ctx.sessions,
                scope.station.id,
                stored.path,
                pool=pool,
                options=_options(scope.station),
                artwork_dir=ctx.settings.data_dir / "artwork",
                named=received.filename,
            )
    finally:
        await asyncio.to_thread(remove, received.path)
    dropped = result.outcome is Outcome.ADDED and result.state is MediaState.FAILED
    if dropped and result.item_id is not None:
        # NOTE: a failed item would only sit in the library (it never airs)
        # and turn the upload of the mended file into a 409.
        await discard_item(ctx.sessions, result.item_id)
    unused = result.item_id is None or dropped or result.outcome is Outcome.DUPLICATE
    # NOTE: a twin found only now (a concurrent upload, a scanned copy) keeps
    # its own file; ours goes unless an item of another station uses it.
    if unused and await _unreferenced(ctx, str(stored.path)):
        await asyncio.to_thread(stored.path.unlink, missing_ok=True)
    if result.outcome is Outcome.REFUSED:
        raise _not_audio(label, result.reason)
    if dropped:
        raise _not_kept(label, result.reason)
    if result.item_id is None:
        raise Problem(422, f"{label} could not be added: {result.reason}")
    async with ctx.sessions() as session:
        if result.outcome in (Outcome.DUPLICATE, Outcome.SKIPPED) or result.failed:
            raise _duplicate(await _item(session, scope, result.item_id))
        item = await _item(session, scope, result.item_id)
        audit(
            session,
            request,
            scope,
            "media.upload",
            str(item.id),
            file=received.filename,
            size=received.size,
            state=item.state.value,
        )
        await session.commit()
        out = MediaOut.of(item)
    return MediaUploaded(**out.model_dump(), warnings=result.warnings)


@router.get(MEDIA, response_model=Page[MediaOut])
async def list_media(
    request: Request,
    scope: Annotated[StationScope, Depends(DjDep)],
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            pattern=_NO_NUL,
            description="Text anywhere in title, artist or album (case-insensitive).",
        ),
    ] = None,
    artist: Text = None,
    album: Text = None,
    genre: Text = None,
    state: Annotated[MediaState | None, Query(description="Only items in this state.")] = None,
    ready_only: Annotated[bool, Query(description="Only items that can go on air.")] = False,
    rules: Annotated[
        str | None,
        Query(
            max_length=8000,
            description="Smart-block rules as JSON, what a block's filter holds: "
            '{"groups": [[{"field": "year", "modifier": "between", "value": [1960, 1969]}]]} '
            "(rules ORed in a group, groups ANDed): every field and modifier a block takes.",
        ),
    ] = None,
    sort: queries.SortKey = "artist",
    order: Literal["asc", "desc"] = "asc",
) -> Page[MediaOut]:
    """Search the station's library; ``artist``, ``album`` and ``genre`` match the
    whole value, case-insensitively in every script (``ÉTÉ`` finds ``été``);
    ``rules`` select as a smart block's filter would."""
    states: tuple[MediaState, ...] = ()
    if ready_only:
        if state not in (None, MediaState.READY):
            raise Problem(422, f"state={state} contradicts ready_only=true: drop one of the two")
        states = (MediaState.READY,)
    elif state is not None:
        states = (state,)
    clause = None
    if rules:
        try:
            clause = library.rules_clause(rules, datetime.now(UTC))
        except LibraryError as exc:
            raise Problem(422, str(exc)) from None
    where = queries.MediaFilter(q, artist, album, genre, states, clause)
    async with context(request).sessions() as session:
        rows, total = await queries.search_media(
            session,
            scope.station.id,
            where,
            sort=sort,
            descending=order == "desc",
            limit=page.limit,
            offset=page.offset,
        )
        items = [MediaOut.of(item) for item in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.patch(
    MEDIA,
    response_model=MediaBulkOut,
    responses={
        404: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}, "description": "Unknown ids."},
        422: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}, "description": "Bad changes."},
    },
)
async def edit_many(
    body: MediaBulkPatch, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> MediaBulkOut:
    """Set the same tags on several items (the library's bulk edit): every item
    or, when one id is not the station's, none. Cue points are set per item."""
    changes = body.changes.changes()
    async with context(request).sessions() as session:
        try:
            items = await library.update_many(session, scope.station.id, body.ids, changes)
        except NotFoundError as exc:
            raise Problem(404, str(exc)) from None
        audit(
            session,
            request,
            scope,
            "media.update_many",
            ",".join(str(i) for i in body.ids[:20]),
            fields=sorted(changes),
            count=len(items),
        )
        out = [MediaOut.of(item) for item in items]
        await session.commit()
    return MediaBulkOut(updated=len(out), items=out)


@router.post(
    MEDIA + "/reanalyze",
    response_model=ReanalyzeOut,
    responses={
        404: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}, "description": "Unknown ids."}
    },
)
async def reanalyze_media(
    body: ReanalyzeBody, request: Request, scope: Annotated[StationScope, Depends(ManagerDep)]
) -> ReanalyzeOut:
    """Analyse items again (after a file was replaced or mended, or to retry a
    failed one) and answer when done: each is then ready, or failed with the
    reason. Tags stay; loudness, cue points (hand-set ones too) and the waveform
    are measured anew."""
    ctx = context(request)
    ids = list(dict.fromkeys(body.ids))
    async with ctx.sessions() as session:
        try:
            await library.station_items(session, scope.station.id, ids)
        except NotFoundError as exc:
            raise Problem(404, str(exc)) from None
    async with AnalysisPool(workers=min(2, len(ids)), timeout_s=_ANALYSIS_TIMEOUT_S) as pool:
        report = await reanalyze(
            ctx.sessions, scope.station.id, pool=pool, options=_options(scope.station), ids=ids
        )
    async with ctx.sessions() as session:
        items = await library.station_items(session, scope.station.id, ids)
        audit(
            session,
            request,
            scope,
            "media.reanalyze",
            ",".join(str(i) for i in ids),
            ready=report.ready,
            failed=report.failed,
        )
        await session.commit()
        out = [MediaOut.of(item) for item in items]
    return ReanalyzeOut(
        ready=sum(i.state is MediaState.READY for i in out),
        failed=sum(i.state is MediaState.FAILED for i in out),
        items=out,
    )


@router.get(ITEM, response_model=MediaOut)
async def get_media(
    media_id: uuid.UUID, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> MediaOut:
    """One media item with its tags and analysis."""
    async with context(request).sessions() as session:
        return MediaOut.of(await _item(session, scope, media_id))


@router.patch(
    ITEM,
    response_model=MediaOut,
    responses={
        409: {
            "model": ProblemBody,
            "content": {PROBLEM_JSON: {}},
            "description": "Cue points for an item that is not ready (nothing is changed).",
        },
        422: {
            "model": ProblemBody,
            "content": {PROBLEM_JSON: {}},
            "description": "Invalid fields, or cue points that do not fit the item.",
        },
    },
)
async def edit_media(
    media_id: uuid.UUID,
    body: MediaPatch,
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
) -> MediaOut:
    """Change tags and cue points: send only the fields to change (``null`` clears
    one). The database is changed, not the file; the planner sees the new tags at
    once. Cue points (ready items only, checked with the stored ones against the
    duration) that change rebuild the timeline from now, as ``POST
    …/timeline/rebuild`` does: entries from two minutes ahead on play them; the
    item on air and those about to start keep the old ones."""
    changes, cues = body.changes(), body.cue_points()
    async with context(request).sessions() as session:
        item = await _item(session, scope, media_id)
        try:
            moved = await library.set_cue_points(session, item, cues)
        except ConflictError as exc:
            raise Problem(409, str(exc)) from None
        except library.CuePointError as exc:
            errors = [{"loc": ["body", field], "msg": msg} for field, msg in exc.problems]
            raise Problem(422, str(exc), errors=errors) from None
        item = await library.update_tags(session, item, changes)
        details: dict[str, Any] = {"fields": sorted([*changes, *cues])}
        if moved:
            details["cues"] = {name: getattr(item, name) for name in library.CUE_FIELDS}
        audit(session, request, scope, "media.update", str(item.id), **details)
        await session.commit()
        out = MediaOut.of(item)
    if moved:
        now = datetime.now(UTC)
        try:
            await rebuild(request, scope, now, now=now, media=str(media_id))
        except PlannerError as exc:
            # NOTE: the cue points are stored; the rolling planner plans with them once
            # the station's rules plan again (a rebuild answers this error too)
            log.warning("cue points of %s stored, timeline not rebuilt: %s", media_id, exc)
    return out


@router.delete(ITEM, status_code=204)
async def delete_media(
    media_id: uuid.UUID,
    request: Request,
    scope: Annotated[StationScope, Depends(ManagerDep)],
    force: Annotated[
        bool, Query(description="Delete even if the timeline still plans to air it.")
    ] = False,
) -> Response:
    """Delete an item and, when the library's store holds its file and no other
    item uses it, the file. Files scanned in place (outside the store) stay on disk.

    An item the timeline still plans to air is refused (409) unless
    ``force=true``: then those entries lose their file and are skipped on air
    (rebuild the timeline to fill the gap); the as-run history keeps its titles.
    """
    ctx = context(request)
    async with ctx.sessions() as session:
        item = await _item(session, scope, media_id)
        path, target = item.path, str(item.id)
        try:
            upcoming = await library.delete_item(session, item, force=force)
        except ConflictError as exc:
            raise Problem(409, str(exc)) from None
        audit(session, request, scope, "media.delete", target, path=path, planned=upcoming)
        await session.commit()
    file = Path(path)
    if file.is_relative_to(_store(ctx).root) and await _unreferenced(ctx, path):
        await asyncio.to_thread(file.unlink, missing_ok=True)
    return Response(status_code=204)


@router.get(ITEM + "/waveform", response_model=WaveformOut)
async def get_waveform(
    media_id: uuid.UUID, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> WaveformOut:
    """The item's waveform: (min, max) of the mono mix per step, full scale ±127."""
    async with context(request).sessions() as session:
        item = await _item(session, scope, media_id)
        if not item.waveform or not item.duration_ms:
            raise Problem(
                404,
                f"media item {media_id} has no waveform yet ({item.state.value}): it is made "
                "when the analysis succeeds",
            )
        return waveform_out(bytes(item.waveform), item.duration_ms)


@router.get(
    ITEM + "/audio",
    status_code=200,
    response_class=FileResponse,
    responses={200: {"content": {"audio/mpeg": {}}, "description": "The audio file."}},
)
async def get_audio(
    media_id: uuid.UUID, request: Request, scope: Annotated[StationScope, Depends(DjDep)]
) -> FileResponse:
    """The item's audio file, for previews (HTTP ranges work, so players can seek)."""
    async with context(request).sessions() as session:
        item = await _item(session, scope, media_id)
        path, fmt = Path(item.path), item.format or ""
    if not await asyncio.to_thread(path.is_file):
        raise Problem(
            404,
            f"the file of media item {media_id} is missing from disk ({path.name}): "
            "restore it and rescan, or delete the item",
        )
    return FileResponse(path, media_type=_MIME.get(fmt, "application/octet-stream"))
