"""Schema drift checks: a file whose columns are not the contract's fails its whole day,
with a message that names the file and the columns."""

from __future__ import annotations

import csv
import datetime as dt

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from ingest_loaders.errors import TerminalLoadError, classify
from ingest_loaders.landing import Landing, LandingFile
from ingest_loaders.read_sql import S3_SETTINGS, base_type
from ingest_loaders.sources import Source

# Which Parquet (ClickHouse-inferred) types can carry each raw type without losing meaning.
_COMPATIBLE = {
    "String": ("String", "FixedString"),
    "Int32": ("Int8", "Int16", "Int32", "UInt8", "UInt16"),
    "Int64": ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32"),
    "Float64": ("Float32", "Float64", "Int", "UInt", "Decimal"),
    "DateTime64": ("DateTime64", "DateTime"),
}


def _compatible(expected: str, found: str) -> bool:
    found = base_type(found)
    family = "DateTime64" if expected.startswith("DateTime64") else expected
    return any(found.startswith(prefix) for prefix in _COMPATIBLE.get(family, (family,)))


def check_parquet_schema(
    client: Client, landing: Landing, source: Source, day: dt.date, f: LandingFile
) -> None:
    table_fn, params = _describe_fn(landing, f, "Parquet")
    try:
        described = client.query(
            f"DESCRIBE TABLE {table_fn}", parameters=params,
            settings={**S3_SETTINGS, "use_hive_partitioning": 0},
        ).result_rows
    except ClickHouseError as e:
        raise classify(
            e, source=source.name, day=day, file=f.key, what="not a readable Parquet file"
        ) from e
    found = {row[0]: row[1] for row in described}
    missing = [c.name for c in source.columns if c.name not in found]
    if missing:
        raise TerminalLoadError(
            f"schema drift: missing column(s) {', '.join(missing)} "
            f"(file has {', '.join(found)})",
            source=source.name, day=day, file=f.key,
        )
    extra = [name for name in found if name not in source.column_names]
    if extra:
        raise TerminalLoadError(
            f"schema drift: unexpected column(s) {', '.join(extra)} "
            f"(the contract has {', '.join(source.column_names)})",
            source=source.name, day=day, file=f.key,
        )
    wrong = [
        f"{c.name} is {found[c.name]}, expected {base_type(c.ch_type)}"
        for c in source.columns
        if not _compatible(base_type(c.ch_type), found[c.name])
    ]
    if wrong:
        raise TerminalLoadError(
            f"wrong column type(s): {'; '.join(wrong)}", source=source.name, day=day, file=f.key
        )


def check_csv_header(
    client: Client, landing: Landing, source: Source, day: dt.date, f: LandingFile
) -> None:
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
    if header != list(source.column_names):
        raise TerminalLoadError(
            f"schema drift: header is {','.join(header)}; "
            f"expected {','.join(source.column_names)}",
            source=source.name, day=day, file=f.key,
        )


def _describe_fn(
    landing: Landing, f: LandingFile, fmt: str, structure: str = ""
) -> tuple[str, dict]:
    table_fn, params = landing.table_function(f, fmt, structure or "auto")
    if not structure:  # let ClickHouse infer the schema from the file itself
        table_fn = table_fn.replace(", {structure:String})", ")")
        params = {k: v for k, v in params.items() if k != "structure"}
    return table_fn, params
