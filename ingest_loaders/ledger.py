"""Bookkeeping in `raw.load_ledger`: what each load read, loaded and rejected, per file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from ingest_loaders.tables import LEDGER_TABLE

SUCCESS_STATUSES = ("loaded", "duplicate_file", "empty_partition")
LEDGER_COLUMNS = [
    "load_id",
    "source",
    "partition_date",
    "file",
    "fingerprint",
    "size_bytes",
    "rows_read",
    "rows_loaded",
    "rows_rejected",
    "status",
    "message",
    "loaded_at",
]


@dataclass(frozen=True)
class LedgerEntry:
    file: str
    fingerprint: str
    size_bytes: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    status: str  # loaded | duplicate_file | empty_partition | failed
    message: str = ""


def record(
    client: Client,
    *,
    load_id: str,
    source: str,
    day: dt.date,
    entries: list[LedgerEntry],
    loaded_at: dt.datetime,
) -> None:
    rows = [
        [
            load_id,
            source,
            day,
            e.file,
            e.fingerprint,
            e.size_bytes,
            e.rows_read,
            e.rows_loaded,
            e.rows_rejected,
            e.status,
            e.message,
            loaded_at,
        ]
        for e in entries
    ]
    client.insert(LEDGER_TABLE, rows, column_names=LEDGER_COLUMNS)


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
        parameters={"source": source, "day": day, "ok": list(SUCCESS_STATUSES)},
    )
    if not result.result_rows:
        return None
    return {(file, fingerprint) for file, fingerprint in result.result_rows if file}
