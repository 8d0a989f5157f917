"""Exact checks, computed by ClickHouse over the whole day: cheap next to the load itself
(counts per partition; the repeated ids are the rows the loader marked repeats)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from clickhouse_connect.driver.client import Client

from ingest_loaders.deliveries import REPEAT
from ingest_loaders.quality.report import CheckOutcome, Thresholds
from ingest_loaders.tables import LEDGER_TABLE, REJECTS_TABLE, SCHEMA_CHANGES_TABLE
from saas_warehouse.sources import Source

LOOKBACK_DAYS = 31  # how far back "the previous loaded day" is looked for


def key_columns(source: Source) -> list[str]:
    return list(dict.fromkeys([source.id_column or "tenant_id", "tenant_id"]))


def keys_and_ids(
    client: Client, source: Source, days: list[dt.date], limits: Thresholds
) -> list[CheckOutcome]:
    empty = " OR ".join(f"`{c}` = ''" for c in key_columns(source))
    rows = client.query(
        f"SELECT _partition_date, count(), countIf({empty}), "
        f"count() - countIf(_delivery = {REPEAT}) "
        f"FROM {source.table} WHERE _partition_date IN {{days:Array(Date)}} "
        "GROUP BY _partition_date",
        parameters={"days": days},
    ).result_rows
    found = {d: (int(n), int(nulls), int(ids)) for d, n, nulls, ids in rows}
    nulls_days: list[list[Any]] = []
    dup_days: list[list[Any]] = []
    for day in days:
        n, nulls, ids = found.get(day, (0, 0, 0))
        share = (n - ids) / n if n else 0.0
        nulls_days.append([day.isoformat(), n, nulls])
        dup_days.append([day.isoformat(), n, ids, n - ids, round(share, 5)])
    total_nulls = sum(r[2] for r in nulls_days)
    worst_share = max((r[4] for r in dup_days), default=0.0)
    return [
        CheckOutcome(
            "keys_not_null", [r[0] for r in nulls_days if r[2]],
            {"rows_with_empty_key": total_nulls, "key_columns": ", ".join(key_columns(source))},
            nulls_days, ("day", "rows", "rows with an empty key"),
        ),
        CheckOutcome(
            "ids_unique", [r[0] for r in dup_days if r[4] > limits.max_duplicate_share],
            {"duplicate_rows": sum(r[3] for r in dup_days),
             "max_duplicate_share": worst_share,
             "tolerated_share": limits.max_duplicate_share},
            dup_days, ("day", "rows", "distinct ids", "duplicates", "duplicate share"),
        ),
    ]


def row_count_stable(
    client: Client, source: Source, days: list[dt.date], limits: Thresholds
) -> CheckOutcome:
    """Each day vs the latest earlier day that has rows in raw (within LOOKBACK_DAYS)."""
    counts: dict[dt.date, int] = {
        d: int(n) for d, n in client.query(
            f"SELECT _partition_date, count() FROM {source.table} "
            "WHERE _partition_date BETWEEN {lo:Date} AND {hi:Date} GROUP BY _partition_date",
            parameters={"lo": min(days) - dt.timedelta(days=LOOKBACK_DAYS), "hi": max(days)},
        ).result_rows
    }
    table: list[list[Any]] = []
    for day in days:
        earlier = [d for d, n in counts.items() if d < day and n > 0]
        previous = max(earlier) if earlier else None
        prev_rows = int(counts[previous]) if previous else 0
        rows = int(counts.get(day, 0))
        ratio = rows / prev_rows if prev_rows else None
        collapsed = (
            prev_rows >= limits.min_previous_rows
            and rows < limits.min_rows_vs_previous * prev_rows
        )
        table.append([day.isoformat(), rows, previous.isoformat() if previous else "none",
                      prev_rows, "" if ratio is None else round(ratio, 3),
                      "collapsed" if collapsed else "ok"])
    return CheckOutcome(
        "row_count_stable", [r[0] for r in table if r[5] == "collapsed"],
        {"min_ratio": limits.min_rows_vs_previous,
         "lowest_ratio": min((r[4] for r in table if r[4] != ""), default=1.0)},
        table, ("day", "rows", "previous day", "previous rows", "ratio", "verdict"),
    )


def rows_accounted_for(client: Client, source: Source, days: list[dt.date]) -> CheckOutcome:
    """Rows the ledger says the files held (latest successful load) vs raw + rejects."""
    rows = client.query(
        f"""
        SELECT d, files_rows, raw_rows, rejected_rows
        FROM (
            SELECT partition_date AS d, sum(rows_read) AS files_rows FROM {LEDGER_TABLE}
            WHERE source = {{source:String}}
              AND (partition_date, load_id) IN (
                  SELECT partition_date, argMax(load_id, loaded_at) FROM {LEDGER_TABLE}
                  WHERE source = {{source:String}} AND partition_date IN {{days:Array(Date)}}
                    AND status != 'failed'
                  GROUP BY partition_date)
            GROUP BY d
        ) AS f
        LEFT JOIN (
            SELECT _partition_date AS d, count() AS raw_rows FROM {source.table}
            WHERE _partition_date IN {{days:Array(Date)}} GROUP BY d
        ) AS r USING d
        LEFT JOIN (
            SELECT partition_date AS d, count() AS rejected_rows FROM {REJECTS_TABLE}
            WHERE source = {{source:String}} AND partition_date IN {{days:Array(Date)}}
            GROUP BY d
        ) AS j USING d
        ORDER BY d
        """,
        parameters={"source": source.name, "days": days},
    ).result_rows
    table: list[list[Any]] = [[str(d), int(a), int(b), int(c)] for d, a, b, c in rows]
    mismatched = [r[0] for r in table if r[1] != r[2] + r[3]]
    return CheckOutcome(
        "rows_accounted_for", mismatched,
        {"mismatched_days": ", ".join(mismatched) or "none"},
        table, ("day", "rows in files", "rows in raw", "rows rejected"),
    )


def schema_unchanged(client: Client, source: Source, days: list[dt.date]) -> CheckOutcome:
    """The schema changes first seen on `days` (docs/contract.md §3); any one is a warning."""
    rows = client.query(
        f"SELECT partition_date, column_name, column_type, action, file "
        f"FROM {SCHEMA_CHANGES_TABLE} WHERE source = {{source:String}} "
        "AND partition_date IN {days:Array(Date)} ORDER BY partition_date, column_name",
        parameters={"source": source.name, "days": days},
    ).result_rows
    table: list[list[Any]] = [[d.isoformat(), c, t, a, f] for d, c, t, a, f in rows]
    return CheckOutcome(
        "schema_unchanged", list(dict.fromkeys(r[0] for r in table)),
        {"columns": ", ".join(f"{r[1]} ({r[3]})" for r in table) or "none",
         "changes": len(table)},
        table, ("day", "column", "type", "action", "first file"),
    )
