"""Derive AzuraCast's MariaDB schema from its own Doctrine migrations.

``python -m tests.importers.azuracast.make_schema GIT_DIR`` (a clone or bare
mirror of github.com/AzuraCast/AzuraCast) replays the SQL each migration's
``preUp``/``up`` adds with ``$this->addSql(...)``, oldest first, into a fresh
MariaDB database on 127.0.0.1:3306 (root, no password), and writes
``schema.sql`` beside this file: ``mariadb-dump --no-data`` of the result, with
the upstream commit and the newest migration version in its header.

The migrations are PHP; a small evaluator covers what they use to build their
SQL (string literals, ``.``, ``??``, arrays, ``foreach``, private helper
methods, ``quoteSingleIdentifier``). PHP-side data fixes (``$this->connection->
insert(...)`` and the like) are not replayed: the schema starts empty, so they
have nothing to fix. The tests read only ``schema.sql``; they never need the
upstream repository or the network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIGRATIONS = "backend/src/Entity/Migration"
MARIADB = [shutil.which("mariadb") or "/usr/bin/mariadb", "-h127.0.0.1", "-P3306", "-uroot"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<<\s*(?P<q>['"]?)(?P<tag>[A-Za-z_]\w*)(?P=q)\n(?P<body>.*?)\n[ \t]*(?P=tag)\b)
  | (?P<sq>'(?:[^'\\]|\\.)*')
  | (?P<dq>"(?:[^"\\]|\\.)*")
  | (?P<var>\$[A-Za-z_]\w*)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_\\][\w\\]*)
  | (?P<op>=>|->|\?\?|::|[-+*/.,;:=()\[\]{}<>!?&|@%^])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Tok:
    kind: str
    text: str
    value: object = None


def tokenize(php: str) -> list[Tok]:
    """PHP source as tokens (whitespace and comments dropped)."""
    out: list[Tok] = []
    pos = 0
    while pos < len(php):
        m = _TOKEN.match(php, pos)
        if m is None:
            out.append(Tok("op", php[pos]))
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup or "op"
        if m.group("heredoc") is not None:
            body = m.group("body")
            indent = min(
                (len(x) - len(x.lstrip()) for x in body.splitlines() if x.strip()), default=0
            )
            text = "\n".join(x[indent:] for x in body.splitlines())
            out.append(Tok("str", m.group(0), text))
        elif kind == "ws":
            continue
        elif kind == "sq":
            raw = m.group("sq")[1:-1]
            out.append(Tok("str", m.group(0), re.sub(r"\\([\\'])", r"\1", raw)))
        elif kind == "dq":
            raw = m.group("dq")[1:-1]
            if "$" in raw:  # interpolation: evaluates as unsupported
                out.append(Tok("istr", m.group(0)))
                continue
            out.append(Tok("str", m.group(0), raw.encode().decode("unicode_escape")))
        elif kind == "num":
            out.append(
                Tok("num", m.group(0), float(m.group(0)) if "." in m.group(0) else int(m.group(0)))
            )
        else:
            out.append(Tok(kind if kind in ("var", "name") else "op", m.group(0)))
    return out


class Unsupported(Exception):
    """A construct the evaluator does not model (the statement is skipped)."""


@dataclass
class Evaluator:
    """Runs the statements of one migration method, collecting ``addSql`` SQL."""

    methods: dict[str, tuple[list[str], list[Tok]]]
    database: str
    sql: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def call(self, name: str, args: list[object]) -> None:
        params, body = self.methods[name]
        env: dict[str, object] = dict(zip(params, args, strict=False))
        self.block(body, env)

    # -- statements ---------------------------------------------------------------
    def block(self, toks: list[Tok], env: dict[str, object]) -> None:
        i = 0
        while i < len(toks):
            i = self.statement(toks, i, env)

    def statement(self, toks: list[Tok], i: int, env: dict[str, object]) -> int:
        t = toks[i]
        if t.text == "foreach":
            close = _match(toks, i + 1)
            inner = toks[i + 2 : close]
            as_at = next(k for k, x in enumerate(inner) if x.text == "as")
            body_start = close + 1
            body_end = (
                _match(toks, body_start) if toks[body_start].text == "{" else _end(toks, body_start)
            )
            try:
                seq = self.expr(inner[:as_at], env)
            except Unsupported:
                # a loop over rows read at run time: nothing to do on an empty schema
                self.note(toks[i : body_end + 1])
                return body_end + 1
            names = [x.text for x in inner[as_at + 1 :] if x.kind == "var"]
            body = (
                toks[body_start + 1 : body_end]
                if toks[body_start].text == "{"
                else toks[body_start:body_end]
            )
            items = seq.items() if isinstance(seq, dict) else enumerate(seq)  # type: ignore[arg-type]
            for key, value in items:
                scope = dict(env)
                if len(names) == 2:
                    scope[names[0]], scope[names[1]] = key, value
                else:
                    scope[names[0]] = value
                self.block(body, scope)
            return body_end + 1
        end = _end(toks, i)
        stmt = toks[i:end]
        try:
            self.simple(stmt, env)
        except Unsupported:
            self.note(stmt)
        return end + 1

    def note(self, toks: list[Tok]) -> None:
        """Remember a skipped statement that would have added SQL."""
        if any(t.text == "addSql" for t in toks):
            self.skipped.append(" ".join(t.text for t in toks)[:160])

    def simple(self, stmt: list[Tok], env: dict[str, object]) -> None:
        texts = [x.text for x in stmt]
        if len(stmt) > 2 and stmt[0].kind == "var" and texts[1] == "=":
            env[stmt[0].text] = self.expr(stmt[2:], env)
            return
        if texts[:3] == ["$this", "->", "addSql"]:
            args = self.args(stmt[4 : _match(stmt, 3)], env)
            sql = str(args[0])
            if len(args) > 1 and isinstance(args[1], dict):
                for key, value in args[1].items():
                    sql = re.sub(rf":{key}\b", _literal(value).replace("\\", "\\\\"), sql)
            self.sql.append(sql)
            return
        if texts[:2] == ["$this", "->"] and len(texts) > 3 and texts[2] in self.methods:
            self.call(texts[2], self.args(stmt[4 : _match(stmt, 3)], env))
            return
        raise Unsupported(" ".join(texts))

    # -- expressions --------------------------------------------------------------
    def args(self, toks: list[Tok], env: dict[str, object]) -> list[object]:
        return [self.expr(part, env) for part in _split(toks, ",") if part]

    def expr(self, toks: list[Tok], env: dict[str, object]) -> object:
        parts = _split(toks, "??")
        if len(parts) > 1:
            try:
                left = self.expr(parts[0], env)
            except Unsupported:
                left = None
            return left if left is not None else self.expr([t for p in parts[1:] for t in p], env)
        pieces = _split(toks, ".")
        if len(pieces) > 1:
            return "".join(str(self.expr(p, env)) for p in pieces)
        return self.atom(toks, env)

    def atom(self, toks: list[Tok], env: dict[str, object]) -> object:
        texts = [x.text for x in toks]
        if len(toks) == 1:
            t = toks[0]
            if t.kind in ("str", "num"):
                return t.value
            if t.kind == "var":
                if t.text not in env:
                    raise Unsupported(t.text)
                return env[t.text]
            if t.text.lower() in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[t.text.lower()]
        if texts and texts[0] == "[" and _match(toks, 0) == len(toks) - 1:
            inner = _split(toks[1:-1], ",")
            keyed = [_split(p, "=>") for p in inner if p]
            if keyed and all(len(k) == 2 for k in keyed):
                return {self.expr(k[0], env): self.expr(k[1], env) for k in keyed}
            return [self.expr(p, env) for p in inner if p]
        if len(toks) >= 4 and toks[0].kind == "var" and texts[1] == "[" and texts[-1] == "]":
            base = self.atom(toks[:1], env)
            index = self.expr(toks[2:-1], env)
            try:
                return base[index]  # type: ignore[index]
            except (KeyError, IndexError, TypeError) as exc:
                raise Unsupported(" ".join(texts)) from exc
        if texts[:4] == ["$this", "->", "connection", "->"]:
            if texts[4] == "quoteSingleIdentifier":
                return "`" + str(self.expr(toks[6:-1], env)) + "`"
            if texts[4] == "getDatabase":
                return self.database
        raise Unsupported(" ".join(texts))


def _match(toks: list[Tok], i: int) -> int:
    """Index of the bracket closing the one at ``i``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    for k in range(i, len(toks)):
        if toks[k].kind != "op":
            continue
        if toks[k].text in pairs:
            depth += 1
        elif toks[k].text in pairs.values():
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unbalanced brackets")


