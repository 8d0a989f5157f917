"""The dbt models as Dagster assets.

One `@dbt_assets` covers the whole project. The incremental (`tag:daily`) models are
daily-partitioned like the raw loads and rebuild only the run's days, passed in the
environment (`dbt_run_vars`, read by macros/run_var.sql); views, tables rebuilt whole and
seeds are unpartitioned assets in the same op (the translator sets each spec's partitions),
materialized once per run.
Splitting them into a second `@dbt_assets` would not work here: staging views sit before the
daily facts and `bi` views after them, so the two groups would depend on each other.
"""

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from orchestration.partitions import WAREHOUSE_POOL, run_days
from orchestration.resources import WarehouseResource
from orchestration.transform.project import dbt_project, dbt_resource
from orchestration.transform.translator import WarehouseDbtTranslator
from saas_warehouse.warehouse import warehouse_lock

# The op (and step key) of the dbt assets.
DBT_STEP = "dbt_models"
# dagster-dbt writes each invocation's artifacts (manifest, compiled SQL, run_results.json,
# dbt.log: ~8 MB) to a new directory under the target path and never removes one.
KEPT_RUN_TARGETS = 50


# dbt's run settings (macros/run_var.sql) as Dagster passes them: in the environment, read only
# while dbt executes, so that a new window does not make dbt re-parse the project as --vars do.
RUN_VAR_PREFIX = "SAAS_WAREHOUSE_"
RUN_VARS = ("start_date", "end_date", "batch_days")


def run_var_env_name(name: str) -> str:
    return RUN_VAR_PREFIX + name.upper()


def dbt_build_args(*, full_refresh: bool = False) -> list[str]:
    """`dbt build` as Dagster runs it. Unit tests are left to development and CI (dbt's own
    advice for production builds): they test the SQL, which a daily run does not change."""
    args = ["build", "--exclude-resource-type", "unit_test"]
    return [*args, "--full-refresh"] if full_refresh else args


def dbt_run_vars(
    days: tuple[dt.date, dt.date] | None, *, batch_days: int | None = None
) -> dict[str, str]:
    """The environment that gives dbt the days [start, end] (None: no window, everything) and
    the batch size (macros/run_var.sql). The warehouse is not among them: see `dbt_environment`."""
    run_vars: dict[str, object] = {}
    if days is not None:
        run_vars |= {"start_date": days[0].isoformat(), "end_date": days[1].isoformat()}
    if batch_days is not None:
        run_vars["batch_days"] = batch_days
    return {run_var_env_name(name): str(value) for name, value in run_vars.items()}


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    batch_days: int | None = Field(
        default=None,
        description="Days per INSERT when the big models build a long window "
        "(macros/day_batches.sql; default 7, 0 = a single INSERT). Lower it if a backfill "
        "runs out of memory, raise it on a large server.",
    )


@cache
def build_dbt_assets() -> dg.AssetsDefinition:
    """The dbt assets, built once per process from the manifest `dbt_project()` prepared
    (once per process too): ~0.7 s that every run of a long-lived process paid again."""
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=DBT_STEP,
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
        args = dbt_build_args(full_refresh=config.full_refresh)
        run_vars = dbt_run_vars(run_days(context.op_execution_context),
                                batch_days=config.batch_days)
        context.log.info(f"dbt {' '.join(args)} with {run_vars}")
        # No warehouse connection is open in this process here: the embedded engine is
        # released by every step that used it, so the dbt process can open it.
        with warehouse_lock(warehouse.warehouse, on_wait=context.log.info):
            with dbt_environment({"WAREHOUSE_URL": warehouse.url, **run_vars}):
                invocation = dbt.cli(args, context=context)  # starts dbt
            try:
                yield from invocation.stream()
            finally:
                prune_run_targets(invocation.target_path.parent)

    return dbt_models


def prune_run_targets(target: Path, keep: int = KEPT_RUN_TARGETS) -> None:
    """Remove all but the newest `keep` of the dbt step's per-run directories in `target`
    (the run that just ended is the newest: its dbt.log stays for whoever reads its error)."""
    runs = sorted((p for p in target.glob(f"{DBT_STEP}-*") if p.is_dir()), key=_modified)
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)  # another process may be removing it too


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another process meanwhile: first to go
        return 0.0


@contextmanager
def dbt_environment(variables: dict[str, str]) -> Iterator[None]:
    """dagster-dbt starts dbt with a copy of this process's environment and takes no other:
    `variables` are put there while dbt starts, then the environment is as it was. The
    warehouse resource is the one source of the URL; profiles.yml reads it from WAREHOUSE_URL,
    never from the command line (it may hold a password). A variable left unset here is
    removed meanwhile, so that a window in the user's shell cannot leak into a run's."""
    names = {*variables, *map(run_var_env_name, RUN_VARS)}
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_dbt_resource() -> DbtCliResource:
    return dbt_resource(dbt_project())
