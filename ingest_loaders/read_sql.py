"""The SQL that reads one export file and decides, row by row, whether it keeps the contract.

ClickHouse does the reading and the checking itself: every row is parsed into typed,
nullable columns beside the reason it is rejected ('' when it is fine) and, for rejected
rows only, the row as read (JSON). Nothing goes through Python.
"""

from __future__ import annotations

import datetime as dt
import re

from ingest_loaders.deliveries import FIRST
from saas_warehouse.sources import Column, FileFormat, Source

_WRAPPER = re.compile(r"^(?:LowCardinality|Nullable)\((.*)\)$")


def base_type(ch_type: str) -> str:
    """`LowCardinality(Nullable(String))` → `String`."""
    while match := _WRAPPER.match(ch_type):
        ch_type = match.group(1)
    return ch_type


def type_word(ch_type: str) -> str:
    """How a reject reason names the expected type, for the person fixing the export."""
    t = base_type(ch_type)
    for prefix, word in (
        ("DateTime", "timestamp"), ("Date", "date (YYYY-MM-DD)"), ("Decimal", "decimal number"),
        ("Bool", "boolean (true/false)"), ("Int", "integer"), ("UInt", "integer"),
        ("Float", "number"),
    ):
        if t.startswith(prefix):
            return word
    return t


def _is_string(column: Column) -> bool:
    return base_type(column.ch_type) == "String"


def _parse_csv_field(column: Column, src: str) -> str:
    """A CSV field (Nullable(String)) → the column's type, NULL when it does not parse."""
    t = base_type(column.ch_type)
    if t == "String":
        return src
    if t == "Date":
        return f"toDateOrNull({src})"
    if t.startswith("DateTime64"):
        scale = int(t.split("(")[1].split(",")[0])
        return f"parseDateTime64BestEffortOrNull({src}, {scale}, 'UTC')"
    if t.startswith("Decimal"):
        scale = int(t.rstrip(")").split(",")[1])
        return f"toDecimal64OrNull({src}, {scale})"
    if t == "Bool":
        return (
            f"multiIf(lower({src}) IN ('true', '1'), true, "
            f"lower({src}) IN ('false', '0'), false, NULL)"
        )
    if t in ("Int32", "Int64", "UInt32", "UInt64", "Float64"):
        return f"to{t}OrNull({src})"
    raise ValueError(f"no CSV parser for type {t} of column {column.name}")


def read_structure(source: Source, fmt: FileFormat, fields: tuple[str | None, ...]) -> str:
    """The structure handed to file()/s3() for a file whose fields are `fields` (file order;
    None = a discarded column): Parquet by name and type, CSV by position."""
    if fmt is FileFormat.PARQUET:
        return ", ".join(
            f"`{n}` {nullable_type(source.column(n).ch_type)}" for n in fields if n is not None
        )
    # All CSV fields are read as text and parsed in SQL so a bad value rejects one row, not
    # the file; one extra field catches rows with more values than the header.
    names = [n if n is not None else f"_discarded_{i}" for i, n in enumerate(fields)]
    return ", ".join(f"`{n}` Nullable(String)" for n in [*names, "_extra_field"])


def nullable_type(ch_type: str) -> str:
    """The type as Nullable (composite types cannot be: they stay as they are)."""
    t = base_type(ch_type)
    return t if t.startswith(("Array(", "Map(", "Tuple(", "Nested(")) else f"Nullable({t})"


def _checks(source: Source, fmt: FileFormat, day: dt.date) -> list[tuple[str, str]]:
    """(condition, reason) of every contract breach a row can have, in the order reported."""
    checks: list[tuple[str, str]] = []
    if fmt is FileFormat.CSV:
        # A missing trailing field reads as NULL, an empty one as '' (READ_SETTINGS).
        checks.append(
            ("src__extra_field IS NOT NULL", "'the row has more fields than the header'")
        )
        checks.append(
            ("src__last_field IS NULL", "'the row has fewer fields than the header'")
        )
    # On a Nullable column these are NULL for a NULL value (no breach) and run on the values
    # in place: ifNull(src, '') would copy every string of the column first.
    for c in source.columns:
        if fmt is FileFormat.CSV or _is_string(c):
            checks.append(
                (f"NOT isValidUTF8(src_{c.name})", f"'{c.name} is not valid UTF-8'")
            )
        if c.max_bytes:
            checks.append(
                (f"length(src_{c.name}) > {c.max_bytes}",
                 f"concat('{c.name} is larger than {c.max_bytes} bytes: ', "
                 f"toString(length(src_{c.name})), ' bytes')")
            )
    for c in source.columns:
        parsed = f"p_{c.name}"
        src = f"src_{c.name}"
        if c.required:
            empty = f"({parsed} IS NULL OR {parsed} = '')" if _is_string(c) else f"{parsed} IS NULL"
            if fmt is FileFormat.CSV and not _is_string(c):
                checks.append(
                    (
                        f"{src} IS NOT NULL AND {src} != '' AND {parsed} IS NULL",
                        f"concat('{c.name} is not a valid {type_word(c.ch_type)}: ', {src})",
                    )
                )
            checks.append((empty, f"'{c.name} is missing'"))
        elif fmt is FileFormat.CSV and not _is_string(c):
            checks.append(
                (
                    f"{src} IS NOT NULL AND {src} != '' AND {parsed} IS NULL",
                    f"concat('{c.name} is not a valid {type_word(c.ch_type)}: ', {src})",
                )
            )
    if source.day_column and source.day_check == "timestamp":
        checks.append(
            (
                f"toDate(p_{source.day_column}, 'UTC') != toDate('{day.isoformat()}')",
                f"concat('{source.day_column} ', toString(p_{source.day_column}), "
                f"' is outside the partition day {day.isoformat()}')",
            )
        )
    elif source.day_column and source.day_check == "date":
        checks.append(
            (
                f"p_{source.day_column} != toDate('{day.isoformat()}')",
                f"concat('{source.day_column} ', toString(p_{source.day_column}), "
                f"' is not the partition day {day.isoformat()}')",
            )
        )
    return checks