def _end(toks: list[Tok], i: int) -> int:
    """Index of the ``;`` ending the statement at ``i`` (or of its closing block)."""
    k = i
    while k < len(toks):
        if toks[k].kind == "op" and toks[k].text in "([{":
            closing = _match(toks, k)
            if toks[k].text == "{" and toks[i].text in ("if", "else", "while", "for"):
                if closing + 1 < len(toks) and toks[closing + 1].text in ("else", "elseif"):
                    k = closing + 1
                    continue
                return closing
            k = closing + 1
            continue
        if toks[k].text == ";":
            return k
        k += 1
    return k


def _split(toks: list[Tok], sep: str) -> list[list[Tok]]:
    """``toks`` split on ``sep`` at bracket depth 0."""
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        if depth == 0 and t.kind == "op" and t.text == sep:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def methods_of(php: str) -> dict[str, tuple[list[str], list[Tok]]]:
    """Each method of the migration class: its parameter names and body tokens."""
    toks = tokenize(php)
    out: dict[str, tuple[list[str], list[Tok]]] = {}
    for i, t in enumerate(toks):
        if t.text == "function" and i + 1 < len(toks) and toks[i + 1].kind == "name":
            close = _match(toks, i + 2)
            params = [x.text for x in toks[i + 3 : close] if x.kind == "var"]
            k = close + 1
            while toks[k].text != "{":
                k += 1
            out[toks[i + 1].text] = (params, toks[k + 1 : _match(toks, k)])
    return out


