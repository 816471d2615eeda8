"""Read a PostgreSQL plain-format dump (``pg_dump … > libretime.sql``) without a server.

The dump is SQL text: ``CREATE TABLE`` statements, then each table's rows either
as a ``COPY … FROM stdin;`` block of tab-separated lines ending in ``\\.`` (the
default) or as ``INSERT`` statements (``--inserts`` / ``--column-inserts``). Rows
come back as the text PostgreSQL prints for each value (``COPY``'s text form:
``t``/``f``, ``00:03:25.5``, ``2024-05-01 12:00:00``), ``None`` for NULL; a live
database read with ``COPY … TO STDOUT`` gives the very same text, so both paths
build the same snapshot.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from grimnir.importers.errors import BackupError

Row = dict[str, str | None]
Tables = dict[str, list[Row]]

_COPY = re.compile(r"^COPY\s+(\S+)\s*\((.*)\)\s+FROM\s+stdin;\s*$")
_CREATE = re.compile(r"^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(\S+)\s*\($")
_INSERT = re.compile(r"INSERT\s+INTO\s+(\S+)\s*(?:\(([^)]*)\))?\s*VALUES\s*", re.IGNORECASE)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_COPY_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)")
_BARE = re.compile(r"[^,)]+")
_CAST = re.compile(r"::[\w\s\[\]\"().,]+?(?=[,)])")
_MARIADB = ("-- MySQL dump", "-- MariaDB dump", "/*!40101", "/*M!", "ENGINE=InnoDB")


def _name(qualified: str) -> str:
    """``public.cc_files`` / ``"public"."cc_files"`` → ``cc_files``."""
    return qualified.rsplit(".", 1)[-1].strip('"')


def _unescape(match: re.Match[str]) -> str:
    code = match[1]
    if code[0] == "x" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _ESCAPES.get(code, code)


def copy_row(line: str, columns: list[str]) -> Row:
    """One line of a ``COPY`` text block as column → text (``\\N`` → None)."""
    fields = line.split("\t")
    if len(fields) != len(columns):
        raise ValueError(f"{len(fields)} values for {len(columns)} columns")
    return {
        c: None if f == "\\N" else _COPY_ESCAPE.sub(_unescape, f) if "\\" in f else f
        for c, f in zip(columns, fields, strict=True)
    }


def _read_text(dump: Path) -> str:
    try:
        raw = dump.read_bytes()
    except OSError as e:
        raise BackupError(f"cannot read the dump {dump}: {e.strerror or e}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise BackupError(
                f"{dump.name}: a damaged gzip file ({e}); compress it again"
            ) from None
    if raw[:5] == b"PGDMP":
        raise BackupError(
            f"{dump.name} is a pg_dump custom-format archive; turn it into plain SQL with "
            f"'pg_restore -f {dump.stem}.sql {dump.name}' and import that file"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupError(
            f"{dump.name} is not UTF-8 text: it is not a pg_dump plain-format dump "
            "(make one with 'pg_dump --no-owner --no-privileges libretime > libretime.sql')"
        ) from None


def _check_product(text: str, name: str) -> None:
    head = text[:20000]
    if any(marker in head for marker in _MARIADB) or "CREATE TABLE `" in head:
        raise BackupError(
            f"{name} is a MySQL/MariaDB dump (AzuraCast's db.sql?), not LibreTime's PostgreSQL "
            "dump: import an AzuraCast backup with 'grimnir import azuracast --backup FILE.zip'"
        )
    if "PostgreSQL database dump" not in head:
        raise BackupError(
            f"{name} is not a PostgreSQL dump (no 'PostgreSQL database dump' header): make one "
            "with 'pg_dump --no-owner --no-privileges libretime > libretime.sql'"
        )


def _sql_values(text: str, pos: int, where: str) -> tuple[list[list[str | None]], int]:
    """The ``(…), (…)`` tuples of an INSERT from ``pos`` up to its ``;``: each value
    as the text COPY would print (quotes removed, ``NULL`` → None, a cast dropped)."""
    rows: list[list[str | None]] = []
    cut = f"{where}: the INSERT statement is cut off (truncated dump?)"
    while True:
        pos = _skip(text, pos, " \t\r\n,")
        if pos >= len(text):
            raise BackupError(cut)
        if text[pos] == ";":
            return rows, pos + 1
        if text[pos] != "(":
            raise BackupError(f"{where}: unexpected {text[pos : pos + 20]!r} in an INSERT")
        pos += 1
        row: list[str | None] = []
        while True:
            pos = _skip(text, pos, " \t\r\n")
            if pos >= len(text):
                raise BackupError(cut)
            value, pos = _literal(text, pos, where)
            row.append(value)
            pos = _skip(text, pos, " \t\r\n")
            if text[pos : pos + 1] == ",":
                pos += 1
            elif text[pos : pos + 1] == ")":
                rows.append(row)
                pos += 1
                break
            else:
                raise BackupError(cut)


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _literal(text: str, pos: int, where: str) -> tuple[str | None, int]:
    """One SQL literal at ``pos`` (``'it''s'``, ``E'a\\tb'``, ``42``, ``NULL``, ``true``)
    as COPY would print it, and the offset after it (and after a ``::type`` cast)."""
    if text[pos] != "'" and text[pos : pos + 2] not in ("E'", "e'"):
        m = _BARE.match(text, pos)
        if m is None:
            raise BackupError(f"{where}: an empty value in an INSERT")
        token = m[0].strip()
        return (None if token.upper() == "NULL" else _bare(token)), m.end()
    escaped = text[pos] != "'"
    pos += 2 if escaped else 1
    chunks = []
    while True:
        end = text.find("'", pos)
        if end < 0:
            raise BackupError(f"{where}: an unterminated string (truncated dump?)")
        if escaped and _odd_backslashes(text, pos, end):  # \' inside E'…'
            chunks.append(text[pos : end + 1])
            pos = end + 1
        elif text[end + 1 : end + 2] == "'":  # '' is one quote
            chunks.append(text[pos:end] + "'")
            pos = end + 2
        else:
            chunks.append(text[pos:end])
            pos = end + 1
            break
    value = "".join(chunks)
    if escaped:
        value = _COPY_ESCAPE.sub(_unescape, value)
    cast = _CAST.match(text, pos)
    return value, cast.end() if cast else pos


def _odd_backslashes(text: str, start: int, end: int) -> bool:
    """Whether the quote at ``end`` is escaped by the backslashes before it."""
    count = 0
    i = end - 1
    while i >= start and text[i] == "\\":
        count += 1
        i -= 1
    return count % 2 == 1


def _bare(token: str) -> str:
    """An unquoted literal as COPY prints it: ``true`` → ``t``, ``false`` → ``f``."""
    lowered = token.lower()
    return {"true": "t", "false": "f"}.get(lowered, token)


def _create_columns(body: str) -> list[str]:
    """Column names of a ``CREATE TABLE`` body (the lines between its parentheses)."""
    columns = []
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped or stripped.split()[0].upper() in ("CONSTRAINT", "PRIMARY", "UNIQUE"):
            continue
        columns.append(stripped.split()[0].strip('"'))
    return columns


def parse_dump(dump: Path) -> Tables:
    """Every table's rows in a plain-format pg_dump; BackupError says what is wrong."""
    text = _read_text(dump)
    _check_product(text, dump.name)
    tables: Tables = {}
    columns: dict[str, list[str]] = {}
    pos, n, line_no = 0, len(text), 1
    while pos < n:
        eol = text.find("\n", pos)
        eol = n if eol < 0 else eol
        line = text[pos:eol]
        nxt = eol + 1
        if line.startswith("CREATE"):
            m = _CREATE.match(line)
            if m:
                end = text.find("\n)", nxt)
                end = n if end < 0 else end
                columns[_name(m[1])] = _create_columns(text[nxt:end])
                nxt = end + 1
        elif line.startswith("COPY "):
            m = _COPY.match(line)
            if m:
                nxt = _copy(text, nxt, _name(m[1]), m[2], tables, dump.name)
        elif line.startswith("INSERT INTO"):
            nxt = _insert(text, pos, tables, columns, f"{dump.name} line {line_no}")
        line_no += text.count("\n", pos, nxt)
        pos = nxt
    if "PostgreSQL database dump complete" not in text[-2000:]:
        raise BackupError(
            f"{dump.name} ends before pg_dump's closing line ('PostgreSQL database dump "
            "complete'): the dump is truncated; dump the database again"
        )
    return tables


