"""Each file's columns against its source's declaration and the raw table (docs/contract.md §3,
"Schema changes"): what to read, what changed, and what fails the day.

- A column the declaration lacks: `evolve` adds it to raw (nullable; the Parquet type, or
  String for CSV), `discard` ignores it, `freeze` fails the day naming it.
- A missing column: NULL (or the column's default) unless it is required, which fails.
- CSV is matched by header name, so a reordered header loads the same rows.
- A Parquet column's type: a lossless widening loads, any other change fails the day.
Every change is returned as a `SchemaChange` for `raw.schema_changes`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from ingest_loaders.errors import TerminalLoadError, classify
from ingest_loaders.landing import Landing, LandingFile
from ingest_loaders.read_sql import S3_SETTINGS, base_type, nullable_type
from ingest_loaders.tables import add_columns, export_columns
from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.sources import Column, FileFormat, Source

# The file types each raw type takes without losing a value (docs/contract.md §3: int16 → Int32,
# float32 → Float64 load; a narrowing such as Int64 → Int32 fails).
_WIDENS_TO = {
    "Int16": ("Int8", "UInt8"),
    "Int32": ("Int8", "Int16", "UInt8", "UInt16"),
    "Int64": ("Int8", "Int16", "Int32", "UInt8", "UInt16", "UInt32"),
    "UInt32": ("UInt8", "UInt16"),
    "UInt64": ("UInt8", "UInt16", "UInt32"),
    "Float64": ("Float32", "Int8", "Int16", "Int32", "UInt8", "UInt16", "UInt32"),
    "String": ("FixedString",),
    "Date32": ("Date",),
}
_DATETIME64 = re.compile(r"^DateTime64\((\d+)")


@dataclass(frozen=True)
class SchemaChange:
    column_name: str
    column_type: str  # the file's type (the raw type for a missing column)
    action: str  # added | discarded | rejected | missing | widened
    file: str


class SchemaRejectedError(TerminalLoadError):
    """A file whose columns cannot load; `change` is recorded in raw.schema_changes."""

    def __init__(self, reason: str, *, source: str, day: dt.date, change: SchemaChange) -> None:
        super().__init__(reason, source=source, day=day, file=change.file)
        self.change = change


@dataclass(frozen=True)
class FileLayout:
    """How to read one file: its fields in file order, each the raw column it loads into or
    None (a discarded column); the changes it brings; the new columns raw needs."""

    fields: tuple[str | None, ...]
    changes: tuple[SchemaChange, ...]
    new_columns: tuple[tuple[str, str], ...]  # (name, raw type), evolve only


def widening(raw_type: str, file_type: str) -> str:
    """'same', 'widened' or 'incompatible': may a file column of `file_type` load into a
    raw column of `raw_type`?"""
    want, got = base_type(raw_type), base_type(file_type)
    if want == got:
        return "same"
    want_ts, got_ts = _DATETIME64.match(want), _DATETIME64.match(got)
    if want_ts and (got == "DateTime" or (got_ts and int(got_ts[1]) <= int(want_ts[1]))):
        return "same" if got_ts and got_ts[1] == want_ts[1] else "widened"
    if any(got.startswith(t) for t in _WIDENS_TO.get(want, ())):
        return "widened"
    return "incompatible"


def file_layout(
    client: Client, landing: Landing, source: Source, raw_columns: dict[str, str],
    day: dt.date, f: LandingFile, fmt: FileFormat,
) -> FileLayout:
    """The file's layout against `raw_columns` (the raw table's export columns and types:
    the declared ones and those added since). Raises TerminalLoadError naming the column
    when the file cannot load (SchemaRejectedError)."""
    found = _parquet_columns(client, landing, source, day, f) if fmt is FileFormat.PARQUET else {
        name: "String" for name in _csv_header(client, landing, source, day, f)
    }

    def fail(reason: str, column: str, column_type: str) -> SchemaRejectedError:
        change = SchemaChange(column, base_type(column_type), "rejected", f.key)
        return SchemaRejectedError(reason, source=source.name, day=day, change=change)

    changes: list[SchemaChange] = []
    for column in source.columns:
        if column.name not in found and column.required:
            raise fail(f"schema drift: required column {column.name} is missing "
                       f"(file has {', '.join(found)})", column.name, column.ch_type)
    for name, raw_type in raw_columns.items():
        if name not in found:
            # Only a declared column is "missing"; one added later is NULL on older files.
            if name in source.column_names:
                changes.append(SchemaChange(name, base_type(raw_type), "missing", f.key))
        elif fmt is FileFormat.PARQUET:
            verdict = widening(raw_type, found[name])
            if verdict == "incompatible":
                raise fail(f"column {name} is {base_type(found[name])} in the file, expected "
                           f"{base_type(raw_type)} (only lossless widenings load)",
                           name, found[name])
            if verdict == "widened":
                changes.append(SchemaChange(name, base_type(found[name]), "widened", f.key))
    fields: list[str | None] = []
    new_columns = []
    for name, file_type in found.items():
        if name in raw_columns:
            fields.append(name)
            continue
        if source.schema_policy == "freeze":
            raise fail(f"schema drift: column {name} ({base_type(file_type)}) is not in the "
                       f"declaration and {source.name}'s schema_policy is freeze "
                       f"(declared: {', '.join(source.column_names)})", name, file_type)
        if source.schema_policy == "discard":
            fields.append(None)
            changes.append(SchemaChange(name, base_type(file_type), "discarded", f.key))
        else:
            fields.append(name)
            # Nullable, so the days loaded before it read NULL.
            new_columns.append((name, nullable_type(file_type)))
            changes.append(SchemaChange(name, nullable_type(file_type), "added", f.key))
    return FileLayout(tuple(fields), tuple(changes), tuple(new_columns))


def evolve_raw_table(
    client: Client, landing: Landing, source: Source, day: dt.date, files: list[LandingFile],
    fmt: FileFormat, *, record: Callable[[list[SchemaChange]], None],
    cluster: Cluster = SINGLE_SERVER,
) -> tuple[dict[str, FileLayout], Source]:
    """Each file's layout (by key), and the source as the raw table now is: the declared
    columns, then those added since. Under `evolve` a new column is added to raw here,
    before anything is staged, so the day's staging copy has it; `record` gets the changes
    that happen now (added, rejected); the others are recorded after the day's swap."""
    raw = export_columns(client, source.table)
    layouts = {}
    for f in files:
        if f.file_format != fmt:
            raise TerminalLoadError(
                f"expected {fmt.clickhouse} files for this source, found {f.name}",
                source=source.name, day=day, file=f.key)
        try:
            layout = file_layout(client, landing, source, raw, day, f, fmt)
        except SchemaRejectedError as e:
            record([e.change])
            raise
        if layout.new_columns:
            add_columns(client, source.table, list(layout.new_columns), cluster)
            record([c for c in layout.changes if c.action == "added"])
            raw = export_columns(client, source.table)
        layouts[f.key] = layout
    added = tuple(Column(n, t) for n, t in raw.items() if n not in source.column_names)
    return layouts, dataclasses.replace(source, columns=source.columns + added)


