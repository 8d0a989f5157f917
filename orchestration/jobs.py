"""Jobs and the daily schedule."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import SCHEDULE_HOUR_UTC

# Everything, for one day or a range: the schedule, backfills and `saas-warehouse run`.
daily_warehouse_job = dg.define_asset_job(
    name="daily_warehouse",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("landing"),
    description="Load every source's day into raw, then build the models for that day.",
)

# Yesterday's partition, every day at 02:00 UTC (exports land shortly after midnight).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_warehouse_job,
    name="daily_warehouse_schedule",
    hour_of_day=SCHEDULE_HOUR_UTC,
    description="Loads and builds yesterday (UTC) every day at 02:00 UTC.",
)