def _copy(text: str, pos: int, table: str, spec: str, tables: Tables, name: str) -> int:
    """The rows of the COPY block from ``pos``; the offset after its ``\\.`` line."""
    if text.startswith("\\.", pos) and text[pos + 2 : pos + 3] in ("\n", ""):
        block, after = "", pos + 3
    else:
        end = text.find("\n\\.\n", pos)
        if end < 0 and text.endswith("\n\\."):
            end = len(text) - 3
        if end < 0:
            raise BackupError(
                f"{name}: the rows of table {table} are cut off (no closing '\\.'): "
                "the dump is truncated; dump the database again"
            )
        block, after = text[pos:end], end + 4
    cols = [c.strip().strip('"') for c in spec.split(",")]
    rows = tables.setdefault(table, [])
    for data in block.split("\n") if block else ():
        try:
            rows.append(copy_row(data, cols))
        except ValueError as e:
            raise BackupError(
                f"{name}: table {table}: a damaged COPY row ({e}); is the dump complete?"
            ) from None
    return after


def _insert(text: str, pos: int, tables: Tables, columns: dict[str, list[str]], where: str) -> int:
    """Parse the INSERT statement at ``pos`` (``where``: the file and line, for
    messages) into ``tables``; the offset after it."""
    m = _INSERT.match(text, pos)
    if m is None:
        raise BackupError(f"{where}: an INSERT statement this reader cannot follow")
    table = _name(m[1])
    cols = [c.strip().strip('"') for c in m[2].split(",")] if m[2] else columns.get(table)
    if not cols:
        raise BackupError(
            f"{where}: rows of table {table} without its CREATE TABLE: dump the whole "
            "database (schema and data), not the data alone"
        )
    values, end = _sql_values(text, m.end(), where)
    rows = tables.setdefault(table, [])
    for row in values:
        if len(row) != len(cols):
            raise BackupError(f"{where}: {len(row)} values for {len(cols)} columns")
        rows.append(dict(zip(cols, row, strict=True)))
    return end
