"""DDL of the `raw` database: one typed table per source, the load ledger and the rejects."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from ingest_loaders.sources import LINEAGE_COLUMNS, SOURCES, Source

LEDGER_TABLE = "raw.load_ledger"
REJECTS_TABLE = "raw.rejects"

LEDGER_DDL = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE}
(
    load_id String,
    source LowCardinality(String),
    partition_date Date,
    file String,
    fingerprint String,
    size_bytes UInt64,
    rows_read UInt64,
    rows_loaded UInt64,
    rows_rejected UInt64,
    status LowCardinality(String),
    message String,
    loaded_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (source, partition_date, loaded_at, file)
COMMENT 'One row per file per load attempt: what was read, loaded and rejected.'
"""

REJECTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {REJECTS_TABLE}
(
    source LowCardinality(String),
    partition_date Date,
    file String,
    row_number UInt64,
    reason String,
    raw_row String,
    load_id String,
    rejected_at DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY (source, partition_date)
ORDER BY (source, partition_date, file, row_number)
COMMENT 'One row per rejected export row, with the reason and the row as read (JSON).'
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
        f"COMMENT {_quote(source.description)}"
    )


def ensure_raw_tables(client: Client) -> None:
    client.command("CREATE DATABASE IF NOT EXISTS raw")
    for source in SOURCES.values():
        client.command(raw_table_ddl(source))
    client.command(LEDGER_DDL)
    client.command(REJECTS_DDL)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