def migration_sql(php: str, database: str) -> list[str]:
    """The SQL one migration adds on the way up (``preUp`` then ``up``)."""
    methods = methods_of(php)
    ev = Evaluator(methods, database)
    for name in ("preUp", "up"):
        if name in methods:
            ev.call(name, [None])
    for text in ev.skipped:
        print(f"skipped: {text}", file=sys.stderr)
    return ev.sql


def git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        [shutil.which("git") or "/usr/bin/git", f"--git-dir={git_dir}", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def mariadb(sql: str, database: str | None = None) -> str:
    cmd = [*MARIADB, "--batch", "--skip-column-names"] + ([database] if database else [])
    return subprocess.run(cmd, input=sql, check=True, capture_output=True, text=True).stdout


def build(git_dir: Path, out: Path) -> str:
    """Replay every migration into a throwaway database; write the dump to ``out``.
    Returns the newest migration version."""
    commit = git(git_dir, "rev-parse", "HEAD").strip()
    names = sorted(
        n
        for n in git(git_dir, "ls-tree", "--name-only", f"HEAD:{MIGRATIONS}").split()
        if re.fullmatch(r"Version\d{14}\.php", n)
    )
    database = f"azuracast_schema_{uuid.uuid4().hex[:12]}"
    mariadb(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    try:
        # NOTE: Doctrine creates its own bookkeeping table before the first migration
        mariadb(
            "CREATE TABLE app_migrations (version VARCHAR(191) NOT NULL, "
            "executed_at DATETIME DEFAULT NULL, execution_time INT DEFAULT NULL, "
            "PRIMARY KEY(version)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            database,
        )
        for name in names:
            version = name.removesuffix(".php")
            statements = migration_sql(git(git_dir, "show", f"HEAD:{MIGRATIONS}/{name}"), database)
            script = "".join(s.rstrip().rstrip(";") + ";\n" for s in statements)
            try:
                mariadb(script, database)
            except subprocess.CalledProcessError as exc:
                raise SystemExit(f"{version}: {exc.stderr.strip()}") from exc
        newest = names[-1].removesuffix(".php")
        dump = subprocess.run(
            [
                shutil.which("mariadb-dump") or "/usr/bin/mariadb-dump",
                "-h127.0.0.1",
                "-P3306",
                "-uroot",
                "--no-data",
                "--skip-dump-date",
                "--default-character-set=UTF8MB4",
                database,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        mariadb(f"DROP DATABASE IF EXISTS `{database}`")
    header = (
        "-- AzuraCast's schema, derived by tests/importers/azuracast/make_schema.py\n"
        "-- from the Doctrine migrations of github.com/AzuraCast/AzuraCast\n"
        f"-- upstream commit: {commit}\n"
        f"-- newest migration: {newest}\n"
        f"-- migrations replayed: {len(names)}\n"
    )
    out.write_text(header + dump.replace(database, "azuracast"))
    return newest


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make_schema.py AZURACAST_GIT_DIR", file=sys.stderr)
        return 2
    newest = build(Path(argv[1]), HERE / "schema.sql")
    print(f"wrote {HERE / 'schema.sql'} (newest migration {newest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
