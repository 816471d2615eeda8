"""Admin commands: version, config, db, user, station."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from grimnir import __version__
from grimnir.cli._common import (
    JsonOpt,
    current_settings,
    fail,
    out,
    print_json,
    run_db,
    warn,
    with_session,
)
from grimnir.config.station import StationConfig, check_station_file
from grimnir.domain.errors import ConfigError, StoreError
from grimnir.domain.urls import mask_url

config_app = typer.Typer(help="Check station config files and show settings.", no_args_is_help=True)
db_app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
station_app = typer.Typer(help="Register and list stations.", no_args_is_help=True)


# -- version / config --------------------------------------------------------


def version(as_json: JsonOpt = False) -> None:
    """Print the version of grimnir."""
    if as_json:
        print_json({"version": __version__})
    else:
        out.print(f"grimnir {__version__}")


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Station config file (YAML).")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a station config file; every problem is printed with its line.

    Paths are checked too: output folders must be creatable and writable,
    inputs readable (one that does not exist yet is a warning).
    """
    try:
        checked = check_station_file(file)
    except ConfigError as exc:
        if as_json:
            print_json({"ok": False, "file": str(file), "problems": exc.problems})
            raise typer.Exit(1) from None
        fail(str(exc.args[0]), exc.problems)
    config = checked.config
    warnings = [*checked.warnings, *_advice(file, config)]
    summary = {
        "ok": True,
        "file": str(file),
        "station": config.station.name,
        "short_name": config.station.resolved_short_name,
        "timezone": config.station.timezone,
        "mounts": len(config.mounts),
        "outputs": sum(len(m.outputs) for m in config.mounts),
        "dsp_nodes": len(config.dsp_graph.nodes),
        "warnings": warnings,
    }
    if as_json:
        print_json(summary)
        return
    warn(warnings)
    out.print(
        f"{file}: OK — {summary['station']} ({summary['short_name']}, {summary['timezone']}), "
        f"{summary['mounts']} mount(s), {summary['outputs']} output(s), "
        f"{summary['dsp_nodes']} DSP node(s)"
    )


def _advice(file: Path, config: StationConfig) -> list[str]:
    """Warnings about what the station will do, beyond what is wrong in the file."""
    failover = config.failover
    if failover.fallback_paths or failover.emergency_audio_path:
        return []
    return [
        f"{file}: failover: no fallback audio — set failover.fallback_paths (files or "
        "folders the engine loops when it has nothing else to play) or "
        "failover.emergency_audio_path; without either, a station whose control plane is "
        "down and whose queue has run dry goes silent"
    ]


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """Print the settings in force (passwords masked)."""
    shown = current_settings().display()
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        out.print(f"{key:15} {value}")


# -- db ------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create the database schema or migrate it forward."""
    from grimnir.store import migrate

    settings = current_settings()

    async def work(engine: AsyncEngine) -> tuple[str | None, str | None]:
        before = await migrate.current_revision(engine)
        await migrate.upgrade(engine, revision)
        return before, await migrate.current_revision(engine)

    before, after = run_db(settings, work)
    url = mask_url(settings.resolved_database_url)
    if before == after:
        out.print(f"{url}: already at {after}")
    else:
        out.print(f"{url}: upgraded {before or 'empty'} → {after}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision: -1 (one step, default) or base (drop all).")
    ] = "-1",
) -> None:
    """Migrate the database schema back (``base`` removes every table)."""
    from grimnir.store import migrate

    settings = current_settings()

    async def work(engine: AsyncEngine) -> tuple[str | None, str | None]:
        before = await migrate.current_revision(engine)
        if before is None:
            raise StoreError("the database has no schema to downgrade")
        await migrate.downgrade(engine, revision)
        return before, await migrate.current_revision(engine)

    before, after = run_db(settings, work)
    out.print(
        f"{mask_url(settings.resolved_database_url)}: downgraded {before} → {after or 'base'}"
    )


@db_app.command("current")
def db_current(as_json: JsonOpt = False) -> None:
    """Show the database's schema revision and the one this grimnir needs."""
    from grimnir.store import migrate

    settings = current_settings()
    current = run_db(settings, migrate.current_revision)
    head = migrate.head_revision()
    if as_json:
        print_json({"current": current, "head": head, "up_to_date": current == head})
        return
    state = "up to date" if current == head else "run `grimnir db upgrade`"
    out.print(f"current {current or 'none'}, head {head}: {state}")


