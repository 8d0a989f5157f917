"""What a tenant session refuses before a statement runs, decided by ClickHouse's own parser.

Grants, `readonly` and settings constraints are enforced by the engine on a server and on
chDB alike. Three rules the embedded engine does not enforce itself (ARCHITECTURE.md): the
scalar `file()` reads any file the process can, `INTO OUTFILE` writes one, and several
`;`-separated statements run in one call. So every statement of a tenant session is first
1. parsed by `formatQuery` (the statement passed as a bound parameter, never spliced): it
   must be exactly one statement, and its canonical text is what runs afterwards;
2. parsed again as a subquery, which only a SELECT without output options is: no INSERT,
   SET, KILL, SYSTEM…, no INTO OUTFILE, no FORMAT;
3. parsed by `EXPLAIN AST` (safe now: no output options) and walked: a SELECT at the root (not
   EXPLAIN, SHOW, DESCRIBE), no table function at all (files, URLs, S3, remote servers,
   executables, dictionaries), none of the scalar functions that read the host, and of the
   system and information_schema tables only those BI tools list the views with
   (model.TENANT_SYSTEM_TABLES): chDB reads no `select_from_system_db_requires_grant`, so
   grants alone leave ~110 system tables readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from saas_warehouse.warehouse import clickhouse_message
from serving.access.model import TENANT_SYSTEM_TABLES

# Scalar functions that read files, the process or the host's configuration, or look up
# dictionaries and Join tables (compared lower-case: some names are case-insensitive).
DENIED_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "file", "catboostEvaluate", "showCertificate", "getServerSetting",
        "getMergeTreeSetting", "filesystemAvailable", "filesystemCapacity",
        "filesystemUnreserved", "addressToLine", "addressToLineWithInlines", "addressToSymbol",
        "demangle", "joinGet", "joinGetOrNull", "getClientHTTPHeader",
    )
)
DENIED_PREFIXES = ("dictget", "dicthas", "dictis")
SELECT_ROOTS = ("SelectWithUnionQuery", "SelectIntersectExceptQuery")
# Lower-case: information_schema is also spelled INFORMATION_SCHEMA, with upper-case tables.
_SYSTEM_DATABASES = {db: frozenset(tables) for db, tables in TENANT_SYSTEM_TABLES.items()}


class RefusedStatementError(PermissionError):
    """A tenant session refused a statement before it ran."""


def checked_statement(client: Client, sql: str,
                      parameters: Mapping[str, Any] | None = None,
                      current_database: str = "default") -> str:
    """The canonical text of `sql` if a tenant may run it; raises RefusedStatementError.
    `current_database` is where unqualified table names resolve."""
    canonical = _format(client, sql)
    try:  # only a SELECT without output options parses as a subquery
        _format(client, f"SELECT 1 FROM ({canonical})")
    except RefusedStatementError as e:
        raise RefusedStatementError(
            "refused: a tenant session runs one SELECT per call, without INTO OUTFILE or FORMAT"
        ) from e
    tree = [row[0] for row in client.query(
        f"EXPLAIN AST {canonical}", parameters=dict(parameters or {})
    ).result_rows]
    if not tree or tree[0].split()[0] not in SELECT_ROOTS:
        raise RefusedStatementError("refused: a tenant session runs one SELECT per call")
    _check_tree(tree, current_database)
    return canonical


def _format(client: Client, sql: str) -> str:
    """`sql` as ClickHouse's parser prints it (bound as a parameter: parsed, never run)."""
    try:
        return client.query(
            "SELECT formatQuery({statement:String})", parameters={"statement": sql}
        ).result_rows[0][0]
    except DatabaseError as e:
        raise RefusedStatementError(
            f"refused: not one valid statement ({clickhouse_message(e)})"
        ) from e


def _check_relation(name: str, current_database: str) -> None:
    """A table name (or an identifier that may name one: `x IN system.parts` reads it)."""
    database, dot, table = name.rpartition(".")
    if not dot:
        database = current_database
    if database.lower() not in _SYSTEM_DATABASES:
        return  # bi, or refused by the engine's grants
    folded = table.lower() if database.lower() == "information_schema" else table
    if folded not in _SYSTEM_DATABASES[database.lower()]:
        raise RefusedStatementError(
            f"refused: {database}.{table} is not readable in a tenant session (readable: "
            + ", ".join(f"{db}.{t}" for db, tables in TENANT_SYSTEM_TABLES.items()
                        for t in tables) + ")"
        )


def _check_tree(lines: list[str], current_database: str) -> None:
    """Walks EXPLAIN AST's indented tree ("<indent><Node> [name] [(alias …)] [(children n)]")."""
    parents: list[str] = []  # node kinds along the path to the current line
    for line in lines:
        depth = len(line) - len(line.lstrip(" "))
        words = line.split()
        del parents[depth:]
        kind = words[0]
        if kind == "TableIdentifier" or (kind == "Identifier" and "." in words[1]):
            _check_relation(words[1], current_database)
        if kind == "Function" and len(words) > 1:
            name = words[1]
            if parents and parents[-1] == "TableExpression":
                raise RefusedStatementError(
                    f"refused: table function {name}() is not allowed in a tenant session "
                    "(read the bi views)"
                )
            lowered = name.lower()
            if lowered in DENIED_FUNCTIONS or lowered.startswith(DENIED_PREFIXES):
                raise RefusedStatementError(
                    f"refused: function {name}() is not allowed in a tenant session"
                )
        parents.append(kind)
