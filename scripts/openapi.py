"""Write the API's OpenAPI document (what ``/api/v1/openapi.json`` serves) to a file.

The web UI's typed client is generated from it (``ui/``: ``npm run gen``), so a
route that changes breaks the UI's type check at build time, not in a browser.

Usage: python scripts/openapi.py OUT.json
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker

from grimnir.api import ApiContext, create_app
from grimnir.bus import MemoryBus
from grimnir.config.settings import Settings
from grimnir.store import create_engine


def document() -> dict[str, object]:
    """The OpenAPI document of an app over a throwaway SQLite file (never opened)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'unused.db'}")
        ctx = ApiContext(
            settings=Settings(data_dir=Path(folder)),
            sessions=async_sessionmaker(engine),
            bus=MemoryBus(),
            secret=b"openapi-document-only" * 4,
        )
        spec: dict[str, object] = create_app(ctx).openapi()
        return spec


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/openapi.py OUT.json")
    out = Path(sys.argv[1])
    text = json.dumps(document(), indent=1, sort_keys=True) + "\n"
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")  # unchanged: keep its time (make)


if __name__ == "__main__":
    main()
