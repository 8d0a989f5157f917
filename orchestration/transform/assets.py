"""The dbt models as Dagster assets, daily-partitioned like the raw loads.

One `@dbt_assets` covers the whole project. The incremental (`tag:daily`) models rebuild
only the run's days, passed as `--vars {start_date, end_date}`; views, dimensions and seeds
are cheap to rebuild each run. Splitting them into a second, unpartitioned `@dbt_assets`
would not work here: staging views sit before the daily facts and `bi` views after them,
so the two groups would depend on each other.
"""

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from orchestration.partitions import WAREHOUSE_POOL, daily_partitions
from orchestration.resources import WarehouseResource
from orchestration.transform.project import dbt_executable, dbt_project
from orchestration.transform.translator import WarehouseDbtTranslator
from saas_warehouse.warehouse import warehouse_lock


def dbt_build_args(
    start: dt.date, end: dt.date, *, full_refresh: bool = False, batch_days: int | None = None
) -> list[str]:
    """`dbt build` for the days [start, end]; the models read the window from these vars."""
    window: dict[str, object] = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    if batch_days is not None:
        window["batch_days"] = batch_days
    args = ["build", "--vars", json.dumps(window)]
    return [*args, "--full-refresh"] if full_refresh else args


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    batch_days: int | None = Field(
        default=None,
        description="Days per INSERT when the big models build a long window "
        "(macros/day_batches.sql; default 7, 0 = a single INSERT). Lower it if a backfill "
        "runs out of memory, raise it on a large server.",
    )


@contextmanager
def _warehouse_env(url: str) -> Iterator[None]:
    """dbt runs in a subprocess that reads WAREHOUSE_URL (profiles.yml picks the target)."""
    previous = os.environ.get("WAREHOUSE_URL")
    os.environ["WAREHOUSE_URL"] = url
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("WAREHOUSE_URL", None)
        else:
            os.environ["WAREHOUSE_URL"] = previous


def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="dbt_models",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=WarehouseDbtTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ):
        window = context.partition_time_window
        start = window.start.date()
        end = window.end.date() - dt.timedelta(days=1)  # the window's end is exclusive
        args = dbt_build_args(
            start, end, full_refresh=config.full_refresh, batch_days=config.batch_days
        )
        context.log.info(f"dbt {' '.join(args)}")
        # No warehouse connection is open in this process here: the embedded engine is
        # released by every step that used it, so the dbt process can open it.
        with _warehouse_env(warehouse.url), warehouse_lock(warehouse.url, on_wait=context.log.info):
            yield from dbt.cli(args, context=context).stream()

    return dbt_models


def build_dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable())