def _parquet_columns(
    client: Client, landing: Landing, source: Source, day: dt.date, f: LandingFile
) -> dict[str, str]:
    table_fn, params = _describe_fn(landing, f, FileFormat.PARQUET.clickhouse)
    try:
        described = client.query(
            f"DESCRIBE TABLE {table_fn}", parameters=params,
            settings={**S3_SETTINGS, "use_hive_partitioning": 0},
        ).result_rows
    except ClickHouseError as e:
        raise classify(
            e, source=source.name, day=day, file=f.key, what="not a readable Parquet file"
        ) from e
    return {row[0]: row[1] for row in described}


def _csv_header(
    client: Client, landing: Landing, source: Source, day: dt.date, f: LandingFile
) -> list[str]:
    table_fn, params = _describe_fn(landing, f, "LineAsString", structure="line String")
    try:
        first = client.query(
            f"SELECT line FROM {table_fn} LIMIT 1", parameters=params, settings=S3_SETTINGS
        ).result_rows
    except ClickHouseError as e:
        raise classify(e, source=source.name, day=day, file=f.key, what="could not read") from e
    if not first:
        raise TerminalLoadError(
            "empty file: expected a CSV header row", source=source.name, day=day, file=f.key
        )
    header = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first[0][0]]))]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated or "" in header:
        raise TerminalLoadError(
            f"the header names a column twice or not at all: {','.join(header)}",
            source=source.name, day=day, file=f.key,
        )
    return header


def _describe_fn(
    landing: Landing, f: LandingFile, clickhouse_format: str, structure: str = ""
) -> tuple[str, dict]:
    table_fn, params = landing.table_function(f, clickhouse_format, structure or "auto")
    if not structure:  # let ClickHouse infer the schema from the file itself
        table_fn = table_fn.replace(", {structure:String})", ")")
        params = {k: v for k, v in params.items() if k != "structure"}
    return table_fn, params
