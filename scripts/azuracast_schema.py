"""Cut the part of AzuraCast's OpenAPI document that Grimnir answers like AzuraCast.

Writes tests/api/azuracast/openapi-subset.json: the ``200`` response schemas of
the routes we serve and every component schema they reach, verbatim (OpenAPI 3:
``nullable``, ``$ref: #/components/schemas/…``), with where they came from. The
test suite turns them into JSON Schema and validates our answers against them.

    git -C MIRROR show COMMIT:web/static/openapi.yml > openapi.yml
    python scripts/azuracast_schema.py openapi.yml COMMIT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parents[1] / "tests" / "api" / "azuracast" / "openapi-subset.json"
SOURCE_PATH = "web/static/openapi.yml"
ROUTES = {
    "/nowplaying": "/api/nowplaying",
    "/nowplaying/{station_id}": "/api/nowplaying/{station}",
    "/stations": "/api/stations",
    "/station/{station_id}": "/api/station/{station}",
    "/station/{station_id}/schedule": "/api/station/{station}/schedule",
}
"""AzuraCast's paths (under /api) and ours."""
PREFIX = "#/components/schemas/"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = (
            {node["$ref"][len(PREFIX) :]} if str(node.get("$ref", "")).startswith(PREFIX) else set()
        )
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def subset(document: dict[str, Any], commit: str) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    paths: dict[str, Any] = {}
    for theirs, ours in ROUTES.items():
        response = document["paths"][theirs]["get"]["responses"]["200"]
        paths[ours] = {
            "azuracast_path": f"/api{theirs}",
            "schema": response["content"]["application/json"]["schema"],
        }
    wanted, seen = _refs(paths), set()
    while wanted - seen:
        name = sorted(wanted - seen)[0]
        seen.add(name)
        wanted |= _refs(schemas[name])
    return {
        "source": {
            "repository": "https://github.com/AzuraCast/AzuraCast",
            "commit": commit,
            "path": SOURCE_PATH,
            "openapi": document["openapi"],
            "note": "Cut by scripts/azuracast_schema.py; schemas verbatim (OpenAPI 3).",
        },
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(seen)}},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    document = yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8"))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(subset(document, argv[1]), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
