"""Reading any YAML document into a pydantic model with line-numbered errors.

Station configs, render timelines and later files all go through here, so
every file a user writes gets the same ``file:line key.path: what to fix``
messages and "did you mean" hints.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from grimnir.config._errors import raise_problems, translate_errors
from grimnir.config._yamlpos import PositionedYaml, format_path, load_yaml_with_positions
from grimnir.domain.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def parse_document(text: str, filename: str, model: type[M], *, what: str, keys: str) -> M:
    """Validate YAML (or JSON) ``text`` as ``model``.

    ``what`` names the kind of document and ``keys`` its main keys, for messages.

    Raises ``ConfigError`` with one line per problem, sorted by line.
    """
    return parse_positioned(text, filename, model, what=what, keys=keys)[0]


def parse_positioned(
    text: str, filename: str, model: type[M], *, what: str, keys: str
) -> tuple[M, PositionedYaml]:
    """Like ``parse_document``, also giving the document's lines for later messages."""
    document = load_yaml_with_positions(text, filename)
    if document.data is None:
        raise ConfigError(f"{filename}: the file is empty; a {what} needs at least {keys}")
    if not isinstance(document.data, dict):
        kind = "list" if isinstance(document.data, list) else type(document.data).__name__
        raise ConfigError(
            f"{filename}:{document.line_of(())}: the top level must be a mapping of keys "
            f"like {keys}, not a {kind}"
        )
    problems = list(document.problems)
    result: M | None = None
    try:
        result = model.model_validate(document.data)
    except ValidationError as exc:
        problems.extend(translate_errors(exc, document, model))
    if problems or result is None:
        raise_problems(problems, filename)
    return result, document


def data_problems(exc: ValidationError, data: Any, model: type[BaseModel]) -> list[tuple[str, str]]:
    """``(key path, what to fix)`` per problem of ``exc``, raised validating ``data`` as ``model``.

    For data that came from no file (a request's JSON): the same words as a
    file's messages, without line numbers.
    """
    return [
        (format_path(p.path), p.message) for p in translate_errors(exc, PositionedYaml(data), model)
    ]


def load_document(path: str | os.PathLike[str], model: type[M], *, what: str, keys: str) -> M:
    """Read and validate the file at ``path``; messages name the file as given."""
    filename = os.fspath(path)
    return parse_document(read_document(path, what), filename, model, what=what, keys=keys)


def read_document(path: str | os.PathLike[str], what: str) -> str:
    """The text of the file at ``path``, or a ``ConfigError`` saying why it cannot be read."""
    filename = os.fspath(path)
    try:
        with open(filename, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"{filename}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{filename}: is a directory, not a {what} file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{filename}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{filename}: cannot read the file ({exc.strerror})") from None
    return text
