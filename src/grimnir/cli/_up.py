"""``grimnir up``: control plane and engines for every registered station."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from grimnir.cli._common import current_settings, ensure_schema, err, fail, out
from grimnir.cli._engine import _harbor_users, _split_address
from grimnir.domain.errors import GrimnirError


def up_command(
    http: Annotated[
        str,
        typer.Option(
            "--http",
            help="HOST:PORT of the first station's stream server (station n gets PORT+n).",
            envvar="GRIMNIR_HTTP",
        ),
    ] = "127.0.0.1:8000",
    grpc_port: Annotated[
        int, typer.Option(help="gRPC port of the first engine (station n gets PORT+n).")
    ] = 9091,
    hours: Annotated[
        float, typer.Option(help="Hours of timeline kept planned ahead.", min=1, max=24 * 14)
    ] = 48.0,
    harbor_user: Annotated[
        list[str] | None,
        typer.Option("--harbor-user", help="NAME:PASSWORD a DJ may connect with (repeatable)."),
    ] = None,
) -> None:
    """Run every registered station: engines, planner and executors, until stopped."""
    from grimnir.store.db import create_engine
    from grimnir.up import ControlPlane, UpOptions

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = current_settings()
    host, port = _split_address(http, 8000, "--http")
    options = UpOptions(
        http_host=host,
        http_port=port,
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
            await plane.start()
            if not plane.slots:
                fail(
                    "no stations are registered yet: add one with "
                    "`grimnir station add --config station.yaml`, then run `grimnir up` again"
                )
            for slot in plane.slots:
                out.print(f"[bold]{slot.station.name}[/] ({slot.station.short_name})", markup=True)
                for url in slot.urls():
                    out.print(f"  listen   {url}")
                out.print(f"  harbor   icecast://{slot.http_address}/live")
                out.print(f"  control  {slot.grpc_address} (gRPC)")
            out.print("stop with Ctrl-C; the engines stop with it")
            await stop.wait()
        finally:
            await plane.stop()
            await db.dispose()

    try:
        asyncio.run(main())
    except GrimnirError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
