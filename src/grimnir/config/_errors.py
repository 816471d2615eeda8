"""Turn pydantic's validation errors into lines a station engineer can act on.

Pydantic knows *what* is wrong but not *where* in the file, and it phrases
things for programmers ("Input should be greater than or equal to 1") with
internal location parts (the tag of a tagged union). Here each error gets the
user's key path, the line from the YAML, and a short message with a hint:
``station.yaml:27 dsp_graph.nodes[2].ratio: must be ≥ 1 (got 0.5)``.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, NoReturn, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from grimnir.config._base import AT_KEY_ERROR, DUPLICATE_ID_ERROR, did_you_mean
from grimnir.config._yamlpos import KeyPath, PositionedYaml, Problem, format_path
from grimnir.domain.errors import ConfigError

_TAG_FIELD = "type"
_NOUNS = {"nodes": "node", "outputs": "output"}
_UUID_EXAMPLE = "6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11"


def raise_problems(problems: list[Problem], filename: str) -> NoReturn:
    """Raise one ``ConfigError`` listing ``problems`` sorted by line."""
    unique = list(dict.fromkeys(problems))  # aliases can report one spot twice
    unique.sort(key=lambda problem: problem.line)
    lines = [format_problem(p, filename) for p in unique]
    count = len(lines)
    raise ConfigError(f"{filename}: {count} problem{'' if count == 1 else 's'}", lines)


def format_problem(problem: Problem, filename: str) -> str:
    """``station.yaml:27 dsp_graph.nodes[2].ratio: must be ≥ 1 (got 0.5)``."""
    if problem.path:
        return f"{filename}:{problem.line} {format_path(problem.path)}: {problem.message}"
    return f"{filename}:{problem.line} {problem.message}"


def translate_errors(
    exc: ValidationError, document: PositionedYaml, root: type[BaseModel]
) -> list[Problem]:
    """One ``Problem`` per pydantic error in ``exc`` (validating ``root``)."""
    problems: list[Problem] = []
    missing: list[Problem] = []
    hinted: set[KeyPath] = set()  # keys a "did you mean" already points the user to
    for error in exc.errors():
        loc = tuple(error["loc"])
        path, annotation = _resolve(root, loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            parent_path, parent = _resolve(root, loc[:-1])
            message, hint = _unknown_key(str(loc[-1]), _model_in(parent))
            if hint is not None:
                hinted.add((*parent_path, hint))
            problems.append(Problem(document.line_of(path), path, message))
        elif kind == "missing":
            # The key is not in the file, so point at the mapping that lacks it.
            missing.append(Problem(document.line_of(path[:-1]), path, "required key missing"))
        elif kind == DUPLICATE_ID_ERROR:
            problems.extend(_duplicates(error, path, document))
        elif kind == AT_KEY_ERROR:
            where = (*path, str((error.get("ctx") or {}).get("at_key", "")))
            problems.append(Problem(document.line_of(where), where, str(error["msg"])))
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            problems.append(_bad_tag(error, path, annotation, document))
        else:
            problems.append(Problem(document.line_of(path), path, _message(error)))
    # A typo'd key also makes the real key "missing": one line for it is enough.
    problems.extend(problem for problem in missing if problem.path not in hinted)
    return problems


def _unknown_key(key: str, model: type[BaseModel] | None) -> tuple[str, str | None]:
    valid = list(model.model_fields) if model is not None else []
    hint = did_you_mean(key, valid)
    if hint is not None:
        return f"unknown key {key!r}; did you mean {hint!r}?", hint
    if valid:
        return f"unknown key {key!r}; valid keys here: {', '.join(valid)}", None
    return f"unknown key {key!r}", None


def _duplicates(error: ErrorDetails, path: KeyPath, document: PositionedYaml) -> list[Problem]:
    ctx = error.get("ctx") or {}
    kind = ctx.get("kind", "")
    problems = []
    for index, first_index, item_id in ctx.get("duplicates", []):
        where = (*path, index, "id")
        first_line = document.line_of((*path, first_index, "id"))
        message = f"duplicate {kind} id {item_id!r} (first at line {first_line})"
        problems.append(Problem(document.line_of(where), where, message))
    return problems


def _bad_tag(
    error: ErrorDetails, path: KeyPath, annotation: Any, document: PositionedYaml
) -> Problem:
    """``type`` is missing or names no known kind of node/output."""
    noun = next((_NOUNS[p] for p in reversed(path) if isinstance(p, str) and p in _NOUNS), "")
    what = f"{noun} type" if noun else _TAG_FIELD
    valid = sorted(_tags_in(annotation))
    listing = f"(valid: {', '.join(valid)})"
    where = (*path, _TAG_FIELD)
    if error["type"] == "union_tag_not_found":
        message = f"required key missing: `type:` says which kind of {noun or 'item'} {listing}"
        return Problem(document.line_of(path), where, message)
    value = error.get("input")
    if isinstance(value, dict) and value.get(_TAG_FIELD) is None:
        # NOTE: YAML reads a bare `null` (or nothing) as None, never as the word.
        message = f'is empty; to use the null {noun or "type"}, quote it: type: "null" {listing}'
        return Problem(document.line_of(where), where, message)
    tag = str((error.get("ctx") or {}).get("tag", ""))
    hint = did_you_mean(tag, valid)
    guess = f"; did you mean {hint!r}?" if hint else ""
    return Problem(document.line_of(where), where, f"unknown {what} {tag!r}{guess} {listing}")


def _message(error: ErrorDetails) -> str:
    """A short message for one error, keeping pydantic's when ours adds nothing."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    got = f"(got {_show(value)})"
    if value is None and kind.endswith(("_type", "_parsing")):
        return "is empty; give it a value"
    match kind:
        case "greater_than_equal":
            return f"must be ≥ {_num(ctx['ge'])} {got}"
        case "greater_than":
            return f"must be > {_num(ctx['gt'])} {got}"
        case "less_than_equal":
            return f"must be ≤ {_num(ctx['le'])} {got}"
        case "less_than":
            return f"must be < {_num(ctx['lt'])} {got}"
        case "int_type" | "int_parsing" | "int_from_float":
            return f"must be a whole number {got}"
        case "float_type" | "float_parsing":
            return f"must be a number {got}"
        case "finite_number":
            return f"must be a finite number {got}"
        case "bool_type" | "bool_parsing":
            return f"must be true or false {got}"
        case "string_type":
            quote = "; put it in quotes" if isinstance(value, int | float | bool) else ""
            return f"must be text {got}{quote}"
        case "list_type":
            return f"must be a list (lines starting with '- ') {got}"
        case "dict_type" | "model_type" | "model_attributes_type":
            return f"must be a mapping of `key: value` lines {got}"
        case "uuid_type" | "uuid_parsing":
            return f"must be a UUID like {_UUID_EXAMPLE} {got}"
        case "literal_error" | "enum":
            choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
            guess = f"; did you mean {hint!r}?" if hint else ""
            if len(choices) == 1:
                return f"must be {choices[0]} {got}"
            return f"must be one of {', '.join(choices)} {got}{guess}"
        case "too_short":
            if ctx.get("min_length") == 1:
                return "must not be empty; give at least one item"
            return f"must have at least {ctx.get('min_length')} items {got}"
        case "too_long":
            actual = ctx.get("actual_length")
            return f"must have at most {ctx.get('max_length')} items (got {actual})"
        case "string_too_short":
            return "must not be empty"
        case "value_error":
            return str(error["msg"]).removeprefix("Value error, ")
        case _:
            return str(error["msg"])


