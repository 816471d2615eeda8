"""Station configs as text: checked as ``grimnir config check`` checks a file, with
each problem taken apart into line, column and key path for an editor, and the
stored config written back as YAML."""

from __future__ import annotations

import re
import uuid
from typing import Any

import yaml
from fastapi import Request
from pydantic import BaseModel, Field, ValidationError

from grimnir.api.problems import PROBLEM_JSON, Problem, ProblemBody
from grimnir.config.station import StationConfig, StationFile, check_station_text
from grimnir.domain import ConfigError

CONFIG_FILE = "station.yaml"
"""The file name config problems give, as ``grimnir config check station.yaml`` would."""
MAX_CONFIG_BYTES = 1024 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_AT = re.compile(rf"^{re.escape(CONFIG_FILE)}(?::(\d+))?:? (.*)$", re.DOTALL)
_KEYED = re.compile(r"^([\w\[\].-]+): ")


class ConfigMessage(BaseModel):
    """One problem (or warning) of a station config, as ``grimnir config check`` prints it."""

    text: str = Field(description="The whole line: ``station.yaml:27 key.path: what to fix``.")
    line: int | None = Field(description="1-based line in the YAML (none: the whole file).")
    column: int | None = Field(description="1-based column of the key (or value) on that line.")
    path: str | None = Field(description="The key path, e.g. ``failover.layer_fade_ms``.")
    msg: str = Field(description="The text after the file and line.")


def _column(text: str, line: int | None, path: str | None) -> int | None:
    """Column of the last key of ``path`` on ``line`` of ``text`` (else of the line's content)."""
    if line is None:
        return None
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return 1
    row = lines[line - 1]
    keys = [k for k in re.split(r"[.\[\]]", path or "") if k and not k.isdigit()]
    if keys and not (path or "").endswith("]"):
        found = re.search(rf"(?:^|[\s{{,\-])[\"']?({re.escape(keys[-1])})[\"']?\s*:", row)
        if found:
            return found.start(1) + 1
    content = re.search(r"[^\s-]", row) or re.search(r"\S", row)
    return content.start() + 1 if content else 1


def config_message(found: str, text: str) -> ConfigMessage:
    """A ``grimnir config check`` line taken apart: line, column, key path, message."""
    matched = _AT.match(found)
    if matched is None:
        return ConfigMessage(text=found, line=None, column=None, path=None, msg=found)
    line = int(matched[1]) if matched[1] else None
    rest = matched[2]
    keyed = _KEYED.match(rest)
    path = keyed[1] if keyed else None
    return ConfigMessage(
        text=found, line=line, column=_column(text, line, path), path=path, msg=rest
    )


def check_text(text: str, *, station_id: uuid.UUID | None) -> StationFile:
    """The config in ``text`` checked as ``grimnir config check`` checks a file
    (422 with every problem, each with its line, when it fails), and, for
    ``station_id``, that it keeps that station's id."""
    try:
        checked = check_station_text(text, CONFIG_FILE)
    except ConfigError as exc:
        problems = [config_message(p, text) for p in exc.problems]
        raise Problem(
            422,
            f"the station config is not valid: {exc.args[0]} — {problems[0].text}",
            errors=[{"loc": [p.path or ""], **p.model_dump()} for p in problems],
        ) from None
    if station_id is not None and checked.config.station.id != station_id:
        line = _station_id_line(text)
        found = (
            f"{CONFIG_FILE}:{line or 1} station.id: is {checked.config.station.id}, but this is "
            f"station {station_id}: keep the id (POST /stations adds a new station)"
        )
        problem = config_message(found, text)
        raise Problem(422, found, errors=[{"loc": ["station.id"], **problem.model_dump()}])
    return checked


def _station_id_line(text: str) -> int | None:
    """The line of ``station:``'s ``id:`` in ``text`` (a plain search: the text is valid)."""
    inside = False
    for number, row in enumerate(text.splitlines(), 1):
        if re.match(r"station\s*:", row):
            inside = True
        elif inside and re.match(r"\s+id\s*:", row):
            return number
        elif inside and re.match(r"\S", row):
            inside = False
    return None


def checked_json(raw: dict[str, Any], *, station_id: uuid.UUID) -> StationFile:
    """A config sent as JSON, checked like the same config sent as YAML (the
    errors name key paths; their lines are of the YAML it reads as)."""
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    try:
        return check_text(text, station_id=station_id)
    except Problem as exc:
        # NOTE: lines of a YAML the caller never saw would only mislead
        errors = [{**e, "line": None, "column": None, "text": e["msg"]} for e in exc.errors or []]
        shown = "; ".join(e["msg"] for e in errors[:5]) or exc.detail
        raise Problem(422, f"the station config is not valid: {shown}", errors=errors) from None


async def yaml_body(request: Request) -> str:
    """The request's YAML text (415 for another type, 413 when too big, 422 not UTF-8)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind not in YAML_TYPES:
        raise Problem(
            415,
            f"send the config as YAML (Content-Type: application/yaml), not {kind or 'nothing'}",
        )
    body = await request.body()
    if len(body) > MAX_CONFIG_BYTES:
        raise Problem(413, f"a station config is at most {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(
            422, f"{CONFIG_FILE}: not UTF-8 text (bad byte at offset {exc.start}); send UTF-8"
        ) from None


def config_yaml(stored: dict[str, Any]) -> str:
    """The stored config as YAML, keys in the schema's order and unset optional keys left out."""
    try:
        data: dict[str, Any] = StationConfig.model_validate(stored).model_dump(
            mode="json", exclude_none=True
        )
    except ValidationError:  # stored by an older version: show it as it is
        data = dict(stored)
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=100)


def _plain(value: Any) -> Any:
    """``30.0`` → ``30``, all the way down: numbers as a person writes them (a float
    key takes a whole number just as well)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def warnings_of(checked: StationFile, text: str) -> list[ConfigMessage]:
    return [config_message(w, text) for w in checked.warnings]


YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {
                "schema": {
                    "type": "string",
                    "description": "The station config as YAML, as in a station file.",
                }
            }
        },
    }
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ProblemBody,
        "content": {PROBLEM_JSON: {}},
        "description": "Not a valid station config: ``errors`` has each problem with its "
        "line and column, worded as ``grimnir config check`` words it. Nothing is stored.",
    },
    415: {"model": ProblemBody, "content": {PROBLEM_JSON: {}}, "description": "Not YAML."},
}
