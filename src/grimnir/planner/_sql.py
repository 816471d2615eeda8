"""SQL constructs that compare the same way on SQLite, PostgreSQL and MariaDB.

``Fold(x)`` is ``lower(x)``; on MariaDB it also sets the binary, no-pad
collation, since the tables' ``utf8mb4_unicode_ci`` would make "é" equal "e"
and ignore trailing spaces, which the in-memory rules do not. ``CustomText``
reads one custom tag as text, NULL when missing or not a string (a number or
a boolean tag), the same on the three databases' JSON functions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, case, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class Fold(FunctionElement[str]):
    """Case-folded text (see ``_text.fold``)."""

    type = String()
    name = "fold"
    inherit_cache = True


@compiles(Fold)
def _fold_default(element: Fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(Fold, "mysql")
def _fold_mysql(element: Fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(lower({compiler.process(element.clauses, **kw)}) COLLATE utf8mb4_nopad_bin)"


class CustomText(FunctionElement[str]):
    """``CustomText(column, key)``: the custom tag ``key`` of a JSON column, as text."""

    type = String()
    name = "custom_text"
    inherit_cache = True


def custom_text(column: ColumnElement[Any], key: str) -> CustomText:
    return CustomText(column, literal(key, String()))


def _parts(element: CustomText) -> tuple[ColumnElement[Any], Any]:
    column, key = list(element.clauses)
    return column, key


def _json_path(key: Any) -> ColumnElement[str]:
    # NOTE: keys are limited to [A-Za-z0-9_-] by the rule schema, so quoting suffices
    path: ColumnElement[str] = literal('$."', String()) + key + literal('"', String())
    return path


@compiles(CustomText, "sqlite")
def _custom_sqlite(element: CustomText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element)
    path = _json_path(key)
    expr = case((func.json_type(column, path) == "text", func.json_extract(column, path)))
    return str(compiler.process(expr, **kw))


@compiles(CustomText, "postgresql")
def _custom_postgresql(element: CustomText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element)
    col = compiler.process(column, **kw)
    k = compiler.process(key, **kw)
    return f"CASE WHEN json_typeof(({col})::json -> {k}) = 'string' THEN ({col})::json ->> {k} END"


@compiles(CustomText, "mysql")
def _custom_mysql(element: CustomText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element)
    extracted = func.json_extract(column, _json_path(key))
    expr = case((func.json_type(extracted) == "STRING", func.json_unquote(extracted)))
    return str(compiler.process(expr, **kw))
