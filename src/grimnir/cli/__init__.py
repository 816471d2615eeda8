"""The ``grimnir`` command.

Every command that lists or shows takes ``--json`` for scripts; errors go to
stderr as one line per problem and exit 1.

The app itself (``app``) lives in ``_app`` and is imported on first use:
``grimnir engine`` is what a supervisor runs again after a crash, so it starts
without importing the other commands (the database, the library, the API).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    app: typer.Typer


def main() -> None:
    """Entry point of the ``grimnir`` console script."""
    # NOTE: `grimnir engine …` runs its one command alone: the whole app's imports
    # were 1–2 s of every engine restart's dead air. (`grimnir --settings F engine`
    # still goes through the app; the engine reads no settings anyway.)
    if sys.argv[1:2] == ["engine"]:
        from grimnir.cli._engine import engine_main

        engine_main(sys.argv[2:])
        return
    from grimnir.cli._app import app

    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from grimnir.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
