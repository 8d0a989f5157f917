"""Daily partitions: one per UTC day of exports."""

from __future__ import annotations

import datetime as dt

import dagster as dg

# The first day the warehouse accepts. Exports before it are outside every partition.
FIRST_DAY = "2024-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC")

# Dagster's documented run tags for a single run over a partition range (what a backfill
# with a single-run policy launches), and for a run of one partition.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"

# The daily schedule builds yesterday at this hour (UTC); the bi views are late when that run
# has not materialized them `BUILD_HOURS` later (their Dagster freshness policy).
SCHEDULE_HOUR_UTC = 2
BUILD_HOURS = 4
bi_freshness = dg.FreshnessPolicy.cron(
    deadline_cron=f"0 {SCHEDULE_HOUR_UTC + BUILD_HOURS} * * *",
    lower_bound_delta=dt.timedelta(hours=BUILD_HOURS),
)

# Embedded chDB allows one process at a time: every step that opens the warehouse takes a
# slot in this pool (limit 1 in dagster.yaml; raise it for a ClickHouse server).
WAREHOUSE_POOL = "warehouse"


def run_days(context: dg.OpExecutionContext) -> tuple[dt.date, dt.date] | None:
    """The first and last day a run targets; None for a run of unpartitioned assets alone
    (a view or a dimension materialized from the UI)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = context.partition_key_range
    return dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)


def tagged_days(tags: dict[str, str]) -> tuple[dt.date, dt.date] | None:
    """The first and last day of a run, from its tags; None for a run without partitions."""
    if PARTITION_RANGE_START_TAG in tags and PARTITION_RANGE_END_TAG in tags:
        return (dt.date.fromisoformat(tags[PARTITION_RANGE_START_TAG]),
                dt.date.fromisoformat(tags[PARTITION_RANGE_END_TAG]))
    if PARTITION_TAG in tags:
        day = dt.date.fromisoformat(tags[PARTITION_TAG])
        return day, day
    return None
