"""The demo station: a generated library, station IDs, a clock and an admin login.

``grimnir up --demo`` calls :func:`ensure_demo` before it starts the control
plane; everything is made once and found again on later runs. The set-up's
names load on first use, so the synthesis workers (which import
``grimnir.demo.music``) do not pay for the database and library imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grimnir.demo.setup import DemoInfo, ensure_demo, media_dir

__all__ = ["DemoInfo", "ensure_demo", "media_dir"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("grimnir.demo.setup"), name)
    raise AttributeError(f"module 'grimnir.demo' has no attribute {name!r}")
