"""What a read-only door (analyst, tenant) does to a statement before the guard sees it, and
the checks the guard leaves to the engine's grants (which the endpoint's one `default` user,
an admin, does not have).

- The metadata statements BI tools list the views with (`SHOW DATABASES`, `SHOW TABLES`,
  `DESCRIBE`, `EXISTS`) become the SELECT on the system table ClickHouse answers them from,
  so they pass the one-SELECT guard and the engine filters them like any system table read.
- A trailing `FORMAT` clause (clickhouse-connect appends `FORMAT Native` to every query) is
  taken off and becomes the output format; the guard refuses any other output option.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from serving.access.guard import DENIED_FUNCTIONS, DENIED_PREFIXES, RefusedStatementError
from serving.endpoint.engine import Handle

_NAME = r"`?([A-Za-z_][A-Za-z0-9_]*)`?"
_FORMAT = r"(?:\s+FORMAT\s+([A-Za-z][A-Za-z0-9_]*))?"
_SHOW_DATABASES = re.compile(rf"SHOW\s+DATABASES{_FORMAT}", re.I)
_SHOW_TABLES = re.compile(rf"SHOW\s+TABLES(?:\s+(?:FROM|IN)\s+{_NAME})?{_FORMAT}", re.I)
_DESCRIBE = re.compile(rf"(?:DESCRIBE|DESC)\s+(?:TABLE\s+)?(?:{_NAME}\.)?{_NAME}{_FORMAT}", re.I)
_EXISTS = re.compile(rf"EXISTS\s+(?:TEMPORARY\s+)?(?:TABLE\s+|VIEW\s+|DICTIONARY\s+)?"
                     rf"(?:{_NAME}\.)?{_NAME}{_FORMAT}", re.I)
_CANONICAL_FORMAT = re.compile(r"^(.*\S)\s+FORMAT\s+([A-Za-z][A-Za-z0-9_]*)$", re.S)


def _with_format(select: str, fmt: str | None) -> str:
    return f"{select} FORMAT {fmt}" if fmt else select


def translate_metadata(sql: str, current_database: str) -> str:
    """`sql` itself, or the SELECT a SHOW/DESCRIBE/EXISTS statement stands for."""
    text = sql.strip().rstrip(";").strip()
    if match := _SHOW_DATABASES.fullmatch(text):
        return _with_format("SELECT name FROM system.databases ORDER BY name", match[1])
    if match := _SHOW_TABLES.fullmatch(text):
        database = match[1] or current_database
        return _with_format(f"SELECT name FROM system.tables WHERE database = '{database}' "
                            "ORDER BY name", match[2])
    if match := _DESCRIBE.fullmatch(text):
        database = match[1] or current_database
        return _with_format(
            "SELECT name, type, default_kind AS default_type, default_expression, comment, "
            "compression_codec AS codec_expression, '' AS ttl_expression FROM system.columns "
            f"WHERE database = '{database}' AND table = '{match[2]}' ORDER BY position", match[3])
    if match := _EXISTS.fullmatch(text):
        database = match[1] or current_database
        return _with_format(f"SELECT toUInt8(count() > 0) AS result FROM system.tables WHERE "
                            f"database = '{database}' AND name = '{match[2]}'", match[3])
    return sql


def split_format(handle: Handle, sql: str) -> tuple[str, str | None]:
    """(the statement without its trailing FORMAT clause, that format). The statement is
    the parser's canonical text, so no literal or comment is mistaken for the clause; one
    that does not parse is returned as is, for the guard to refuse."""
    if "format" not in sql.lower():
        return sql, None  # no FORMAT clause to take off (the guard parses it anyway)
    try:
        canonical = handle.rows("SELECT formatQuery({s:String})", {"s": sql})[0][0]
    except RuntimeError:
        return sql, None
    match = _CANONICAL_FORMAT.fullmatch(canonical)
    return (match[1], match[2]) if match else (canonical, None)


def _tree(handle: Handle, statement: str, parameters: Mapping[str, str]) -> list[str]:
    return [row[0] for row in handle.rows(f"EXPLAIN AST {statement}", parameters)]


def check_no_host_access(handle: Handle, statement: str,
                         parameters: Mapping[str, str]) -> None:
    """The analyst's rule: one SELECT without output options, no table function, none of
    the scalar functions that read the host (the guard's list)."""
    try:
        handle.rows("SELECT formatQuery({s:String})", {"s": f"SELECT 1 FROM ({statement})"})
    except RuntimeError as e:
        raise RefusedStatementError(
            "refused: this login runs one SELECT (or SHOW/DESCRIBE/EXISTS) per call, without "
            f"INTO OUTFILE ({e})") from None
    parents: list[str] = []
    for line in _tree(handle, statement, parameters):
        depth = len(line) - len(line.lstrip(" "))
        words = line.split()
        del parents[depth:]
        if words[0] == "Function" and len(words) > 1:
            if parents and parents[-1] == "TableExpression":
                raise RefusedStatementError(f"refused: table function {words[1]}() is not "
                                            "allowed for this login")
            lowered = words[1].lower()
            if lowered in DENIED_FUNCTIONS or lowered.startswith(DENIED_PREFIXES):
                raise RefusedStatementError(f"refused: function {words[1]}() is not allowed "
                                            "for this login")
        parents.append(words[0])


def check_tenant_relations(handle: Handle, statement: str, parameters: Mapping[str, str],
                           current_database: str, readable: Iterable[str],
                           databases: Iterable[str]) -> None:
    """Every relation a tenant statement names is a known `bi` relation or a system table
    (which the guard checks): the engine's `default` user could read everything else.
    `readable`: the `bi` relations the access model knows (a view created since it was read
    is refused until it is read again); `databases`: every database of the warehouse (an
    identifier `raw.users` in `x IN raw.users` reads that table)."""
    known = set(readable)
    others = set(databases) - {"bi", "system", "information_schema", "INFORMATION_SCHEMA"}
    for line in _tree(handle, statement, parameters):
        words = line.split()
        if words[0] == "TableIdentifier":
            database, dot, table = words[1].rpartition(".")
            database = database if dot else current_database
            if database.lower() in ("system", "information_schema"):
                continue  # the guard's list of readable system tables
            if database != "bi" or table not in known:
                raise RefusedStatementError(f"refused: {database}.{table} is not readable for "
                                            "a tenant (read the bi views)")
        elif words[0] == "Identifier" and "." in words[1]:
            first, _, rest = words[1].partition(".")
            if first in others or (first == "bi" and rest.split(".")[0] not in known):
                raise RefusedStatementError(f"refused: {words[1]} is not readable for a tenant")
