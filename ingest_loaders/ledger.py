"""Bookkeeping in `raw.load_ledger` (what each load read, loaded and rejected, per file) and
`raw.schema_changes` (how the files' columns differed from the declaration)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from ingest_loaders.landing import Partition
from ingest_loaders.results import SUCCESS_STATUSES, FileStatus
from ingest_loaders.schema_check import SchemaChange
from ingest_loaders.tables import (
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    SCHEMA_CHANGES_COLUMNS,
    SCHEMA_CHANGES_TABLE,
)


@dataclass(frozen=True)
class LedgerEntry:
    """One row of `raw.load_ledger`: a file of a load, or the day itself (no file)."""

    status: FileStatus
    file: str = ""
    fingerprint: str = ""
    size_bytes: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""


def record(
    client: Client,
    *,
    load_id: str,
    partition: Partition,
    entries: list[LedgerEntry],
    loaded_at: dt.datetime,
) -> None:
    """`entries` of the load of `partition` that started at `loaded_at`, with when the
    partition's `_SUCCESS` landed; the load's seconds are counted up to now."""
    seconds = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - loaded_at).total_seconds()
    rows = [
        [
            load_id,
            partition.source,
            partition.day,
            e.file,
            e.fingerprint,
            e.size_bytes,
            e.rows_read,
            e.rows_loaded,
            e.rows_rejected,
            str(e.status),
            e.message,
            loaded_at,
            partition.landed_at,
            seconds,
        ]
        for e in entries
    ]
    client.insert(LEDGER_TABLE, rows, column_names=[name for name, _ in LEDGER_COLUMNS])


def last_loaded_files(client: Client, source: str, day: dt.date) -> set[tuple[str, str]] | None:
    """(file, fingerprint) of the partition's latest successful load, None if never loaded."""
    result = client.query(
        f"""
        SELECT file, fingerprint FROM {LEDGER_TABLE}
        WHERE source = {{source:String}} AND partition_date = {{day:Date}}
          AND load_id = (
              SELECT argMax(load_id, loaded_at) FROM {LEDGER_TABLE}
              WHERE source = {{source:String}} AND partition_date = {{day:Date}}
                AND status IN {{ok:Array(String)}}
          )
        """,
        parameters={"source": source, "day": day, "ok": [str(s) for s in SUCCESS_STATUSES]},
    )
    if not result.result_rows:
        return None
    return {(file, fingerprint) for file, fingerprint in result.result_rows if file}


def record_schema_changes(
    client: Client, *, load_id: str, source: str, day: dt.date, changes: list[SchemaChange],
    detected_at: dt.datetime,
) -> int:
    """Add the changes `raw.schema_changes` does not hold yet: each change (source, column,
    type, action) is listed once, where it was first seen. Returns how many were new."""
    known = {
        tuple(row) for row in client.query(
            f"SELECT column_name, column_type, action FROM {SCHEMA_CHANGES_TABLE} "
            "WHERE source = {source:String}", parameters={"source": source},
        ).result_rows
    }
    new: dict[tuple[str, str, str], SchemaChange] = {}
    for c in changes:
        new.setdefault((c.column_name, c.column_type, c.action), c)
    rows = [
        [source, day, c.file, c.column_name, c.column_type, c.action, detected_at, load_id]
        for key, c in new.items() if key not in known
    ]
    if rows:
        client.insert(SCHEMA_CHANGES_TABLE, rows,
                      column_names=[name for name, _ in SCHEMA_CHANGES_COLUMNS])
    return len(rows)