# -- users ---------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        fail("no terminal to ask for a password: pipe it in with --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give full rights everywhere.")] = False,
    email: Annotated[str | None, typer.Option(help="Contact address.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user account (asks for the password)."""
    from grimnir.services.accounts import check_new_credentials, create_user

    password = _read_password(password_stdin)
    try:
        check_new_credentials(username, password)
    except ConfigError as exc:
        fail(str(exc))
    settings = current_settings()

    async def work(session: AsyncSession) -> None:
        await create_user(
            session, username=username, password=password, is_admin=admin, email=email
        )

    with_session(settings, work)
    out.print(f"created {'admin ' if admin else ''}user {username}")


@user_app.command("list")
def user_list(as_json: JsonOpt = False) -> None:
    """List user accounts."""
    from grimnir.services import accounts

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [
            {
                "id": str(u.id),
                "username": u.username,
                "email": u.email,
                "admin": u.is_admin,
                "disabled": u.disabled,
                "created_at": u.created_at.isoformat(),
            }
            for u in await accounts.list_users(session)
        ]

    rows = with_session(current_settings(), work)
    if as_json:
        print_json(rows)
        return
    table = Table("username", "admin", "email", "created (UTC)")
    for row in rows:
        table.add_row(
            row["username"],
            "yes" if row["admin"] else "",
            row["email"] or "",
            row["created_at"][:19],
        )
    out.print(table)


# -- stations ------------------------------------------------------------------


def _station_row(station: Any) -> dict[str, Any]:
    return {
        "id": str(station.id),
        "short_name": station.short_name,
        "name": station.name,
        "timezone": station.timezone,
        "mounts": [
            {
                "id": mount.key,
                "name": mount.name,
                "outputs": [
                    {
                        "type": o.kind.value,
                        "format": o.format.value,
                        "bitrate_kbps": o.bitrate_kbps,
                        **_masked_settings(o.settings),
                    }
                    for o in mount.outputs
                ],
            }
            for mount in station.mounts
        ],
        "created_at": station.created_at.isoformat(),
        "updated_at": station.updated_at.isoformat(),
    }


def _masked_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_url(v) if k == "url" and isinstance(v, str) else v for k, v in settings.items()}


@station_app.command("add")
def station_add(
    config: Annotated[Path, typer.Option("--config", "-c", help="Station config file (YAML).")],
    as_json: JsonOpt = False,
) -> None:
    """Register a station from its config file, or update it if it exists."""
    from grimnir.services import stations

    try:
        checked = check_station_file(config)
    except ConfigError as exc:
        fail(str(exc.args[0]), exc.problems)
    # NOTE: stored with absolute paths, so `grimnir up` needs nothing but the database.
    station_config = checked.config
    warn(checked.warnings)

    async def work(session: AsyncSession) -> tuple[dict[str, Any], bool]:
        station, created = await stations.register_station(session, station_config)
        fresh = await stations.get_station(session, str(station.id))
        return _station_row(fresh), created

    row, created = with_session(current_settings(), work)
    if as_json:
        print_json({**row, "created": created})
        return
    verb = "registered" if created else "updated"
    outputs = sum(len(m["outputs"]) for m in row["mounts"])
    out.print(
        f"{verb} station {row['short_name']} ({row['name']}, id {row['id']}): "
        f"{len(row['mounts'])} mount(s), {outputs} output(s)"
    )


@station_app.command("list")
def station_list(as_json: JsonOpt = False) -> None:
    """List registered stations."""
    from grimnir.services import stations

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [_station_row(s) for s in await stations.list_stations(session)]

    rows = with_session(current_settings(), work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no stations yet: register one with `grimnir station add --config FILE`")
        return
    table = Table("short name", "name", "time zone", "mounts", "id")
    for row in rows:
        table.add_row(
            row["short_name"],
            row["name"],
            row["timezone"],
            ", ".join(m["id"] for m in row["mounts"]),
            row["id"],
        )
    out.print(table)


@station_app.command("show")
def station_show(
    station: Annotated[str, typer.Argument(help="Station id or short name.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one station with its mounts and outputs."""
    from grimnir.services import stations

    async def work(session: AsyncSession) -> dict[str, Any]:
        return _station_row(await stations.get_station(session, station))

    row = with_session(current_settings(), work)
    if as_json:
        print_json(row)
        return
    out.print(f"[bold]{row['name']}[/] ({row['short_name']}) id {row['id']}, {row['timezone']}")
    for mount in row["mounts"]:
        out.print(f"  mount {mount['id']} — {mount['name']}")
        for o in mount["outputs"]:
            where = o.get("url") or o.get("path") or ""
            rate = f" {o['bitrate_kbps']} kbps" if o.get("bitrate_kbps") else ""
            out.print(f"    {o['type']:9} {o['format']}{rate} {where}", markup=False)
