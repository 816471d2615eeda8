"""``grimnir up``: control plane, engines, API, UI and streams for every registered station."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from grimnir.cli._common import current_settings, ensure_schema, err, fail, out
from grimnir.cli._engine import _harbor_users, _split_address
from grimnir.domain.errors import GrimnirError
from grimnir.observability.logs import LOG_FORMAT_ENV, configure_logging
from grimnir.observability.tracing import configure_tracing, shutdown_tracing

if TYPE_CHECKING:
    from grimnir.up import ControlPlane


def up_command(
    http: Annotated[
        str,
        typer.Option(
            "--http",
            help="HOST:PORT of the API, the web UI and every station's streams "
            "(/listen/<station>/…).",
            envvar="GRIMNIR_HTTP",
        ),
    ] = "127.0.0.1:8080",
    stream_port: Annotated[
        int | None,
        typer.Option(
            help="Port of the first engine's own stream/harbor server (station n gets PORT+n; "
            "0: any free ports). Not given: 8000+n where free, else a free port.",
            min=0,
            max=65535,
            envvar="GRIMNIR_STREAM_PORT",
            show_default=False,
        ),
    ] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            help="Control engines over TCP on 127.0.0.1:PORT+n instead of the unix socket "
            "engine.sock in each station's folder.",
            min=1,
            max=65535,
            envvar="GRIMNIR_GRPC_PORT",
            show_default=False,
        ),
    ] = None,
    hours: Annotated[
        float, typer.Option(help="Hours of timeline kept planned ahead.", min=1, max=24 * 14)
    ] = 48.0,
    harbor_user: Annotated[
        list[str] | None,
        typer.Option("--harbor-user", help="NAME:PASSWORD a DJ may connect with (repeatable)."),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="First set up the demo station (generated music, station IDs, a clock, "
            "an admin account) if it is not there yet.",
        ),
    ] = False,
    demo_tracks: Annotated[int, typer.Option(hidden=True, min=1, max=200)] = 12,
    demo_seconds: Annotated[float, typer.Option(hidden=True, min=1.0, max=1800.0)] = 150.0,
    log_format: Annotated[
        Literal["human", "json"] | None,
        typer.Option(
            "--log-format",
            help="Log lines for people, or one JSON object per line for a log shipper; "
            "the engines log the same way. Default: the log_format setting (human).",
            envvar=LOG_FORMAT_ENV,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run every registered station: engines, planner, executors and the API, until stopped."""
    from grimnir.store.db import create_engine
    from grimnir.up import ControlPlane, UpOptions

    settings = current_settings()
    fmt = log_format or settings.log_format
    # NOTE: the engines this starts inherit the environment (EngineSpec), and with it
    # the format; the OTEL_* variables reach them the same way.
    os.environ[LOG_FORMAT_ENV] = fmt
    configure_logging(settings.log_level, fmt)
    # NOTE: every proxied listener would log a line at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # NOTE: alembic says "Context impl SQLiteImpl" at every start; the migrations it
    # runs ("Running upgrade …") are still worth their lines.
    logging.getLogger("alembic.runtime.migration").addFilter(
        lambda record: record.getMessage().startswith("Running ")
    )
    host, port = _split_address(http, 8080, "--http")
    options = UpOptions(
        http_host=host,
        http_port=port,
        stream_port=stream_port,
        grpc_port=grpc_port,
        plan_hours=hours,
        harbor_users=_harbor_users(harbor_user or []),
    )

    async def main() -> None:
        db = create_engine(settings.resolved_database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        plane = ControlPlane(settings, db, options)
        try:
            await ensure_schema(db, settings)
            login: tuple[str, str] | None = None
            if demo:
                from grimnir.demo.setup import ensure_demo

                out.print(f"setting up the demo station ({demo_tracks} tracks)…")
                info = await ensure_demo(
                    settings, plane.sessions, tracks=demo_tracks, seconds=demo_seconds
                )
                login = (info.admin_user, info.admin_password)
            await plane.start()
            if not plane.slots:
                fail(
                    "no stations are registered yet: add one with "
                    "`grimnir station add --config station.yaml`, then run `grimnir up` "
                    "again (or try `grimnir up --demo`)"
                )
            silent = await plane.wait_on_air()
            for slot in silent:
                why = plane.engine_problem(slot) or "see the log"
                err.print(
                    f"warning: {slot.station.short_name} is not on air yet: {why}", markup=False
                )
            _print_on_air(plane, login)
            # NOTE: what start-up allocated stays for good; freezing it keeps full
            # garbage collections (50–90 ms) from pausing API answers later.
            gc.collect()
            gc.freeze()
            await stop.wait()
        finally:
            await plane.stop()
            await db.dispose()

    tracing_on = configure_tracing("grimnir")
    try:
        asyncio.run(main())
    except GrimnirError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    finally:
        if tracing_on:
            shutdown_tracing()


def _print_on_air(plane: ControlPlane, login: tuple[str, str] | None) -> None:
    """What a user needs once the stations are on air: where to listen, look and sign in."""
    for slot in plane.slots:
        out.print(f"[bold]{slot.station.name}[/] ({slot.station.short_name})", markup=True)
        for url in plane.listen_urls(slot.station.id):
            out.print(f"  listen   {url}")
        for path in slot.stream_paths():
            out.print(f"  engine   {slot.engine_url(path)} (direct)")
        for url in slot.harbor_urls():
            out.print(f"  harbor   {url}")
        out.print(f"  control  {slot.grpc_address} (gRPC)")
    if plane.http is not None:
        out.print(f"web UI       {plane.http_url}/")
        out.print(f"API docs     {plane.http_url}/api/v1/docs")
    if login is not None:
        user, password = login
        listen = [url for slot in plane.slots for url in plane.listen_urls(slot.station.id)]
        rule = "─" * 60
        out.print(rule)
        out.print("[bold]Grimnir Radio demo is on air[/]", markup=True)
        out.print(f"  listen       {listen[0] if listen else '(no stream configured)'}")
        out.print(f"  web UI       {plane.http_url}/")
        out.print(f"  admin login  {user} / {password}")
        out.print(f"  API docs     {plane.http_url}/api/v1/docs")
        out.print(rule)
    out.print("stop with Ctrl-C; the engines stop with it")
