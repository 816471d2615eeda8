"""Package boundaries that hold for the whole source tree (ARCHITECTURE.md).

A package's public names are in its ``__init__.py`` (or in its public modules);
a ``_private`` module is imported only from its own package or from a package
below it. The check reads every module under ``src/grimnir`` with :mod:`ast`
(absolute and relative imports, at module level, inside functions and under
``TYPE_CHECKING`` alike), so it needs nothing imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimnir

SRC = Path(grimnir.__file__).resolve().parent.parent
# Dunder names are not private modules: ``from __future__ import ...`` and
# ``pkg.__init__`` spelled out.
NOT_PRIVATE = frozenset({"__init__", "__future__"})


def _module_name(path: Path, src: Path) -> tuple[str, bool]:
    """The dotted name of the module at ``path`` and whether it is a package."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _is_module(dotted: str, src: Path) -> bool:
    """Whether ``dotted`` names a module or package of ours (not a name inside one)."""
    base = src.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or base.is_dir()


def _imported_modules(
    tree: ast.AST, module: str, is_package: bool, src: Path = SRC
) -> Iterator[str]:
    """Every module that ``tree`` imports, as an absolute dotted name."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                if node.level > 1:
                    anchor = anchor[: -(node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield base
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if alias.name != "*" and _is_module(candidate, src):
                    yield candidate


def _private_parents(dotted: str) -> Iterator[str]:
    """The package holding each private component of ``dotted``."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and part not in NOT_PRIVATE:
            yield ".".join(parts[:i])


def _within(package: str, ancestor: str) -> bool:
    return package == ancestor or package.startswith(ancestor + ".")


def offenders(src: Path = SRC) -> list[str]:
    """``importer -> imported`` for each private module imported from outside its package."""
    found: set[str] = set()
    for path in sorted(src.joinpath("grimnir").rglob("*.py")):
        module, is_package = _module_name(path, src)
        package = module if is_package else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for imported in _imported_modules(tree, module, is_package, src):
            if not imported.startswith("grimnir."):
                continue
            if any(not _within(package, parent) for parent in _private_parents(imported)):
                found.add(f"{module} -> {imported}")
    return sorted(found)


def test_no_private_module_is_imported_from_another_package() -> None:
    bad = offenders()
    assert not bad, "private modules imported from another package:\n" + "\n".join(bad)


def test_the_check_sees_each_kind_of_import() -> None:
    """The walker resolves absolute, relative and ``from pkg import _mod`` imports."""
    source = (
        "import grimnir.config._dsp\n"
        "from grimnir.engine.client import _grpc\n"
        "from ..sources._file import FileSource\n"
        "from . import _servicer\n"
        "def f():\n"
        "    from grimnir.config._outputs import FileOutput\n"
    )
    tree = ast.parse(source)
    seen = set(_imported_modules(tree, "grimnir.engine.grpc.server", is_package=False))
    assert {
        "grimnir.config._dsp",
        "grimnir.engine.client._grpc",
        "grimnir.engine.sources._file",
        "grimnir.engine.grpc._servicer",
        "grimnir.config._outputs",
    } <= seen
    assert list(_private_parents("grimnir.engine.client._grpc")) == ["grimnir.engine.client"]
    assert list(_private_parents("__future__")) == []
    assert _within("grimnir.engine.sources", "grimnir.engine")
    assert not _within("grimnir.engine", "grimnir.engine.sources")
    assert not _within("grimnir.engineering", "grimnir.engine")


def test_the_check_names_each_offender(tmp_path: Path) -> None:
    """Own package and ancestors may import a private module; siblings and cousins may not."""
    files = {
        "grimnir/__init__.py": "",
        "grimnir/a/__init__.py": "from grimnir.a import _x\n",
        "grimnir/a/_x.py": "",
        "grimnir/a/b/__init__.py": "",
        "grimnir/a/b/y.py": "import grimnir.a._x\nfrom .._x import f\n",
        "grimnir/a/b/_z.py": "",
        "grimnir/c.py": "from grimnir.a import _x\n",
        "grimnir/d/__init__.py": "",
        "grimnir/d/e.py": "from ..a._x import f\nfrom grimnir.a.b._z import g\n",
        "grimnir/a/w.py": "from grimnir.a.b import _z\nfrom __future__ import annotations\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert offenders(tmp_path) == [
        "grimnir.a.w -> grimnir.a.b._z",
        "grimnir.c -> grimnir.a._x",
        "grimnir.d.e -> grimnir.a._x",
        "grimnir.d.e -> grimnir.a.b._z",
    ]


# -- the executor's state has owners (issue 16) -------------------------------------

EXECUTOR_VARIABLES = frozenset({"ex", "executor"})
"""Names that hold a ``StationExecutor`` by convention in ``executor/`` modules."""
MUTATORS = frozenset(
    {
        "add",
        "append",
        "clear",
        "difference_update",
        "discard",
        "extend",
        "insert",
        "intersection_update",
        "pop",
        "popitem",
        "remove",
        "setdefault",
        "symmetric_difference_update",
        "update",
    }
)
"""Container methods that change the container they are called on."""


