"""YAML loading that remembers where every key came from.

PyYAML's ``safe_load`` gives plain data but forgets line numbers, and it keeps
the last of two equal keys without a word. Station engineers need both: an
error must say ``station.yaml:27``, and a key written twice is almost always a
copy-paste slip whose first value silently does nothing. So we compose the
node tree with the SafeLoader, build plain dicts/lists ourselves, and record
the line of every key path on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from grimnir.domain.errors import ConfigError

KeyPath = tuple[str | int, ...]
"""Where a value sits in the document, e.g. ``("dsp_graph", "nodes", 2, "ratio")``."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a config file, at a 1-based line and a key path."""

    line: int
    path: KeyPath
    message: str


def format_path(path: KeyPath) -> str:
    """``("dsp_graph", "nodes", 2, "ratio")`` → ``dsp_graph.nodes[2].ratio``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass
class PositionedYaml:
    """Plain data from a YAML document plus the line of every key path.

    ``lines`` maps a key path to the line of the key (mapping entries) or of
    the value (list items); ``()`` is the line where the document's content
    starts. ``problems`` holds what the YAML itself got wrong but could still
    be read past (duplicate keys, unknown tags).
    """

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int:
        """Line of ``path``, or of its nearest ancestor written in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def load_yaml_with_positions(text: str, filename: str) -> PositionedYaml:
    """Parse ``text`` into plain Python data, recording lines and duplicate keys.

    Raises ``ConfigError`` naming ``filename`` and the line when the text is
    not YAML at all. An empty document gives ``data=None``.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, filename) from None
    except yaml.YAMLError as exc:  # unmarked errors: bad encoding, stray control chars
        raise ConfigError(f"{filename}: 1 problem", [f"{filename}:1 YAML error: {exc}"]) from None
    result = PositionedYaml(data=None)
    if root is not None:
        result.lines[()] = root.start_mark.line + 1
        result.data = _Builder(result).build(root, ())
    return result


def _syntax_error(exc: yaml.MarkedYAMLError, filename: str) -> ConfigError:
    """A ConfigError pointing at the line where the parser gave up."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    detail = exc.problem or "unreadable YAML"
    if exc.context:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
        detail = f"{detail} ({exc.context}{where})"
    problem = f"{filename}:{line} YAML syntax error: {detail}"
    return ConfigError(f"{filename}: 1 problem", [problem])


class _Builder:
    """Turns a composed node tree into plain data, filling a PositionedYaml."""

    def __init__(self, out: PositionedYaml) -> None:
        self._out = out
        # A throwaway loader: only its scalar constructors are used, so ints,
        # floats, bools, nulls and timestamps resolve exactly as safe_load would.
        self._constructor = yaml.SafeLoader("")
        self._active: set[int] = set()

    def build(self, node: Node, path: KeyPath) -> Any:
        """Plain data for ``node`` at ``path``, recording the lines below it."""
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:  # `&a [*a]`: an alias inside its own anchor
            self._problem(node, path, "this alias refers to itself; YAML loops are not allowed")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return None  # pragma: no cover - PyYAML has only the three node kinds
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            reason = getattr(exc, "problem", None) or str(exc)
            self._problem(node, path, f"cannot read this value: {reason}")
            return node.value

    def _sequence(self, node: SequenceNode, path: KeyPath) -> list[Any]:
        items: list[Any] = []
        for index, child in enumerate(node.value):
            child_path = (*path, index)
            self._out.lines[child_path] = child.start_mark.line + 1
            items.append(self.build(child, child_path))
        return items

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        # Keys pulled in with `<<: *anchor` first, so keys written out win
        # (both their values and their recorded lines).
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                result.update(self._merge(value_node, path))
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "a key must be a plain name, not a list or mapping")
                continue
            # NOTE: keys stay as written. YAML 1.1 would turn a key `no:` or
            # `on:` into a bool; every key of ours is a name, so text is right.
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            child_path = (*path, key)
            if key in first_line:
                self._out.problems.append(
                    Problem(
                        line,
                        child_path,
                        f"duplicate key {key!r} (first at line {first_line[key]}); "
                        "YAML keeps only the last one, so remove or rename one of them",
                    )
                )
            else:
                first_line[key] = line
            self._out.lines[child_path] = line
            result[key] = self.build(value_node, child_path)
        return result

    def _merge(self, node: Node, path: KeyPath) -> dict[str, Any]:
        """Keys pulled in by ``<<: *anchor`` (or ``<<: [*a, *b]``, earlier wins)."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                self._problem(source, path, "`<<` must refer to a mapping (or a list of them)")
                continue
            merged.update(self.build(source, path))
        return merged

    def _problem(self, node: Node, path: KeyPath, message: str) -> None:
        self._out.problems.append(Problem(node.start_mark.line + 1, path, message))