def validated_select_sql(
    source: Source, fmt: FileFormat, day: dt.date, table_fn: str, fields: tuple[str | None, ...]
) -> str:
    """SELECT over one file: the parsed columns `p_<name>` (nullable), `_file_name`, `_row`
    (1-based), `_bad` (the row breaks the contract), and for bad rows `_reason` (the first
    breach) and `_raw` (the row as read, JSON).

    `source.columns` are the raw table's export columns; one the file lacks (not in
    `fields`) reads as NULL. Parameters: `file_name` plus those of `table_fn`.
    """
    csv = fmt is FileFormat.CSV
    inner = [
        f"`{c.name}` AS src_{c.name}" if c.name in fields
        else f"CAST(NULL AS {'Nullable(String)' if csv else nullable_type(c.ch_type)}) "
             f"AS src_{c.name}"
        for c in source.columns
    ]
    if csv:
        last = fields[-1] if fields[-1] is not None else f"_discarded_{len(fields) - 1}"
        inner += ["`_extra_field` AS src__extra_field", f"`{last}` AS src__last_field"]
    inner.append("_row_number AS src_row")
    parsed = [
        f"{_parse_csv_field(c, f'src_{c.name}') if csv else f'src_{c.name}'} AS p_{c.name}"
        for c in source.columns
    ]
    raw_row = ", ".join(f"src_{c.name} AS `{c.name}`" for c in source.columns)
    if csv:
        raw_row += ", src__extra_field AS `_extra_field`"
    checks = _checks(source, fmt, day)
    # A good row needs only the OR of the conditions (one UInt8); the reason, a string, is
    # computed for bad rows alone. A NULL condition is no breach, as in multiIf.
    any_breach = " OR ".join(f"ifNull({cond}, false)" for cond, _ in checks)
    first_breach = ", ".join(f"{cond}, {reason}" for cond, reason in checks)
    return (
        "SELECT\n    "
        + ",\n    ".join(parsed)
        + ",\n    {file_name:String} AS _file_name,\n"
        "    toUInt64(src_row + 1) AS _row,\n"
        f"    {any_breach} AS _bad,\n"
        f"    if(_bad, multiIf({first_breach}, ''), '') AS _reason,\n"
        f"    if(_bad, formatRowNoNewline('JSONEachRow', {raw_row}), '') AS _raw\n"
        f"FROM (SELECT {', '.join(inner)} FROM {table_fn})"
    )


# ClickHouse's own S3 client retries a refused connection hundreds of times by default, which
# turns an outage into a hang. A couple of quick retries here; the Dagster step retries the
# whole (source, day) with backoff (orchestration/raw/assets.py), then fails naming the file.
S3_SETTINGS = {"s3_retry_attempts": 3, "s3_connect_timeout_ms": 3000}

READ_SETTINGS = {
    **S3_SETTINGS,
    "use_hive_partitioning": 0,  # the dt=… folder is ours to interpret, not a column
    "input_format_csv_skip_first_lines": 1,  # the header, checked separately
    "input_format_csv_allow_variable_number_of_columns": 1,  # too-short/long rows → rejects
    # An empty field reads as '' and a missing one as NULL, so short rows can be told apart.
    "input_format_csv_empty_as_default": 0,
    "output_format_json_validate_utf8": 1,  # the raw row of a reject is always valid JSON
    "input_format_parquet_allow_missing_columns": 0,
    "input_format_allow_errors_num": 0,
}


def stage_insert_sql(source: Source, stage_table: str, rows: str) -> str:
    """INSERT the good rows of `rows` (a validated_select_sql) into the stage, with lineage;
    every row as a first delivery until `deliveries.mark_repeats` marks the repeats.

    Parameters: `day`, `load_id`, `loaded_at` plus those of `rows`.
    """
    columns = ", ".join(f"`{c}`" for c in source.column_names)
    parsed = ", ".join(f"p_{c}" for c in source.column_names)
    return f"""
        INSERT INTO {stage_table}
            ({columns}, _partition_date, _source_file, _source_row, _load_id, _loaded_at,
             _delivery)
        SELECT {parsed}, {{day:Date}}, _file_name, _row, {{load_id:String}}, {{loaded_at:DateTime}},
               {FIRST}
        FROM ({rows}) WHERE NOT _bad
    """


def rejects_insert_sql(rejects_table: str, rows: str) -> str:
    """INSERT the bad rows of `rows` with their reason and the raw row into the rejects stage.

    Parameters: `source`, `day`, `load_id`, `loaded_at` plus those of `rows`.
    """
    return f"""
        INSERT INTO {rejects_table}
        SELECT {{source:String}}, {{day:Date}}, _file_name, _row, _reason, _raw,
               {{load_id:String}}, {{loaded_at:DateTime}}
        FROM ({rows}) WHERE _bad
    """
