"""Reads of the warehouse for assertions (each opens and closes the embedded engine)."""

from __future__ import annotations

import datetime as dt

from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import open_warehouse


def raw_counts(warehouse_url: str, source: str, days: list[dt.date]) -> tuple[int, int]:
    """(rows, distinct (day, id) pairs) in raw for those days."""
    spec = load_sources()[source]
    with open_warehouse(warehouse_url) as client:
        rows, distinct = client.query(
            f"SELECT count(), uniqExact(_partition_date, {spec.id_column}) FROM {spec.table} "
            "WHERE _partition_date IN {days:Array(Date)}",
            parameters={"days": days},
        ).result_rows[0]
    return int(rows), int(distinct)


def table_fingerprint(warehouse_url: str, table: str, exclude: tuple[str, ...] = ()) -> tuple:
    """(rows, order-independent hash of every row) — equal iff the contents are equal."""
    except_clause = f" EXCEPT ({', '.join(exclude)})" if exclude else ""
    with open_warehouse(warehouse_url) as client:
        rows, digest = client.query(
            f"SELECT count(), sum(cityHash64(*)) FROM (SELECT *{except_clause} FROM {table})"
        ).result_rows[0]
    return int(rows), int(digest)


def query(warehouse_url: str, sql: str, **parameters) -> list[tuple]:
    with open_warehouse(warehouse_url) as client:
        return [tuple(r) for r in client.query(sql, parameters=parameters).result_rows]
