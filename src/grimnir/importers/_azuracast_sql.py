"""Read a MariaDB/MySQL dump (``mariadb-dump``'s output) without a database server.

A dump is a stream of ``CREATE TABLE`` and ``INSERT INTO … VALUES (…),(…);``
statements. We read it line by line: string values never span lines (the dump
escapes newlines as ``\\n``), so a line ending in ``;`` ends a statement, both in
the old one-line ``INSERT`` form and in MariaDB 10.11's row-per-line form. Only
the tables asked for are tokenised and kept (as tuples, column names once per
table); the rest (play history, listeners, analytics: most of a large dump) are
skipped line by line without being parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NoReturn

from grimnir.importers.errors import BackupError

Value = str | int | float | bytes | None

_STRING = r"'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'"
_TOKEN = re.compile(
    rf"""\s*(?:
        ({_STRING})                     # a string, quotes included
      | ([(),;])                        # punctuation
      | _binary\s*({_STRING})           # a binary string
      | 0x([0-9A-Fa-f]*)                # a hex literal
      | b'([01]*)'                      # a bit literal
      | ([^\s,()';]+|\S)                # NULL, a number, or something wrong
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_ESCAPE = re.compile(r"\\(.)|''", re.DOTALL)
_INSERT = re.compile(
    r"INSERT\s+(?:IGNORE\s+)?INTO\s+`(?P<t>[^`]+)`\s*(?:\((?P<c>[^)]*)\))?\s*VALUES\s*"
)
_CREATE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`(?P<t>[^`]+)`\s*\(")
_COLUMN = re.compile(r"\s+`(?P<c>(?:[^`]|``)+)`\s")


def _one_escape(m: re.Match[str]) -> str:
    ch = m.group(1)
    return "'" if ch is None else _ESCAPES.get(ch, ch)


def _unescape(text: str) -> str:
    """A dumped string's value: ``\\n``, ``\\'``, ``''`` … undone."""
    return _ESCAPE.sub(_one_escape, text)


@dataclass
class Table:
    """One table of the dump: its columns (from ``CREATE TABLE``) and the rows kept."""

    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Value, ...]] = field(default_factory=list)

    def dicts(self) -> Iterable[dict[str, Value]]:
        """Each row as ``{column: value}`` (made one at a time)."""
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=False))


@dataclass
class Dump:
    """What was read: every table's columns, the rows of the tables asked for,
    and how the dump began and ended."""

    tables: dict[str, Table] = field(default_factory=dict)
    header: str = ""
    complete: bool = False
    """The dump's closing ``-- Dump completed`` line was read (not cut short)."""
    error: BackupError | None = None
    """The first line that could not be parsed (reported when the dump is not
    simply cut short: a cut leaves a broken last line too)."""

    def rows(self, name: str) -> Iterable[dict[str, Value]]:
        table = self.tables.get(name)
        return () if table is None else table.dicts()


class _RowBuilder:
    """Turns the tokens of one ``INSERT``'s values, line by line, into tuples."""

    def __init__(self, table: Table, where: str) -> None:
        self.table = table
        self.where = where
        self.row: list[Value] | None = None
        self.done = False

    def feed(self, text: str, line_no: int) -> None:
        row = self.row
        for string, punct, binary, hexa, bits, word in _TOKEN.findall(text):
            if string:
                if row is None:
                    self._bad(line_no, string[:20])
                value = string[1:-1]
                if "\\" in value or "''" in value:  # NOTE: most values have no escapes
                    value = _unescape(value)
                row.append(value)
            elif punct:
                if punct == ",":
                    continue
                if punct == "(" and row is None:
                    row = []
                elif punct == ")" and row is not None:
                    self.table.rows.append(tuple(row))
                    row = None
                elif punct == ";" and row is None:
                    self.done = True
                else:
                    self._bad(line_no, punct)
            elif row is None:
                self._bad(line_no, (word or binary or hexa or bits)[:20])
            elif word:
                row.append(self._word(word, line_no))
            elif binary:
                row.append(_unescape(binary[1:-1]).encode("utf-8", "surrogateescape"))
            elif bits:
                row.append(int(bits, 2))
            else:
                row.append(bytes.fromhex(hexa))
        self.row = row

    def _word(self, word: str, line_no: int) -> Value:
        """NULL or a number."""
        if word == "NULL":
            return None
        try:
            return int(word)
        except ValueError:
            pass
        try:
            return float(word)
        except ValueError:
            self._bad(line_no, word[:20])

    def _bad(self, line_no: int, near: str) -> NoReturn:
        raise BackupError(
            f"{self.where}: line {line_no} of the database dump cannot be read "
            f"(near {near!r} in the rows of table {self.table.name!r}); "
            "the dump is damaged: make a new backup with azuracast:backup"
        )


def read_dump(lines: Iterable[bytes], keep: set[str], where: str) -> Dump:
    """Read a dump from its lines (bytes), keeping the rows of the tables in ``keep``.

    ``where`` names the file in messages; a line that cannot be parsed is in
    :attr:`Dump.error` (its rows are left out).
    """
    dump = Dump()
    creating: Table | None = None
    inserting: _RowBuilder | None = None
    skipping = False
    header: list[str] = []
    for line_no, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", "surrogateescape")
        if line_no <= 5:
            header.append(line)
        if skipping:
            skipping = not line.rstrip().endswith(";")
            continue
        if inserting is not None:
            try:
                inserting.feed(line, line_no)
            except BackupError as exc:
                dump.error = dump.error or exc
                inserting, skipping = None, not line.rstrip().endswith(";")
                continue
            if inserting.done:
                inserting = None
            continue
        if creating is not None:
            col = _COLUMN.match(line)
            if col is not None:
                creating.columns.append(col.group("c").replace("``", "`"))
            elif line.startswith(")"):
                creating = None
            continue
        if line.startswith("INSERT"):
            m = _INSERT.match(line)
            if m is None:
                raise BackupError(f"{where}: line {line_no}: an INSERT we cannot read")
            name = m.group("t")
            if name not in keep:
                skipping = not line.rstrip().endswith(";")
                continue
            table = dump.tables.setdefault(name, Table(name))
            if m.group("c"):
                table.columns = [c.strip().strip("`") for c in m.group("c").split(",")]
            inserting = _RowBuilder(table, where)
            try:
                inserting.feed(line[m.end() :], line_no)
            except BackupError as exc:
                dump.error = dump.error or exc
                inserting, skipping = None, not line.rstrip().endswith(";")
                continue
            if inserting.done:
                inserting = None
            continue
        if line.startswith("CREATE"):
            m = _CREATE.match(line)
            if m is not None:
                creating = dump.tables[m.group("t")] = Table(m.group("t"))
            continue
        if line.startswith("-- Dump completed"):
            dump.complete = True
    dump.header = "".join(header)
    if inserting is not None or skipping:
        dump.complete = False
    return dump