def _executor_names(tree: ast.AST) -> set[str]:
    """Variables of a module that hold the executor: named so, or annotated with
    ``StationExecutor`` (parameters and annotated assignments)."""
    names = set(EXECUTOR_VARIABLES)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            name, annotation = node.arg, node.annotation
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation = node.target.id, node.annotation
        else:
            continue
        if annotation is not None and "StationExecutor" in ast.unparse(annotation):
            names.add(name)
    return names


def _executor_attribute(expr: ast.expr, names: set[str]) -> str | None:
    """``ex.name`` when ``expr`` is an attribute (or an item of one) of an executor."""
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id in names
    ):
        return f"{expr.value.id}.{expr.attr}"
    return None


def _targets(node: ast.AST) -> list[ast.expr]:
    """What an assignment (or ``del``) writes to, tuples unpacked."""
    if isinstance(node, ast.Assign | ast.Delete):
        found = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        found = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while found:
        target = found.pop()
        if isinstance(target, ast.Tuple | ast.List):
            found.extend(target.elts)
        elif isinstance(target, ast.Starred):
            found.append(target.value)
        else:
            flat.append(target)
    return flat


def executor_writers(src: Path = SRC) -> list[str]:
    """``module:line ex.name`` for each place outside ``executor/station.py`` that
    changes an attribute of a ``StationExecutor``: assigns it (``ex.name = …``,
    ``ex.name += …``, ``ex.name[k] = …``, ``del ex.name``) or calls a mutating
    container method on it (``ex.name.add(…)``). Reads, and calls of the state
    objects' own methods (``ex.items.sent(…)``), are what the others should do."""
    found: list[str] = []
    for path in sorted(src.joinpath("grimnir", "executor").glob("*.py")):
        if path.name == "station.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = _executor_names(tree)
        for node in ast.walk(tree):
            written = [_executor_attribute(target, names) for target in _targets(node)]
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
            ):
                written.append(_executor_attribute(node.func.value, names))
            found.extend(
                f"{path.name}:{getattr(node, 'lineno', 0)} {name}" for name in written if name
            )
    return sorted(found)


def test_only_station_py_changes_the_executors_attributes() -> None:
    """ARCHITECTURE: an executor's state belongs to small objects that own it; other
    modules call their methods (``ex.items.sent``, ``ex.link.lost``), never assign."""
    bad = executor_writers()
    assert not bad, "StationExecutor attributes changed outside station.py:\n" + "\n".join(bad)


def test_the_executor_check_sees_each_kind_of_write(tmp_path: Path) -> None:
    """Assignments, augmented and subscript assignments, ``del`` and mutating calls
    through a variable named or annotated as the executor; not reads, not station.py."""
    package = tmp_path / "grimnir" / "executor"
    package.mkdir(parents=True)
    (package / "station.py").write_text("def f(ex):\n    ex.a = 1\n", encoding="utf-8")
    (package / "other.py").write_text(
        "def f(ex, station: StationExecutor, other):\n"
        "    ex.a = 1\n"
        "    station.b += 1\n"
        "    ex.c[1] = 2\n"
        "    x, ex.d = 1, 2\n"
        "    del ex.e\n"
        "    executor.f.add(1)\n"
        "    ex.items.sent(1)\n"
        "    other.g = ex.h\n"
        "    y = ex.i.get(1)\n",
        encoding="utf-8",
    )
    assert executor_writers(tmp_path) == [
        "other.py:2 ex.a",
        "other.py:3 station.b",
        "other.py:4 ex.c",
        "other.py:5 ex.d",
        "other.py:6 ex.e",
        "other.py:7 executor.f",
    ]


# -- routes are thin: the store is the services' business (issue 16) ----------------

QUERY_CONSTRUCTS = frozenset({"select", "insert", "update", "delete", "func", "text", "exists"})
"""What builds a query (from ``sqlalchemy``): a route that needs one asks a service."""
SESSION_WORK = frozenset(
    {"execute", "scalar", "scalars", "get", "add", "add_all", "delete", "flush", "merge", "stream"}
)
"""Session methods that read or write rows (``commit``/``rollback`` stay: a route
owns its transaction)."""
SESSION_NAMES = frozenset({"session", "db", "s"})


def store_work(path: Path) -> list[str]:
    """Each query construct imported and each session call that reads or writes rows
    in the module at ``path``, as ``line: what``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"{node.lineno}: imports {a.name}" for a in node.names if a.name in QUERY_CONSTRUCTS
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_WORK
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in SESSION_NAMES
        ):
            found.append(f"{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return sorted(found, key=lambda where: int(where.split(":", 1)[0]))


def test_routes_leave_the_store_to_the_services() -> None:
    routes = SRC / "grimnir" / "api" / "routes"
    bad = [
        f"{path.relative_to(SRC)}:{where}"
        for path in sorted(routes.rglob("*.py"))
        for where in store_work(path)
    ]
    assert not bad, "routes that query the store themselves (use grimnir.services):\n" + (
        "\n".join(bad)
    )


def test_the_route_check_sees_queries_and_session_calls(tmp_path: Path) -> None:
    module = tmp_path / "route.py"
    module.write_text(
        "from sqlalchemy import select, func\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def f(session):\n"
        "    await session.scalar(select(X))\n"
        "    session.add(x)\n"
        "    await session.commit()\n",
        encoding="utf-8",
    )
    assert store_work(module) == [
        "1: imports select",
        "1: imports func",
        "4: session.scalar()",
        "5: session.add()",
    ]
