"""DDL of the `raw` database: one typed table per source, the load ledger and the rejects."""

from __future__ import annotations

from itertools import pairwise

from clickhouse_connect.driver.client import Client

from ingest_loaders.deliveries import mark_unmarked_days
from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.sources import LINEAGE_COLUMNS, Source, load_sources
from saas_warehouse.warehouse import create_database_sql, sql_string

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

REJECTS_COLUMNS = [
    ("source", "LowCardinality(String)"), ("partition_date", "Date"), ("file", "String"),
    ("row_number", "UInt64"), ("reason", "String"), ("raw_row", "String"),
    ("load_id", "String"), ("rejected_at", "DateTime('UTC')"),
]
REJECTS_KEYS = ("PARTITION BY (source, partition_date)\n"
                "ORDER BY (source, partition_date, file, row_number)")

SCHEMA_CHANGES_COLUMNS = [
    ("source", "LowCardinality(String)"), ("partition_date", "Date"), ("file", "String"),
    ("column_name", "String"), ("column_type", "String"),
    ("action", "LowCardinality(String)"), ("detected_at", "DateTime64(3, 'UTC')"),
    ("load_id", "String"),
]

PIPELINE_RUNS_COLUMNS = [
    ("run_id", "String"), ("job", "String"), ("status", "LowCardinality(String)"),
    ("first_day", "Nullable(Date)"), ("last_day", "Nullable(Date)"),
    ("started_at", "DateTime64(3, 'UTC')"), ("ended_at", "DateTime64(3, 'UTC')"),
    ("load_seconds", "Float64"), ("build_seconds", "Float64"), ("failed_step", "String"),
    ("recorded_at", "DateTime64(3, 'UTC')"),
]


def _columns_ddl(columns: list[tuple[str, str]]) -> str:
    return ",\n".join(f"    `{name}` {ch_type}" for name, ch_type in columns)


def _table_ddl(table: str, columns: str, engine: str, keys: str, comment: str,
               cluster: Cluster) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {table}{cluster.on}\n(\n{columns}\n)\n"
            f"ENGINE = {cluster.engine(engine)}\n{keys}\nCOMMENT {sql_string(comment)}")


def bookkeeping_ddl(cluster: Cluster = SINGLE_SERVER) -> dict[str, str]:
    """The ledger's, rejects', schema changes' and pipeline runs' DDL, by table."""
    return {
        LEDGER_TABLE: _table_ddl(
            LEDGER_TABLE, _columns_ddl(LEDGER_COLUMNS), "MergeTree",
            "ORDER BY (source, partition_date, loaded_at, file)",
            "One row per file per load attempt: what was read, loaded and rejected.", cluster),
        REJECTS_TABLE: _table_ddl(
            REJECTS_TABLE, _columns_ddl(REJECTS_COLUMNS), "MergeTree", REJECTS_KEYS,
            "One row per rejected export row, with the reason and the row as read (JSON).",
            cluster),
        SCHEMA_CHANGES_TABLE: _table_ddl(
            SCHEMA_CHANGES_TABLE, _columns_ddl(SCHEMA_CHANGES_COLUMNS), "MergeTree",
            "ORDER BY (source, column_name, action, partition_date)",
            "Each change of an export schema, once, where first seen (docs/contract.md §3).",
            cluster),
        PIPELINE_RUNS_TABLE: _table_ddl(
            PIPELINE_RUNS_TABLE, _columns_ddl(PIPELINE_RUNS_COLUMNS),
            "ReplacingMergeTree(recorded_at)", "ORDER BY run_id",
            "One row per finished Dagster run of the warehouse job, from its run record.",
            cluster),
    }


def raw_keys(source: Source) -> str:
    return f"PARTITION BY _partition_date\nORDER BY ({', '.join(source.order_by)})"


def raw_table_ddl(source: Source, table: str | None = None,
                  cluster: Cluster = SINGLE_SERVER) -> str:
    columns = [(c.name, c.ch_type) for c in source.columns] + list(LINEAGE_COLUMNS)
    return _table_ddl(table or source.table, _columns_ddl(columns), "MergeTree",
                      raw_keys(source), source.description, cluster)


def ensure_raw_tables(client: Client, cluster: Cluster = SINGLE_SERVER) -> None:
    """The raw database and tables; a column declared since a table was made is added."""
    sources = load_sources()
    client.command(create_database_sql("raw", cluster))
    for source in sources.values():
        client.command(raw_table_ddl(source, cluster=cluster))
    for ddl in bookkeeping_ddl(cluster).values():
        client.command(ddl)
    existing = client.query(
        "SELECT table, groupArray(name) FROM system.columns WHERE database = 'raw' "
        "AND table IN {tables:Array(String)} GROUP BY table",
        parameters={"tables": [*sources, LEDGER_TABLE.split(".")[1]]},
    ).result_rows
    columns = {table: set(names) for table, names in existing}
    ledger = columns[LEDGER_TABLE.split(".")[1]]
    for (before, _), (name, ch_type) in pairwise(LEDGER_COLUMNS):
        if name not in ledger:  # a ledger made before this column was
            client.command(add_column_sql(LEDGER_TABLE, name, ch_type, cluster, after=before))
    for source in sources.values():
        declared_since = [c for c in source.columns if c.name not in columns[source.name]]
        add_columns(client, source.table, [(c.name, c.ch_type) for c in declared_since],
                    cluster)
        for name, ch_type in LINEAGE_COLUMNS:  # a table made before a lineage column was
            if name not in columns[source.name]:
                client.command(add_column_sql(source.table, name, ch_type, cluster))
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


def add_columns(client: Client, table: str, columns: list[tuple[str, str]],
                cluster: Cluster = SINGLE_SERVER) -> None:
    """ALTER TABLE … ADD COLUMN, each after the export columns (lineage columns stay last).

    Idempotent: a column another load added meanwhile is left as it is."""
    for name, ch_type in columns:
        last = list(export_columns(client, table))[-1]
        client.command(add_column_sql(table, name, ch_type, cluster, after=last))


def add_column_sql(table: str, name: str, ch_type: str, cluster: Cluster = SINGLE_SERVER,
                   after: str | None = None) -> str:
    return (f"ALTER TABLE {table}{cluster.on} ADD COLUMN IF NOT EXISTS `{name}` {ch_type}"
            + (f" AFTER `{after}`" if after else ""))
