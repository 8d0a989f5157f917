"""Retention (docs/contract.md §3): a source declaring `retention_days` keeps in raw its newest
loaded day and that many days before it; older partitions are dropped whole, with their
rows in raw.rejects. The ledger keeps their rows, and the marts their history: the daily
models were built from those days when they were loaded and are rebuilt only for the days a
run loads (plus their look-back, which `retention_days` must exceed)."""

from __future__ import annotations

import datetime as dt

from clickhouse_connect.driver.client import Client

from ingest_loaders.tables import REJECTS_TABLE
from saas_warehouse.sources import Source
from saas_warehouse.warehouse import sql_string


def raw_days(client: Client, source: Source) -> list[dt.date]:
    """The days raw holds for `source` (its active partitions), oldest first."""
    rows = client.query(
        "SELECT DISTINCT partition FROM system.parts WHERE database = 'raw' "
        "AND table = {table:String} AND active ORDER BY partition",
        parameters={"table": source.name},
    ).result_rows
    return [dt.date.fromisoformat(partition) for (partition,) in rows]


def drop_expired_days(client: Client, source: Source,
                      keep: frozenset[dt.date] = frozenset()) -> list[dt.date]:
    """Drop `source`'s raw days older than its retention, except `keep` (a run's own days:
    the run builds its models from them first; a later run drops them). Returns those
    dropped."""
    if source.retention_days is None:
        return []
    days = raw_days(client, source)
    if not days:
        return []
    cutoff = days[-1] - dt.timedelta(days=source.retention_days)
    expired = [day for day in days if day < cutoff and day not in keep]
    for day in expired:
        client.command(f"ALTER TABLE {source.table} DROP PARTITION {sql_string(day)}")
        client.command(f"ALTER TABLE {REJECTS_TABLE} DROP PARTITION "
                       f"({sql_string(source.name)}, {sql_string(day)})")
    return expired


def dropped_by_retention(client: Client, source: Source, day: dt.date,
                         files: set[tuple[str, str]]) -> bool:
    """Whether retention dropped a day loaded with `files` (none: an empty day, nothing to
    drop) from raw: the ledger alone would call a backfill of it unchanged, and it is loaded
    again. One look at that day's partition, asked only of sources with a retention."""
    if source.retention_days is None or not files:
        return False
    return not client.query(
        "SELECT count() FROM system.parts WHERE database = 'raw' AND table = {table:String} "
        "AND active AND partition = {day:String}",
        parameters={"table": source.name, "day": day.isoformat()},
    ).result_rows[0][0]