def _show(value: Any) -> str:
    """A value as the user would recognise it from their YAML."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _num(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _num(value: Any) -> str:
    """``1.0`` → ``1``, ``0.5`` → ``0.5``: numbers as a person writes them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- walking the schema along a pydantic error location -----------------------


def _resolve(root: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[KeyPath, Any]:
    """The user's key path for ``loc`` and the type annotation found there.

    For tagged unions pydantic puts the tag in the location
    (``('dsp_graph', 'nodes', 2, 'compressor', 'ratio')``); the user never
    wrote that part, so it is dropped from the path.
    """
    annotation: Any = root
    path: list[str | int] = []
    for part in loc:
        members = _members(annotation)
        if isinstance(part, str) and len(members) > 1:
            tagged = [m for m in members if _tag_of(m) == part]
            if tagged:
                annotation = tagged[0]
                continue
        path.append(part)
        annotation = _child(members, part)
    return tuple(path), annotation


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a union (without None), or ``[annotation]``."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [_unwrap(m) for m in get_args(annotation) if m is not type(None)]
    return [annotation]


def _child(members: list[Any], part: int | str) -> Any:
    for member in members:
        if _is_model(member) and isinstance(part, str) and part in member.model_fields:
            return member.model_fields[part].annotation
        if get_origin(member) is list and isinstance(part, int):
            return get_args(member)[0]
        if get_origin(member) is dict and isinstance(part, str):
            return get_args(member)[1]
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    models = [m for m in _members(annotation) if _is_model(m)]
    return models[0] if len(models) == 1 else None


def _tag_of(annotation: Any) -> str | None:
    """The ``type`` literal of a tagged-union member model, if it has one."""
    if not _is_model(annotation) or _TAG_FIELD not in annotation.model_fields:
        return None
    args = get_args(annotation.model_fields[_TAG_FIELD].annotation)
    return args[0] if len(args) == 1 and isinstance(args[0], str) else None


def _tags_in(annotation: Any) -> list[str]:
    return [tag for m in _members(annotation) if (tag := _tag_of(m)) is not None]
