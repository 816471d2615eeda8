"""AzuraCast's own schema for the answers we give in its shape, as JSON Schema.

``tests/api/azuracast/openapi-subset.json`` holds the schemas verbatim from
AzuraCast's OpenAPI 3.0 document (its ``source`` names the commit); this module
turns them into JSON Schema (draft 2020-12) for :mod:`jsonschema_rs`:

- ``$ref: #/components/schemas/X`` → ``#/$defs/X``;
- ``nullable: true`` → ``null`` allowed (in ``type``, in ``enum``, or as an
  ``anyOf`` branch next to a ``oneOf``/``allOf``/``$ref``);
- ``example`` dropped (``'1591548318'`` is a string example of an integer).

``strict=True`` also requires every declared property. AzuraCast's schema leaves
many out of ``required`` (all of ``Api_Song``'s), but its PHP classes always
serialise every property, so players read them without checking: we send them all.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SUBSET = Path(__file__).resolve().parent / "api" / "azuracast" / "openapi-subset.json"
PREFIX = "#/components/schemas/"
SAME_AS = {"/api/nowplaying_static/{station}.json": "/api/nowplaying/{station}"}
"""Routes AzuraCast's document leaves out (nginx serves the static file) and the
route whose schema they answer with."""


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SUBSET.read_text(encoding="utf-8"))
    return loaded


def _convert(node: Any, strict: bool) -> Any:
    if isinstance(node, list):
        return [_convert(v, strict) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v, strict) for k, v in node.items() if k not in ("example", "nullable")}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith(PREFIX):
        out["$ref"] = "#/$defs/" + out["$ref"][len(PREFIX) :]
    if strict and isinstance(out.get("properties"), dict):
        out["required"] = sorted(set(out.get("required", [])) | set(out["properties"]))
    if node.get("nullable") is True:
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _validator(route: str, strict: bool) -> Any:
    doc = document()
    schema = dict(_convert(doc["paths"][SAME_AS.get(route, route)]["schema"], strict))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$defs"] = {
        name: _convert(s, strict) for name, s in doc["components"]["schemas"].items()
    }
    return jsonschema_rs.Draft202012Validator(schema)


def schema_errors(route: str, body: Any) -> list[str]:
    """Every way ``body`` breaks AzuraCast's schema of ``route`` (as documented and
    strict), as ``path: message`` lines; empty when it holds."""
    errors: list[str] = []
    for strict in (False, True):
        for error in _validator(route, strict).iter_errors(body):
            where = "/".join(str(p) for p in error.instance_path)
            errors.append(f"{'strict ' if strict else ''}{where}: {error.message}")
    return errors
