"""The ``grimnir`` command's Typer app: every command and command group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grimnir.cli._admin import config_app, db_app, station_app, user_app, version
from grimnir.cli._asrun import asrun_app
from grimnir.cli._common import State
from grimnir.cli._engine import engine_command
from grimnir.cli._import import import_app
from grimnir.cli._library import library_app
from grimnir.cli._plan import plan_app
from grimnir.cli._render import render_command
from grimnir.cli._up import up_command

app = typer.Typer(
    help="Grimnir Radio: broadcast automation for radio stations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(version)
app.command("render")(render_command)
app.command("engine")(engine_command)
app.command("up")(up_command)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(station_app, name="station")
app.add_typer(library_app, name="library")
app.add_typer(plan_app, name="plan")
app.add_typer(asrun_app, name="asrun")
app.add_typer(import_app, name="import")


@app.callback()
def _main_options(
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help="YAML settings file (GRIMNIR_* environment variables still win).",
            envvar="GRIMNIR_SETTINGS_FILE",
        ),
    ] = None,
) -> None:
    State.settings_file = settings
