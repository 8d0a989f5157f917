"""DDL of the `raw` database: one typed table per source, the load ledger and the rejects."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from ingest_loaders.deliveries import mark_unmarked_days
from saas_warehouse.sources import LINEAGE_COLUMNS, Source, load_sources
from saas_warehouse.warehouse import sql_string

LEDGER_TABLE = "raw.load_ledger"
REJECTS_TABLE = "raw.rejects"
SCHEMA_CHANGES_TABLE = "raw.schema_changes"
PIPELINE_RUNS_TABLE = "raw.pipeline_runs"
_LINEAGE = {name for name, _ in LINEAGE_COLUMNS}

# The bookkeeping tables' columns, (name, type): their DDL and the columns Dagster shows.
LEDGER_COLUMNS = [
    ("load_id", "String"), ("source", "LowCardinality(String)"), ("partition_date", "Date"),
    ("file", "String"), ("fingerprint", "String"), ("size_bytes", "UInt64"),
    ("rows_read", "UInt64"), ("rows_loaded", "UInt64"), ("rows_rejected", "UInt64"),
    ("status", "LowCardinality(String)"), ("message", "String"),
    ("loaded_at", "DateTime64(3, 'UTC')"),  # when the load started
    ("landed_at", "Nullable(DateTime64(3, 'UTC'))"),  # when the day's _SUCCESS landed
    ("load_seconds", "Float64"),
]
# Columns added to the ledger since it was first made, each after the one before it.
LEDGER_ADDED = ("landed_at", "load_seconds")

PIPELINE_RUNS_COLUMNS = [
    ("run_id", "String"), ("job", "String"), ("status", "LowCardinality(String)"),
    ("first_day", "Nullable(Date)"), ("last_day", "Nullable(Date)"),
    ("started_at", "DateTime64(3, 'UTC')"), ("ended_at", "DateTime64(3, 'UTC')"),
    ("load_seconds", "Float64"), ("build_seconds", "Float64"), ("failed_step", "String"),
    ("recorded_at", "DateTime64(3, 'UTC')"),
]


def _columns_ddl(columns: list[tuple[str, str]]) -> str:
    return ",\n".join(f"    `{name}` {ch_type}" for name, ch_type in columns)


LEDGER_DDL = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE}
(
{_columns_ddl(LEDGER_COLUMNS)}
)
ENGINE = MergeTree
ORDER BY (source, partition_date, loaded_at, file)
COMMENT 'One row per file per load attempt: what was read, loaded and rejected.'
"""

PIPELINE_RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {PIPELINE_RUNS_TABLE}
(
{_columns_ddl(PIPELINE_RUNS_COLUMNS)}
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY run_id
COMMENT 'One row per finished Dagster run of the warehouse job, from its run record.'
"""

REJECTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {REJECTS_TABLE}
(
    source LowCardinality(String), partition_date Date, file String, row_number UInt64,
    reason String, raw_row String, load_id String, rejected_at DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY (source, partition_date)
ORDER BY (source, partition_date, file, row_number)
COMMENT 'One row per rejected export row, with the reason and the row as read (JSON).'
"""


SCHEMA_CHANGES_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA_CHANGES_TABLE}
(
    source LowCardinality(String), partition_date Date, file String,
    column_name String, column_type String, action LowCardinality(String),
    detected_at DateTime64(3, 'UTC'), load_id String
)
ENGINE = MergeTree
ORDER BY (source, column_name, action, partition_date)
COMMENT 'Each change of an export schema, once, where first seen (docs/contract.md §3).'
"""


def raw_table_ddl(source: Source, table: str | None = None) -> str:
    columns = [f"    `{c.name}` {c.ch_type}" for c in source.columns]
    columns += [f"    `{name}` {ch_type}" for name, ch_type in LINEAGE_COLUMNS]
    order_by = ", ".join(source.order_by)
    return (
        f"CREATE TABLE IF NOT EXISTS {table or source.table}\n(\n" + ",\n".join(columns) + "\n)\n"
        "ENGINE = MergeTree\n"
        "PARTITION BY _partition_date\n"
        f"ORDER BY ({order_by})\n"
        f"COMMENT {sql_string(source.description)}"
    )


def ensure_raw_tables(client: Client) -> None:
    """The raw database and tables; a column declared since a table was made is added."""
    sources = load_sources()
    client.command("CREATE DATABASE IF NOT EXISTS raw")
    for source in sources.values():
        client.command(raw_table_ddl(source))
    for ddl in (LEDGER_DDL, REJECTS_DDL, SCHEMA_CHANGES_DDL, PIPELINE_RUNS_DDL):
        client.command(ddl)
    types = dict(LEDGER_COLUMNS)
    names = [name for name, _ in LEDGER_COLUMNS]
    for name in LEDGER_ADDED:  # a ledger made before these columns were
        after = names[names.index(name) - 1]
        client.command(f"ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS `{name}` "
                       f"{types[name]} AFTER `{after}`")
    existing = client.query(
        "SELECT table, groupArray(name) FROM system.columns WHERE database = 'raw' "
        "AND table IN {tables:Array(String)} GROUP BY table",
        parameters={"tables": list(sources)},
    ).result_rows
    columns = {table: set(names) for table, names in existing}
    for source in sources.values():
        declared_since = [c for c in source.columns if c.name not in columns[source.name]]
        add_columns(client, source.table, [(c.name, c.ch_type) for c in declared_since])
        for name, ch_type in LINEAGE_COLUMNS:  # a table made before a lineage column was
            if name not in columns[source.name]:
                client.command(f"ALTER TABLE {source.table} ADD COLUMN `{name}` {ch_type}")
        mark_unmarked_days(client, source)


def export_columns(client: Client, table: str) -> dict[str, str]:
    """A raw table's export columns (not the lineage ones) and their types, in order."""
    database, name = table.split(".")
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} "
        "AND table = {table:String} ORDER BY position",
        parameters={"db": database, "table": name},
    ).result_rows
    return {n: t for n, t in rows if n not in _LINEAGE}


def add_columns(client: Client, table: str, columns: list[tuple[str, str]]) -> None:
    """ALTER TABLE … ADD COLUMN, each after the export columns (lineage columns stay last).

    Idempotent: a column another load added meanwhile is left as it is."""
    for name, ch_type in columns:
        last = list(export_columns(client, table))[-1]
        client.command(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS `{name}` {ch_type} AFTER `{last}`"
        )
